/**
 * Batch Transform end to end with the real container: a tiny model trained by the local service's CreateTrainingJob
 * (the container's `train`), a Model over its model.tar.gz, and transform jobs over JSON Lines files of score records
 * through the AWS SDK v3 client: MultiRecord batches read from the container's /execution-parameters, one `.out` line
 * per record in input order with a finite nll; a bad record failing the job with the object named; a stop.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateModelCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  type DescribeTransformJobCommandOutput,
  type SageMakerClient,
  StopTransformJobCommand,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import { prepareDataset } from '../../testing/dataset';
import { asHyperParameters, TINY_HYPERPARAMETERS } from '../../testing/tiny-spec';
import type { LocalService } from '../../local/service/server';
import { waitUntil } from '../../local/shared/procs';
import {
  credentials,
  REPO,
  type Moto,
  ROLE,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
  trainingRequest,
} from '../unit/local/helpers';

jest.setTimeout(900_000);

const BIN = path.join(REPO, 'container/.venv/bin');
const REAL = fs.existsSync(path.join(BIN, 'serve'));
const bucket = 'transform-e2e';
const TEXTS = Array.from({ length: 40 }, (_, i) => `def f${i}(x):\n    return x * ${i} + ${'y'.repeat(i % 7)}`);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;

(REAL ? describe : describe.skip)('transform jobs on the real container', () => {
  beforeAll(async () => {
    moto = await startMoto();
    const dir = tmpDir('transform-e2e-');
    svc = await startService(moto.url, path.join(dir, 'state'), { containerBinDir: BIN, pingTimeoutMs: 300_000 });
    sm = sagemaker(svc.url);
    const data = path.join(dir, 'dataset');
    prepareDataset(BIN, data, path.join(dir, 'prepare'));
    await seedBucket(s3(moto.url), bucket, {
      'data/train/corpus.txt': fs.readFileSync(path.join(data, 'train/corpus.txt'), 'utf8'),
      'data/val/corpus.txt': fs.readFileSync(path.join(data, 'val/corpus.txt'), 'utf8'),
      'eval/a/records.jsonl': TEXTS.map((t) => JSON.stringify({ score: t })).join('\n') + '\n',
      'eval/bad/records.jsonl': `${JSON.stringify({ score: 'fine' })}\n${JSON.stringify({ score: '' })}\n`,
    });
    const hps = asHyperParameters({ ...TINY_HYPERPARAMETERS, max_steps: 20 });
    const req = trainingRequest('tiny', bucket, hps);
    await sm.send(new CreateTrainingJobCommand({ ...req, HyperParameters: hps, CheckpointConfig: undefined }));
    let artifacts: string | undefined;
    await waitUntil(
      async () => {
        const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'tiny' }));
        if (d.TrainingJobStatus === 'Failed') throw new Error(`training failed: ${d.FailureReason}`);
        artifacts = d.ModelArtifacts?.S3ModelArtifacts;
        return d.TrainingJobStatus === 'Completed';
      },
      600_000,
      'training job tiny',
      1_000,
    );
    await sm.send(
      new CreateModelCommand({
        ModelName: 'tiny',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax:latest', ModelDataUrl: artifacts },
      }),
    );
  });

  afterAll(async () => {
    await svc?.close();
    await moto?.stop();
  });

  const transform = (name: string, input: string) =>
    sm.send(
      new CreateTransformJobCommand({
        TransformJobName: name,
        ModelName: 'tiny',
        BatchStrategy: 'MultiRecord',
        MaxPayloadInMB: 1,
        TransformInput: {
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/${input}` } },
          ContentType: 'application/jsonlines',
          SplitType: 'Line',
        },
        TransformOutput: {
          S3OutputPath: `s3://${bucket}/scores/${name}`,
          Accept: 'application/jsonlines',
          AssembleWith: 'Line',
        },
        TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
      }),
    );

  async function settled(name: string): Promise<DescribeTransformJobCommandOutput> {
    let d: DescribeTransformJobCommandOutput | undefined;
    await waitUntil(
      async () => {
        d = await sm.send(new DescribeTransformJobCommand({ TransformJobName: name }));
        return !['InProgress', 'Stopping'].includes(d.TransformJobStatus as string);
      },
      600_000,
      `transform job ${name}`,
      500,
    );
    return d as DescribeTransformJobCommandOutput;
  }

  it('scores every record: one .out line per record, in order, with a finite nll', async () => {
    await transform('score', 'eval/a/');
    const d = await settled('score');
    expect(d).toMatchObject({ TransformJobStatus: 'Completed' });
    const got = await s3(moto.url).send(
      new GetObjectCommand({ Bucket: bucket, Key: 'scores/score/records.jsonl.out' }),
    );
    const lines = ((await got.Body?.transformToString()) ?? '').trimEnd().split('\n');
    expect(lines).toHaveLength(TEXTS.length);
    const scores = lines.map((l) => JSON.parse(l) as { nll: number; tokens: number });
    expect(scores.map((s) => s.tokens)).toEqual(TEXTS.map((t) => Buffer.byteLength(t)));
    for (const s of scores) expect(Number.isFinite(s.nll) && s.nll > 0).toBe(true);
    // The data log, as SageMaker writes it: the container's /execution-parameters filled in what the request left
    // out, and the 40 records went as one MultiRecord request.
    const logs = new CloudWatchLogsClient({ endpoint: svc.url, region: 'us-east-1', credentials });
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/sagemaker/TransformJobs', logStreamName: 'score/data-log' }),
    );
    const text = (events.events ?? []).map((e) => e.message).join('\n');
    expect(text).toContain('MaxConcurrentTransforms=16, MaxPayloadInMB=1, BatchStrategy=MULTI_RECORD');
    expect(text).toContain(`${bucket}/eval/a/records.jsonl: 1 request(s)`);
  });

  it('fails the job naming the object when a record is refused', async () => {
    await transform('bad', 'eval/bad/');
    const d = await settled('bad');
    expect(d.TransformJobStatus).toBe('Failed');
    expect(d.FailureReason).toContain(`${bucket}/eval/bad/records.jsonl: ClientError: 400`);
    expect(d.FailureReason).toContain('record 1 (line 2)');
  });

  it('stops a job: status Stopped, nothing more written', async () => {
    await s3(moto.url).send(
      new PutObjectCommand({ Bucket: bucket, Key: 'eval/stop/records.jsonl', Body: '{"score": "x"}\n' }),
    );
    await transform('stop', 'eval/stop/');
    await sm.send(new StopTransformJobCommand({ TransformJobName: 'stop' }));
    const d = await settled('stop');
    expect(d.TransformJobStatus).toBe('Stopped');
    await expect(
      s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: 'scores/stop/records.jsonl.out' })),
    ).rejects.toThrow();
  });
});
