/**
 * Start failures of a 4 x ml.p4de.24xlarge training job, end to end through the trainModel step with the real
 * activities and the in-process local service (LOCAL_FAULTS): with the spec's RetryStrategy an InternalServerError at
 * start is retried and the step completes; a capacity failure is not retried and fails the step with SageMaker's
 * CapacityError reason.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { TrainModelInput } from '../../contracts';
import { CAPACITY_FAILURE, INTERNAL_FAILURE } from '../../local/service/sagemaker/jobs/training/training';
import type { LocalService } from '../../local/service/server';
import { trainModel } from '../../workflows';
import { trainingDefinition } from '../../testing/training-definition';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';
import {
  credentials,
  type Moto,
  s3,
  seedBucket,
  seedFailingOnce,
  startMoto,
  startService,
  tmpDir,
} from '../unit/local/helpers';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
let moto: Moto;
const services: LocalService[] = [];
const bucket = 'capacity-wf';

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/v.txt': 'v' });
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await moto?.stop();
  await env?.teardown();
});

/** Runs trainModel against a local service with `faults`, with the real activities. */
async function runTrainModel(faults: string, input: TrainModelInput) {
  const svc = await startService(moto.url, tmpDir('wf-capacity-'), { faults, capacityWaitMs: 300 });
  services.push(svc);
  const common = { region: 'us-east-1', credentials, maxAttempts: 1 };
  const sagemaker = new SageMakerClient({ ...common, endpoint: svc.url });
  const activities = createActivities({
    clients: {
      sagemaker,
      autoscaling: new ApplicationAutoScalingClient({ ...common, endpoint: svc.url }),
      codebuild: new CodeBuildClient({ ...common, endpoint: svc.url }),
      s3: new S3Client({ ...common, endpoint: moto.url, forcePathStyle: true }),
      ecr: new ECRClient({ ...common, endpoint: moto.url }),
      logs: new CloudWatchLogsClient({ ...common, endpoint: moto.url }),
      cloudwatch: new CloudWatchClient({ ...common, endpoint: moto.url }),
      servicequotas: new ServiceQuotasClient({ ...common, endpoint: svc.url }),
      iam: new IAMClient({ ...common, endpoint: svc.url }),
      sts: new STSClient({ ...common, endpoint: svc.url }),
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))),
  });
  const taskQueue = uniqueTaskQueue('capacity');
  const worker = await createTestWorker(env, taskQueue, activities);
  const result = await worker
    .runUntil(
      env.client.workflow.execute(trainModel, { taskQueue, workflowId: `capacity-${taskQueue}`, args: [input] }),
    )
    .then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
  const job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: input.trainingJobName }));
  return { ...result, job };
}

const input = (name: string, retries?: number): TrainModelInput => ({
  trainingJobName: name,
  pollIntervalSeconds: 1,
  objectiveMetric: 'val_loss',
  definition: trainingDefinition({
    channels: { train: `s3://${bucket}/data/train/`, val: `s3://${bucket}/data/val/` },
    outputS3Uri: `s3://${bucket}/output/`,
    hyperparameters: { steps: '2', sleep: '0.01' },
    // A role the test service knows (test/fixtures/iam/test-roles.json), allowed on this test's bucket.
    roleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
    ...(retries ? { retryStrategy: { maximumRetryAttempts: retries } } : {}),
  }),
});

test("with the spec's RetryStrategy an internal failure at start is retried and the step completes", async () => {
  const { value, error, job } = await runTrainModel(`internal:0.5,seed:${seedFailingOnce()}`, input('cap-retried', 2));
  expect(error).toBeUndefined();
  expect(value?.trainingJobName).toBe('cap-retried');
  expect(job.TrainingJobStatus).toBe('Completed');
  expect(job.RetryStrategy).toEqual({ MaximumRetryAttempts: 2 });
  expect(job.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
    'Starting',
    'Starting',
    'Downloading',
    'Training',
    'Uploading',
    'Completed',
  ]);
  expect(job.SecondaryStatusTransitions?.[1]?.StatusMessage).toBe(
    `Retrying the training job (retry 1 of 2) after ${INTERNAL_FAILURE}`,
  );
});

test('a capacity failure fails the step with the CapacityError reason, RetryStrategy or not', async () => {
  const { error, job } = await runTrainModel('capacity:1', input('cap-failed', 2));
  expect(job.TrainingJobStatus).toBe('Failed');
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  const failure = cause instanceof ChildWorkflowFailure ? cause.cause : cause;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).type).toBe('JobFailed');
  expect((failure as ApplicationFailure).message).toContain(CAPACITY_FAILURE);
});
