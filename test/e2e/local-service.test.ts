/**
 * The local stack end to end: `up` (Temporal with the search attributes, moto, the local SageMaker service), a
 * 2-host training job running the container's real `train` (JAX distributed on CPU) when container/.venv exists
 * (else the fixture trainer), an endpoint serving the trained model and answering InvokeEndpoint, and `down`
 * stopping everything, including a job still training.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { isAlive, readPid, waitUntil } from '../../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { prepareDataset } from '../../testing/dataset';
import { isolatedStackConfig, TEST_ROLES_FILE } from '../../testing/isolated-stack';
import { asHyperParameters, TINY_HYPERPARAMETERS } from '../../testing/tiny-spec';
import { down, status, up } from '../../local/stack/launcher';

jest.setTimeout(600_000);

const realBin = path.join(REPO_ROOT, 'container/.venv/bin');
const REAL =
  fs.existsSync(path.join(realBin, 'train')) &&
  fs.existsSync(path.join(realBin, 'serve')) &&
  process.env.LOCAL_E2E_FAKE !== '1';
const BIN = REAL ? realBin : path.join(REPO_ROOT, 'test/fixtures/fake-container');
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
// The tiny model, 20 steps (real container); the fixture trainer's own knobs otherwise.
const HPS: Record<string, string> = REAL
  ? asHyperParameters({ ...TINY_HYPERPARAMETERS, max_steps: 20 })
  : { steps: '5', sleep: '0.05' };

let cfg: StackConfig;
let env: Record<string, string>;
let sm: SageMakerClient;
let stackUp = false;

beforeAll(async () => {
  cfg = await isolatedStackConfig('local-e2e', BIN);
  const stateDir = cfg.stateDir;
  env = workerEnv(cfg);
  // The service (started by `up`) inherits the test roles its jobs run as.
  process.env.LOCAL_IAM_ROLES = TEST_ROLES_FILE;
  await up(cfg);
  stackUp = true;
  const credentials = ADMIN_CREDENTIALS;
  sm = new SageMakerClient({ endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER, region: env.AWS_REGION, credentials });
  const s3 = new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: env.AWS_REGION,
    credentials,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'e2e' }));
  for (const [key, text] of Object.entries(corpus(stateDir)))
    await s3.send(new PutObjectCommand({ Bucket: 'e2e', Key: key, Body: text }));
});

afterAll(async () => {
  if (stackUp) await down(cfg);
});

/** The container's own demo corpus (`prepare --source builtin`), or a small text for the fixture trainer. */
function corpus(dir: string): Record<string, string> {
  if (!REAL)
    return { 'data/train/corpus.txt': 'hello world\n'.repeat(100), 'data/val/corpus.txt': 'hello\n'.repeat(50) };
  const out = path.join(dir, 'dataset');
  prepareDataset(BIN, out, path.join(dir, 'prepare'));
  return {
    'data/train/corpus.txt': fs.readFileSync(path.join(out, 'train/corpus.txt'), 'utf8'),
    'data/val/corpus.txt': fs.readFileSync(path.join(out, 'val/corpus.txt'), 'utf8'),
  };
}

function job(name: string, hps: Record<string, string>, hosts: number) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    RoleArn: ROLE,
    AlgorithmSpecification: {
      TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax:latest',
      TrainingInputMode: 'File',
      MetricDefinitions: [
        { Name: 'train:loss', Regex: 'train_loss=([0-9.eE+-]+)' },
        { Name: 'validation:loss', Regex: 'val_loss=([0-9.eE+-]+)' },
      ],
    },
    HyperParameters: hps,
    InputDataConfig: ['train', 'val'].map((c) => ({
      ChannelName: c,
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: `s3://e2e/data/${c}/`,
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    })),
    OutputDataConfig: { S3OutputPath: 's3://e2e/output' },
    ResourceConfig: { InstanceType: 'ml.p4de.24xlarge', InstanceCount: hosts, VolumeSizeInGB: 50 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    CheckpointConfig: { S3Uri: `s3://e2e/checkpoints/${name}` },
  });
}

async function waitJob(
  name: string,
  done: (d: DescribeTrainingJobCommandOutput) => boolean,
  timeoutMs: number,
): Promise<DescribeTrainingJobCommandOutput> {
  let d: DescribeTrainingJobCommandOutput | undefined;
  await waitUntil(
    async () => done((d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name })))),
    timeoutMs,
    `training job ${name}`,
    500,
  );
  return d as DescribeTrainingJobCommandOutput;
}

