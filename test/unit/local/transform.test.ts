/**
 * Transform jobs of the local service (real SDK client, moto S3, the fake `serve`): records split per line and sent
 * one by one (the fake serve has no /execution-parameters, so SingleRecord and one request at a time), `.out`
 * objects per input object, a 4xx failing the job naming the object, stop, tags, list, a missing model; and the
 * batch arithmetic (split, mini-batches within MaxPayloadInMB, output keys, assembly) on its own.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateModelCommand,
  CreateTransformJobCommand,
  type CreateTransformJobCommandInput,
  DescribeTransformJobCommand,
  type DescribeTransformJobCommandOutput,
  ListTagsCommand,
  ListTransformJobsCommand,
  type SageMakerClient,
  StopTransformJobCommand,
} from '@aws-sdk/client-sagemaker';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import {
  assemble,
  effectiveParameters,
  miniBatches,
  outputUri,
  splitRecords,
} from '../../../local/service/sagemaker/jobs/transform/transform-run';
import { type Moto, ROLE, s3, sagemaker, startMoto, startService, tmpDir } from './helpers';
import { seedModelTarball } from './hosting-fixture';

jest.setTimeout(60_000);

describe('batch arithmetic', () => {
  const lines = (...xs: string[]) => xs.map((x) => Buffer.from(x));
  it('splits lines (CRLF too, blank lines are not records) and keeps a whole object for None', () => {
    expect(splitRecords(Buffer.from('a\r\nb\n\nc'), 'Line').map(String)).toEqual(['a', 'b', 'c']);
    expect(splitRecords(Buffer.from('a\nb'), 'None').map(String)).toEqual(['a\nb']);
  });
  it('splits Line at "\\n" only: a record holding U+2028, U+2029 or U+0085 stays whole, as on SageMaker', () => {
    const records = ['{"score": "one\u2028two"}', '{"score": "three\u2029four\u0085five"}'];
    expect(splitRecords(Buffer.from(records.join('\n') + '\n'), 'Line').map((b) => b.toString('utf8'))).toEqual(
      records,
    );
  });
  it('packs MultiRecord batches within MaxPayloadInMB and refuses a record over it', () => {
    const p = { MaxConcurrentTransforms: 1, MaxPayloadInMB: 1, BatchStrategy: 'MultiRecord' as const };
    const big = 'x'.repeat(400 * 1024);
    const batches = miniBatches(lines(big, big, big), p, 'Line');
    expect(batches.map((b) => b.length)).toEqual([2 * big.length + 1, big.length]);
    expect(miniBatches(lines('a', 'b'), { ...p, BatchStrategy: 'SingleRecord' }, 'Line')).toHaveLength(2);
    expect(() => miniBatches(lines('x'.repeat(1024 * 1024 + 1)), p, 'Line')).toThrow(/Too much data for max payload/);
  });
  it('takes the request, then /execution-parameters, then AWS defaults (1, 6 MB, SingleRecord)', () => {
    const c = { MaxConcurrentTransforms: 16, MaxPayloadInMB: 6, BatchStrategy: 'MULTI_RECORD' };
    expect(effectiveParameters({}, undefined)).toEqual({
      MaxConcurrentTransforms: 1,
      MaxPayloadInMB: 6,
      BatchStrategy: 'SingleRecord',
    });
    expect(effectiveParameters({ MaxConcurrentTransforms: 0 }, c)).toEqual({
      MaxConcurrentTransforms: 16,
      MaxPayloadInMB: 6,
      BatchStrategy: 'MultiRecord',
    });
    expect(effectiveParameters({ MaxConcurrentTransforms: 2, BatchStrategy: 'SingleRecord' }, c)).toMatchObject({
      MaxConcurrentTransforms: 2,
      BatchStrategy: 'SingleRecord',
    });
  });
  it('names outputs by the key relative to the input prefix, and assembles lines', () => {
    expect(outputUri('s3://b/out/', 'in/', 'in/sub/a.jsonl')).toBe('s3://b/out/sub/a.jsonl.out');
    expect(outputUri('s3://b/out', 'in/a.jsonl', 'in/a.jsonl')).toBe('s3://b/out/a.jsonl.out');
    expect(String(assemble(lines('{"a":1}', '{"b":2}\n'), 'Line'))).toBe('{"a":1}\n{"b":2}\n');
    expect(String(assemble(lines('a', 'b'), 'None'))).toBe('ab');
  });
});

describe('transform jobs (fake serve)', () => {
  let moto: Moto;
  let svc: LocalService;
  let sm: SageMakerClient;
  const bucket = 'transform';
  const stateDir = tmpDir('local-transform-');

  beforeAll(async () => {
    moto = await startMoto();
    svc = await startService(moto.url, stateDir, { pingTimeoutMs: 30_000 });
    sm = sagemaker(svc.url);
    await seedModelTarball(moto.url, bucket);
    const put = (Key: string, Body: string) => s3(moto.url).send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put('in/good/a.jsonl', '{"inputs": "one"}\n{"inputs": "two"}\n{"inputs": "three"}\n');
    await put('in/good/b.jsonl', '{"inputs": "four"}\n');
    await put('in/bad/c.jsonl', '{"inputs": "fine"}\n{"no": "inputs"}\n');
    for (const [name, env] of [
      ['tm', undefined],
      ['tm-slow', { FAKE_PING_DELAY: '30' }],
      ['tm-late', { FAKE_PING_DELAY: '2' }],
    ] as const)
      await sm.send(
        new CreateModelCommand({
          ModelName: name,
          ExecutionRoleArn: ROLE,
          PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: `s3://${bucket}/m/model.tar.gz`, Environment: env },
        }),
      );
  });

  afterAll(async () => {
    await svc?.close();
    await moto?.stop();
  });

  const job = (name: string, input: string, extra: Partial<CreateTransformJobCommandInput> = {}) =>
    new CreateTransformJobCommand({
      TransformJobName: name,
      ModelName: 'tm',
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/${input}` } },
        ContentType: 'application/json',
        SplitType: 'Line',
      },
      TransformOutput: { S3OutputPath: `s3://${bucket}/out/${name}`, AssembleWith: 'Line', Accept: 'application/json' },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 2 },
      Tags: [{ Key: 'pipeline:workflow-id', Value: name }],
      ...extra,
    });

  async function settled(name: string): Promise<DescribeTransformJobCommandOutput> {
    let d: DescribeTransformJobCommandOutput | undefined;
    await waitUntil(
      async () => {
        d = await sm.send(new DescribeTransformJobCommand({ TransformJobName: name }));
        return !['InProgress', 'Stopping'].includes(d.TransformJobStatus as string);
      },
      50_000,
      `transform job ${name}`,
    );
    return d as DescribeTransformJobCommandOutput;
  }

  const read = async (key: string) =>
    (await (await s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ??
    '';

  it('transforms every object line by line into <key>.out, in order, over two instances', async () => {
    const { TransformJobArn } = await sm.send(job('t-good', 'in/good/'));
    expect(TransformJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:transform-job/t-good');
    const d = await settled('t-good');
    expect(d.TransformJobStatus).toBe('Completed');
    expect(d.TransformStartTime!.getTime()).toBeLessThanOrEqual(d.TransformEndTime!.getTime());
    const a = (await read('out/t-good/a.jsonl.out')).split('\n');
    expect(a.pop()).toBe('');
    expect(a.map((l) => JSON.parse(l).generated_text)).toEqual(['one ...', 'two ...', 'three ...']);
    expect(JSON.parse(await read('out/t-good/b.jsonl.out')).generated_text).toBe('four ...');
    const tags = await sm.send(new ListTagsCommand({ ResourceArn: TransformJobArn }));
    expect(tags.Tags).toEqual([{ Key: 'pipeline:workflow-id', Value: 't-good' }]);
  });

  it('fails the job naming the object when the container answers a record with a 4xx', async () => {
    await sm.send(job('t-bad', 'in/bad/', { TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 } }));
    const d = await settled('t-bad');
    expect(d.TransformJobStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(/^ClientError: .*transform\/in\/bad\/c\.jsonl: ClientError: 400/);
    await expect(read('out/t-bad/c.jsonl.out')).rejects.toThrow(); // a failed object is not uploaded
  });

  it('stops a job (containers stopped, status Stopped) and lists jobs with filters', async () => {
    await sm.send(
      job('t-stop', 'in/good/', {
        ModelName: 'tm-slow',
        TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
      }),
    );
    await sm.send(new StopTransformJobCommand({ TransformJobName: 't-stop' }));
    const d = await settled('t-stop');
    expect(d.TransformJobStatus).toBe('Stopped');
    const listed = await sm.send(new ListTransformJobsCommand({ StatusEquals: 'Stopped' }));
    expect(listed.TransformJobSummaries?.map((s) => s.TransformJobName)).toEqual(['t-stop']);
    const page = await sm.send(new ListTransformJobsCommand({ SortBy: 'Name', SortOrder: 'Ascending', MaxResults: 2 }));
    expect(page.TransformJobSummaries?.map((s) => s.TransformJobName)).toEqual(['t-bad', 't-good']);
    expect(page.NextToken).toBeDefined();
  });

  it('runs a job that was InProgress when the service stopped again after its restart', async () => {
    await sm.send(
      job('t-restart', 'in/good/', {
        ModelName: 'tm-late',
        TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
      }),
    );
    await svc.close();
    svc = await startService(moto.url, stateDir, { pingTimeoutMs: 30_000 });
    sm = sagemaker(svc.url);
    const d = await settled('t-restart');
    expect(d.TransformJobStatus).toBe('Completed');
    expect(JSON.parse(await read('out/t-restart/b.jsonl.out')).generated_text).toBe('four ...');
  });

  it('refuses a missing model, a duplicate name and what local mode does not serve, creating nothing', async () => {
    await expect(sm.send(job('t-nomodel', 'in/good/', { ModelName: 'nope' }))).rejects.toThrow(
      'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope".',
    );
    await expect(sm.send(job('t-good', 'in/good/'))).rejects.toMatchObject({ name: 'ResourceInUse' });
    await expect(
      sm.send(job('t-payload', 'in/good/', { MaxConcurrentTransforms: 20, MaxPayloadInMB: 6 })),
    ).rejects.toThrow(/MaxConcurrentTransforms \* MaxPayloadInMB \(20 \* 6\) must not exceed 100 MB/);
    const recordio = job('t-recordio', 'in/good/');
    recordio.input.TransformInput!.SplitType = 'RecordIO';
    await expect(sm.send(recordio)).rejects.toThrow(/does not serve SplitType RecordIO in local mode/);
    await expect(sm.send(new DescribeTransformJobCommand({ TransformJobName: 't-recordio' }))).rejects.toMatchObject({
      name: 'ResourceNotFound',
    });
  });
});
