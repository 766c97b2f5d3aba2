/**
 * Warm-start conformance (documented rule `tuning-job.warm-start-parent`, SageMaker developer guide "Run a Warm Start
 * Hyperparameter Tuning Job"): CreateHyperParameterTuningJob naming a parent whose objective metric or number of
 * static plus tunable hyperparameters differs is refused with ValidationException before anything is created, as
 * SageMaker refuses it; a parent that matches is accepted.
 */
import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  DescribeHyperParameterTuningJobCommand,
  type SageMakerClient,
  StopHyperParameterTuningJobCommand,
} from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import { type Moto, ROLE, sagemaker, startMoto, startService, tmpDir } from '../unit/local/helpers';
import { failure } from './conformance-service';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'0'.repeat(64)}`;

jest.setTimeout(120_000);

// Creating the parent assumes its role (IAM and STS are moto's), so this suite runs beside moto.
let moto: Moto;
let svc: LocalService;
let client: SageMakerClient;

const tuning = (
  name: string,
  opts: { parent?: string; metric?: string; statics?: Record<string, string> } = {},
): CreateHyperParameterTuningJobCommandInput => ({
  HyperParameterTuningJobName: name,
  HyperParameterTuningJobConfig: {
    Strategy: 'Random',
    HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: opts.metric ?? 'val_loss' },
    ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 },
    ParameterRanges: { ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.01', MaxValue: '0.1' }] },
  },
  TrainingJobDefinition: {
    StaticHyperParameters: opts.statics ?? { steps: '2' },
    AlgorithmSpecification: {
      TrainingImage: IMAGE,
      TrainingInputMode: 'File',
      MetricDefinitions: [
        { Name: 'val_loss', Regex: 'val_loss=([0-9.]+)' },
        { Name: 'train_loss', Regex: 'x' },
      ],
    },
    RoleArn: ROLE,
    OutputDataConfig: { S3OutputPath: 's3://conf/out' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  },
  ...(opts.parent
    ? {
        WarmStartConfig: {
          ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: opts.parent }],
          WarmStartType: 'TransferLearning',
        },
      }
    : {}),
});

const statusOf = async (name: string): Promise<string | undefined> =>
  (await client.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })))
    .HyperParameterTuningJobStatus;

beforeAll(async () => {
  moto = await startMoto();
  svc = await startService(moto.url, tmpDir('conformance-warm-'));
  client = sagemaker(svc.url);
  // The parent: stopped at once (or failed on its own: its output bucket does not exist), either way terminal.
  await client.send(new CreateHyperParameterTuningJobCommand(tuning('conf-parent')));
  await client
    .send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'conf-parent' }))
    .catch(() => undefined);
  const deadline = Date.now() + 60_000;
  while (!['Stopped', 'Failed', 'Completed'].includes((await statusOf('conf-parent')) ?? '')) {
    if (Date.now() > deadline) throw new Error(`parent still ${await statusOf('conf-parent')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});
afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

test.each([
  [
    'a hyperparameter added since the parent',
    { statics: { steps: '2', dropout: '0.1' } },
    /total number of static plus tunable hyperparameters must stay the same as in the parent jobs: 3 here, 2 in conf-parent/,
  ],
  [
    'another objective metric',
    { metric: 'train_loss' },
    /objective metric of a warm start tuning job must be the same/,
  ],
])('refuses a warm start whose parent differs: %s, and creates nothing', async (_label, opts, message) => {
  const name = `conf-child-${'metric' in opts ? 'metric' : 'hp'}`;
  const err = await failure(
    client.send(new CreateHyperParameterTuningJobCommand(tuning(name, { parent: 'conf-parent', ...opts }))),
  );
  expect(err?.name).toBe('ValidationException');
  expect(err?.message).toMatch(message);
  expect((await failure(statusOf(name)))?.name).toBe('ResourceNotFound');
});

test('accepts a warm start from a parent that matches', async () => {
  const err = await failure(
    client.send(new CreateHyperParameterTuningJobCommand(tuning('conf-child-ok', { parent: 'conf-parent' }))),
  );
  expect(err).toBeUndefined();
});