test('up starts Temporal with the pipeline search attributes, moto and the service; up again is a no-op', async () => {
  const s = await status(cfg);
  expect(s.components.map((c) => [c.name, c.running, c.answering])).toEqual([
    ['temporal', true, true],
    ['moto', true, true],
    ['sagemaker', true, true],
  ]);
  const pids = s.components.map((c) => c.pid);
  await up(cfg);
  expect((await status(cfg)).components.map((c) => c.pid)).toEqual(pids);
  const attrs = execFileSync(
    path.join(REPO_ROOT, '.venv/bin/temporal'),
    ['operator', 'search-attribute', 'list', '--address', env.TEMPORAL_ADDRESS as string],
    { encoding: 'utf8' },
  );
  expect(attrs).toMatch(/PipelineStep\s+Keyword/);
  expect(attrs).toMatch(/ModelPackageVersion\s+Int/);
  expect(attrs).toMatch(/EndpointName\s+Keyword/);
  for (const c of ['temporal', 'moto', 'sagemaker'])
    expect(fs.existsSync(path.join(cfg.stateDir, 'logs', `${c}.log`))).toBe(true);
});

test(
  `a 2-host training job runs ${REAL ? 'the real JAX trainer' : 'the fixture trainer'}, and its model serves ` +
    `behind an endpoint`,
  async () => {
    await sm.send(job('e2e-train', HPS, 2));
    const d = await waitJob('e2e-train', (j) => j.TrainingJobStatus !== 'InProgress', 150_000);
    if (d.TrainingJobStatus !== 'Completed') {
      const log = path.join(cfg.stateDir, 'sagemaker/logs/training-jobs/e2e-train.log');
      throw new Error(
        `job ${d.TrainingJobStatus}: ${d.FailureReason}` +
          `\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : ''}`,
      );
    }
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    const metrics = Object.fromEntries((d.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value]));
    expect(metrics['validation:loss']).toBeGreaterThan(0);
    expect(d.ModelArtifacts?.S3ModelArtifacts).toBe('s3://e2e/output/e2e-train/output/model.tar.gz');

    await sm.send(
      new CreateModelCommand({
        ModelName: 'e2e-model',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: d.ModelArtifacts?.S3ModelArtifacts },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'e2e-epc',
        ProductionVariants: [
          { VariantName: 'AllTraffic', ModelName: 'e2e-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'e2e-ep', EndpointConfigName: 'e2e-epc' }));
    let status = 'Creating';
    await waitUntil(
      async () =>
        (status = (await sm.send(new DescribeEndpointCommand({ EndpointName: 'e2e-ep' }))).EndpointStatus ?? '') !==
        'Creating',
      90_000,
      'endpoint',
      500,
    );
    expect(status).toBe('InService');
    const rt = new SageMakerRuntimeClient({
      endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
      region: env.AWS_REGION,
      credentials: ADMIN_CREDENTIALS,
    });
    const res = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'e2e-ep',
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: 'The ', parameters: { max_new_tokens: 8 } }),
      }),
    );
    expect(res.InvokedProductionVariant).toBe('AllTraffic');
    const answer = JSON.parse(Buffer.from(res.Body).toString('utf8')) as unknown;
    expect(JSON.stringify(answer)).toMatch(/generated_text/);
  },
);

test('down stops every component and the job processes it started', async () => {
  await sm.send(
    job('e2e-long', REAL ? { ...HPS, max_steps: '100000', eval_every: '1000' } : { steps: '100000', sleep: '0.1' }, 2),
  );
  await waitJob('e2e-long', (j) => j.SecondaryStatus === 'Training', 60_000);
  const pidDir = path.join(cfg.stateDir, 'sagemaker/pids');
  await waitUntil(
    () => fs.readdirSync(pidDir).filter((f) => f.startsWith('e2e-long')).length === 2,
    30_000,
    'two host processes',
  );
  const pids = fs
    .readdirSync(pidDir)
    .map((f) => readPid(path.join(pidDir, f)))
    .filter((p): p is number => p !== undefined);
  expect(pids.length).toBeGreaterThanOrEqual(3); // 2 hosts + the endpoint's serve process
  await down(cfg);
  stackUp = false;
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  const s = await status(cfg);
  expect(s.components.every((c) => !c.running && !c.answering)).toBe(true);
  expect(s.hostProcesses).toBe(0);
});
