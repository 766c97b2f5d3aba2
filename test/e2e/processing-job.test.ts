/**
 * A Processing job end to end through the local SageMaker service with the AWS SDK v3 client: the container's real
 * `prepare` (container/.venv) reads raw text from S3 and writes the train, val and eval outputs back to S3; a job
 * whose container fails reports the container's own reason; a running job is stopped.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  type CreateProcessingJobCommandInput,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  type SageMakerClient,
  StopProcessingJobCommand,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../local/stack/config';
import { waitUntil } from '../../local/shared/procs';
import type { LocalService } from '../../local/service/server';
import { type Moto, ROLE, s3, sagemaker, seedBucket, startMoto, startService, tmpDir } from '../unit/local/helpers';

jest.setTimeout(300_000);

const BIN = path.join(REPO_ROOT, 'container/.venv/bin');
const REAL = fs.existsSync(path.join(BIN, 'prepare'));
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm:local';
const bucket = 'processing-e2e';

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
let s3c: S3Client;

/** Raw documents of 200 distinct lines each, as a team's exported text would be. */
function rawDocs(): Record<string, string> {
  const docs: Record<string, string> = {};
  for (const d of ['guide', 'faq', 'notes'])
    docs[`raw/${d}.txt`] = Array.from(
      { length: 200 },
      (_, i) => `${d} paragraph ${i}: the model reads this line.\n`,
    ).join('');
  return docs;
}

beforeAll(async () => {
  if (!REAL) return;
  moto = await startMoto();
  s3c = s3(moto.url);
  await seedBucket(s3c, bucket, rawDocs());
  svc = await startService(moto.url, tmpDir('processing-e2e-'), { containerBinDir: BIN, stopGraceMs: 10_000 });
  sm = sagemaker(svc.url);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

function output(name: string, job: string) {
  return {
    OutputName: name,
    S3Output: {
      S3Uri: `s3://${bucket}/prepared/${job}/${name}`,
      LocalPath: `/opt/ml/processing/output/${name}`,
      S3UploadMode: 'EndOfJob' as const,
    },
  };
}

function request(job: string, extra: Partial<CreateProcessingJobCommandInput> = {}): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: job,
    RoleArn: ROLE,
    AppSpecification: {
      ImageUri: IMAGE,
      ContainerEntrypoint: ['prepare'],
      ContainerArguments: ['--eval-fraction', '0.1'],
    },
    ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 10 } },
    ProcessingInputs: [
      {
        InputName: 'raw',
        S3Input: {
          S3Uri: `s3://${bucket}/raw/`,
          LocalPath: '/opt/ml/processing/input/raw',
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    ],
    ProcessingOutputConfig: { Outputs: ['train', 'val', 'eval'].map((n) => output(n, job)) },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ...extra,
  };
}

async function waitDone(job: string): Promise<DescribeProcessingJobCommandOutput> {
  let last: DescribeProcessingJobCommandOutput | undefined;
  await waitUntil(
    async () => {
      last = await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: job }));
      return ['Completed', 'Failed', 'Stopped'].includes(last.ProcessingJobStatus ?? '');
    },
    240_000,
    `processing job ${job}`,
    250,
  );
  return last as DescribeProcessingJobCommandOutput;
}

async function text(key: string): Promise<string> {
  const o = await s3c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return o.Body!.transformToString();
}

(REAL ? test : test.skip)("the container's prepare turns raw text in S3 into train, val and eval in S3", async () => {
  await sm.send(new CreateProcessingJobCommand(request('prepare-ok')));
  const d = await waitDone('prepare-ok');
  expect([d.ProcessingJobStatus, d.FailureReason]).toEqual(['Completed', undefined]);
  const train = await text('prepared/prepare-ok/train/corpus.txt');
  const val = await text('prepared/prepare-ok/val/corpus.txt');
  const records = (await text('prepared/prepare-ok/eval/records.jsonl'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { score: string });
  expect(train).toContain('guide paragraph 0:');
  expect(val).toContain('faq paragraph 179:');
  // The last 10 % of every document is held out: scoring records, in none of train and val.
  const held = records.map((r) => r.score).join('');
  for (const doc of ['guide', 'faq', 'notes']) {
    expect(held).toContain(`${doc} paragraph 199:`);
    expect(train + val).not.toContain(`${doc} paragraph 180:`);
  }
  expect(records.every((r) => Object.keys(r).join() === 'score' && r.score.length <= 1000)).toBe(true);
});

(REAL ? test : test.skip)("a failing prepare fails the job with the container's reason", async () => {
  // No `raw` input: prepare reports the missing directory in /opt/ml/output/message and exits 1.
  await sm.send(new CreateProcessingJobCommand(request('prepare-fail', { ProcessingInputs: [] })));
  const d = await waitDone('prepare-fail');
  expect(d.ProcessingJobStatus).toBe('Failed');
  expect(d.ExitMessage).toMatch(/^missing processing input 'raw': expected a directory at /);
  expect(d.FailureReason).toMatch(/^AlgorithmError: algo-1 exited with exit code 1: missing processing input 'raw'/);
});

(REAL ? test : test.skip)('a running processing job is stopped', async () => {
  await sm.send(
    new CreateProcessingJobCommand(
      request('prepare-stop', {
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['python3', '-c', 'import time; time.sleep(120)'] },
      }),
    ),
  );
  await waitUntil(
    async () =>
      (await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'prepare-stop' }))).ProcessingStartTime !==
      undefined,
    60_000,
    'prepare-stop started',
  );
  await sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'prepare-stop' }));
  const d = await waitDone('prepare-stop');
  expect(d.ProcessingJobStatus).toBe('Stopped');
  expect(d.ProcessingEndTime!.getTime() - d.ProcessingStartTime!.getTime()).toBeLessThan(60_000);
});
