/** The local SageMaker service's processing jobs, driven with the real SageMaker SDK client against moto S3. */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CloudWatchLogsClient, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  ListProcessingJobsCommand,
  ListTagsCommand,
  type SageMakerClient,
  StopProcessingJobCommand,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import { roleCredentials } from '../../../local/shared/credentials';
import type { LocalService } from '../../../local/service/server';
import { credentials, type Moto, ROLE, s3, sagemaker, seedBucket, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let stateDir: string;
let sm: SageMakerClient;
const bucket = 'proc-bucket';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + '0'.repeat(64);

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, {
    'raw/a.txt': 'alpha',
    'raw/b.txt': 'beta',
    'raw/sub/c.txt': 'gamma',
    'raw/d.txt': 'delta',
    'code/x.py': 'print(1)',
  });
  stateDir = tmpDir('local-proc-');
  svc = await startService(moto.url, stateDir);
  sm = sagemaker(svc.url);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

function request(name: string, extra: Partial<CreateProcessingJobCommandInput> = {}): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: name,
    RoleArn: ROLE,
    AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare'], ContainerArguments: ['--source', 'raw'] },
    ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 5 } },
    ProcessingInputs: [
      {
        InputName: 'raw',
        S3Input: {
          S3Uri: `s3://${bucket}/raw`,
          LocalPath: '/opt/ml/processing/input/raw',
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
        },
      },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        {
          OutputName: 'train',
          S3Output: {
            S3Uri: `s3://${bucket}/out/${name}/train`,
            LocalPath: '/opt/ml/processing/output/train',
            S3UploadMode: 'EndOfJob',
          },
        },
      ],
    },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ...extra,
  };
}

async function waitDone(name: string, timeoutMs = 30_000): Promise<DescribeProcessingJobCommandOutput> {
  let last: DescribeProcessingJobCommandOutput | undefined;
  await waitUntil(
    async () => {
      last = await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }));
      return ['Completed', 'Failed', 'Stopped'].includes(last.ProcessingJobStatus ?? '');
    },
    timeoutMs,
    `processing job ${name}`,
    100,
  );
  return last as DescribeProcessingJobCommandOutput;
}

async function readJson(key: string): Promise<Record<string, unknown>> {
  const o = await s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await o.Body!.transformToString()) as Record<string, unknown>;
}

