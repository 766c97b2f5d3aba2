import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mockClient } from 'aws-sdk-client-mock';
import { createActivities, type AwsClients } from '../../activities';
import { trainModel } from '../../workflows';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

// Three days of polling at the default 60 s interval.
const POLLS = 3 * 24 * 60;

describe('waiting on a multi-day training job', () => {
  it('adds no workflow history per poll: the real polling activity against a mocked SageMaker', async () => {
    const sagemaker = mockClient(SageMakerClient);
    sagemaker
      .on(CreateTrainingJobCommand)
      .resolves({ TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/long' });
    let describes = 0;
    sagemaker.on(DescribeTrainingJobCommand).callsFake(() => {
      describes += 1;
      const done = describes > POLLS;
      return {
        TrainingJobName: 'long-job',
        TrainingJobStatus: done ? 'Completed' : 'InProgress',
        SecondaryStatus: done ? 'Completed' : describes < 3 ? 'Starting' : 'Training',
        ModelArtifacts: done ? { S3ModelArtifacts: 's3://b/long/model.tar.gz' } : undefined,
        FinalMetricDataList: done ? [{ MetricName: 'val_loss', Value: 1.9 }] : undefined,
      };
    });
    const clients = {
      sagemaker: new SageMakerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    } as unknown as AwsClients;
    const activities = createActivities({ clients, sleep: async () => undefined });
    const taskQueue = uniqueTaskQueue('long');
    const worker = await createTestWorker(env, taskQueue, activities);
    const input = {
      trainingJobName: 'long-job',
      pollIntervalSeconds: 60,
      definition: trainingDefinition({
        channels: { train: 's3://b/train/' },
        outputS3Uri: 's3://b/out/',
        maxRuntimeSeconds: 5 * 86400,
        hyperparameters: {},
      }),
    };
    const { result, events } = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'long-train',
        args: [input],
      });
      const r = await handle.result();
      return { result: r, events: (await handle.fetchHistory()).events?.length ?? 0 };
    });
    expect(result.objectiveValue).toBe(1.9);
    expect(describes).toBe(POLLS + 1);
    // Three status changes (Starting, Training, Completed): a few dozen events, whatever the number of polls.
    expect(events).toBeLessThan(50);
    sagemaker.restore();
  });
});