test('a processing job downloads its inputs, runs the entrypoint with its arguments, uploads its outputs', async () => {
  const created = await sm.send(
    new CreateProcessingJobCommand({
      ...request('proc-ok'),
      Environment: { MODE: 'fast' },
      Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf-1' }],
    }),
  );
  expect(created.ProcessingJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:processing-job/proc-ok');
  const d = await waitDone('proc-ok');
  expect(d.ProcessingJobStatus).toBe('Completed');
  expect(d.FailureReason).toBeUndefined();
  expect(d.ProcessingStartTime).toBeInstanceOf(Date);
  expect(d.ProcessingEndTime!.getTime()).toBeGreaterThanOrEqual(d.ProcessingStartTime!.getTime());
  expect(d.LastModifiedTime!.getTime()).toBeGreaterThanOrEqual(d.CreationTime!.getTime());
  expect(d.ProcessingInputs?.[0]?.S3Input?.S3DataDistributionType).toBe('FullyReplicated');
  expect(d.Environment).toEqual({ MODE: 'fast' });
  // The output LocalPath's files land under S3Uri with their path relative to it.
  expect(await readJson('out/proc-ok/train/algo-1.json')).toEqual({
    host: 'algo-1',
    inputs: { raw: ['a.txt', 'b.txt', 'd.txt', 'sub/c.txt'] },
  });
  const log = fs.readFileSync(path.join(stateDir, 'logs/processing-jobs/proc-ok.log'), 'utf8');
  expect(log).toContain('[algo-1] host=algo-1 hosts=algo-1 job=proc-ok args=["--source", "raw"] env_MODE=fast');
  // The container acts as the job's role, through the service's IAM gateway.
  expect(log).toContain(`aws session_token=${roleCredentials(ROLE).sessionToken} s3=${svc.url}`);
  // processingjobconfig.json describes the job as SageMaker writes it.
  const cfg = JSON.parse(
    fs.readFileSync(path.join(stateDir, 'jobs/processing/proc-ok/algo-1/config/processingjobconfig.json'), 'utf8'),
  ) as Record<string, unknown>;
  expect(cfg).toMatchObject({ ProcessingJobArn: created.ProcessingJobArn, ProcessingJobName: 'proc-ok' });
  const tags = await sm.send(new ListTagsCommand({ ResourceArn: created.ProcessingJobArn }));
  expect(tags.Tags).toEqual([{ Key: 'pipeline:workflow-id', Value: 'wf-1' }]);
  // Lines go to CloudWatch Logs, one stream per host.
  const logs = new CloudWatchLogsClient({ endpoint: moto.url, region: 'us-east-1', credentials });
  await waitUntil(
    async () => {
      const s = await logs.send(
        new DescribeLogStreamsCommand({
          logGroupName: '/aws/sagemaker/ProcessingJobs',
          logStreamNamePrefix: 'proc-ok/',
        }),
      );
      return (s.logStreams ?? []).some((x) => /^proc-ok\/algo-1-\d+$/.test(x.logStreamName ?? ''));
    },
    10_000,
    'log stream',
  );
});

test('ShardedByS3Key gives each of N hosts its share of the objects; every host uploads its output', async () => {
  const req = request('proc-sharded');
  req.ProcessingResources!.ClusterConfig!.InstanceCount = 2;
  req.ProcessingInputs![0]!.S3Input!.S3DataDistributionType = 'ShardedByS3Key';
  await sm.send(new CreateProcessingJobCommand(req));
  expect((await waitDone('proc-sharded')).ProcessingJobStatus).toBe('Completed');
  const one = (await readJson('out/proc-sharded/train/algo-1.json')).inputs as { raw: string[] };
  const two = (await readJson('out/proc-sharded/train/algo-2.json')).inputs as { raw: string[] };
  expect(one.raw).toEqual(['a.txt', 'd.txt']);
  expect(two.raw).toEqual(['b.txt', 'sub/c.txt']);
  const rc = JSON.parse(
    fs.readFileSync(path.join(stateDir, 'jobs/processing/proc-sharded/algo-2/config/resourceconfig.json'), 'utf8'),
  ) as unknown;
  expect(rc).toEqual({ current_host: 'algo-2', hosts: ['algo-1', 'algo-2'] });
});

test('a failing container fails the job with its message as FailureReason and ExitMessage; outputs are not uploaded', async () => {
  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-fail', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--fail', 'no documents in raw'] },
      }),
    ),
  );
  const d = await waitDone('proc-fail');
  expect(d.ProcessingJobStatus).toBe('Failed');
  expect(d.ExitMessage).toBe('no documents in raw');
  expect(d.FailureReason).toBe('AlgorithmError: algo-1 exited with exit code 3: no documents in raw');
  await expect(
    s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: 'out/proc-fail/train/algo-1.json' })),
  ).rejects.toThrow();
});

test('a successful job reports its message as ExitMessage; a message that is not UTF-8 fails the job', async () => {
  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-msg', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--message', 'ok: 4 docs'] },
      }),
    ),
  );
  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-badmsg', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--bad-message'] },
      }),
    ),
  );
  const ok = await waitDone('proc-msg');
  expect([ok.ProcessingJobStatus, ok.ExitMessage]).toEqual(['Completed', 'ok: 4 docs']);
  const bad = await waitDone('proc-badmsg');
  expect(bad.ProcessingJobStatus).toBe('Failed');
  expect(bad.FailureReason).toMatch(/^ClientError: .*not UTF-8/);
});

test('StopProcessingJob stops the container with SIGTERM; MaxRuntimeInSeconds stops it too', async () => {
  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-stop', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--sleep', '60'] },
      }),
    ),
  );
  // Stopped once the container runs (its SIGTERM handler installed, it prints its first line).
  const stopLog = path.join(stateDir, 'logs/processing-jobs/proc-stop.log');
  await waitUntil(
    async () => Promise.resolve(fs.existsSync(stopLog) && fs.readFileSync(stopLog, 'utf8').includes('host=algo-1')),
    20_000,
    'start',
  );
  expect(
    (await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'proc-stop' }))).ProcessingStartTime,
  ).toBeInstanceOf(Date);
  await sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'proc-stop' }));
  const status = (await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'proc-stop' })))
    .ProcessingJobStatus;
  expect(['Stopping', 'Stopped']).toContain(status);
  expect((await waitDone('proc-stop')).ProcessingJobStatus).toBe('Stopped');
  expect(fs.readFileSync(path.join(stateDir, 'logs/processing-jobs/proc-stop.log'), 'utf8')).toContain('got SIGTERM');
  // A stopped job cannot be stopped again (documented rule processing-job.stop-state).
  await expect(sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'proc-stop' }))).rejects.toMatchObject({
    name: 'ValidationException',
  });

  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-timeout', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--sleep', '60'] },
        StoppingCondition: { MaxRuntimeInSeconds: 1 },
      }),
    ),
  );
  expect((await waitDone('proc-timeout')).ProcessingJobStatus).toBe('Stopped');
});

test('bad requests are refused with the field named, and nothing is created', async () => {
  const cases: [Partial<CreateProcessingJobCommandInput>, string, RegExp][] = [
    [
      { ProcessingJobName: 'bad-path' },
      'ValidationException',
      /processingInputs\.1\.member\.s3Input\.localPath.*\/opt\/ml\/processing\//,
    ],
    [{ ProcessingJobName: 'bad-pipe' }, 'ValidationException', /does not serve Pipe mode/],
    [{ ProcessingJobName: 'bad-dup' }, 'ValidationException', /unique InputName values: 'raw'/],
  ];
  const bodies: CreateProcessingJobCommandInput[] = [request('bad-path'), request('bad-pipe'), request('bad-dup')];
  bodies[0]!.ProcessingInputs![0]!.S3Input!.LocalPath = '/tmp/raw';
  bodies[1]!.ProcessingInputs![0]!.S3Input!.S3InputMode = 'Pipe';
  bodies[2]!.ProcessingInputs = [
    bodies[2]!.ProcessingInputs![0]!,
    {
      ...bodies[2]!.ProcessingInputs![0]!,
      S3Input: { ...bodies[2]!.ProcessingInputs![0]!.S3Input!, LocalPath: '/opt/ml/processing/other' },
    },
  ];
  for (const [i, [, name, message]] of cases.entries()) {
    await expect(sm.send(new CreateProcessingJobCommand(bodies[i]!))).rejects.toMatchObject({
      name,
      message: expect.stringMatching(message),
    });
  }
  const list = await sm.send(new ListProcessingJobsCommand({ NameContains: 'bad-' }));
  expect(list.ProcessingJobSummaries).toEqual([]);
  // The same name twice: ResourceInUse.
  await expect(sm.send(new CreateProcessingJobCommand(request('proc-ok')))).rejects.toMatchObject({
    name: 'ResourceInUse',
  });
  await expect(sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'nope' }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: 'Could not find requested job with name nope',
  });
  await expect(sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'nope' }))).rejects.toMatchObject({
    name: 'ResourceNotFound',
  });
});

test('ListProcessingJobs filters, sorts and pages as the API defines', async () => {
  const all = await sm.send(
    new ListProcessingJobsCommand({ NameContains: 'PROC-', SortBy: 'Name', SortOrder: 'Ascending' }),
  );
  const names = (all.ProcessingJobSummaries ?? []).map((s) => s.ProcessingJobName);
  expect(names).toEqual([...names].sort());
  expect(names).toEqual(expect.arrayContaining(['proc-ok', 'proc-fail', 'proc-stop']));
  const failed = await sm.send(new ListProcessingJobsCommand({ StatusEquals: 'Failed' }));
  expect((failed.ProcessingJobSummaries ?? []).map((s) => s.ProcessingJobName).sort()).toEqual([
    'proc-badmsg',
    'proc-fail',
  ]);
  expect(failed.ProcessingJobSummaries?.find((s) => s.ProcessingJobName === 'proc-fail')?.FailureReason).toMatch(
    /^AlgorithmError/,
  );
  const first = await sm.send(
    new ListProcessingJobsCommand({ MaxResults: 2, SortBy: 'CreationTime', SortOrder: 'Descending' }),
  );
  expect(first.ProcessingJobSummaries).toHaveLength(2);
  expect(first.NextToken).toBeDefined();
  const second = await sm.send(
    new ListProcessingJobsCommand({
      MaxResults: 2,
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      NextToken: first.NextToken,
    }),
  );
  expect(second.ProcessingJobSummaries?.[0]?.ProcessingJobName).not.toBe(
    first.ProcessingJobSummaries?.[1]?.ProcessingJobName,
  );
  const t1 = first.ProcessingJobSummaries![0]!.CreationTime!.getTime();
  const t2 = second.ProcessingJobSummaries![0]!.CreationTime!.getTime();
  expect(t1).toBeGreaterThanOrEqual(t2);
});

test('a job InProgress when the service stops runs again when it restarts', async () => {
  await sm.send(
    new CreateProcessingJobCommand(
      request('proc-restart', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare', '--sleep', '2'] },
      }),
    ),
  );
  await waitUntil(
    async () =>
      (await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'proc-restart' }))).ProcessingStartTime !==
      undefined,
    20_000,
    'start',
  );
  await svc.close();
  svc = await startService(moto.url, stateDir);
  sm = sagemaker(svc.url);
  const d = await waitDone('proc-restart');
  expect(d.ProcessingJobStatus).toBe('Completed');
  expect((await readJson('out/proc-restart/train/algo-1.json')).host).toBe('algo-1');
});
