import {
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  ListTagsCommand,
  SageMakerClient,
  StopTransformJobCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createTransformActivities } from '../../../activities/transform';
import type { CreateTransformJobInput, TransformJobSnapshot } from '../../../contracts/evaluate-model';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { activityEnv, awsError, expectFailure, testDeps } from './helpers';

const sm = mockClient(SageMakerClient);
const acts = createTransformActivities(testDeps());
const ARN = 'arn:aws:sagemaker:us-east-1:1:transform-job/eval-1';

const input: CreateTransformJobInput = {
  transformJobName: 'eval-1',
  workflowId: 'wf-1/evaluateModel',
  modelName: 'eval-model-1',
  inputS3Uri: 's3://b/pipelines/p/prepared/prep-1/eval/',
  outputS3Uri: 's3://b/pipelines/p/evaluations/eval-1/output/',
  instanceType: 'ml.m5.xlarge',
  instanceCount: 1,
  maxPayloadMb: 6,
  tags: { team: 'lm' },
};

beforeEach(() => sm.reset());

describe('createTransformJob', () => {
  it('scores JSON Lines: split by line, several records a request, one answer line per record', async () => {
    sm.on(CreateTransformJobCommand).resolves({ TransformJobArn: ARN });
    expect(await acts.createTransformJob(input)).toEqual({ transformJobArn: ARN, reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateTransformJobCommand, {
      TransformJobName: 'eval-1',
      ModelName: 'eval-model-1',
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input.inputS3Uri } },
        ContentType: 'application/jsonlines',
        SplitType: 'Line',
        CompressionType: 'None',
      },
      TransformOutput: { S3OutputPath: input.outputS3Uri, Accept: 'application/jsonlines', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
      Tags: [
        { Key: 'team', Value: 'lm' },
        { Key: WORKFLOW_ID_TAG, Value: 'wf-1/evaluateModel' },
      ],
    });
  });

  it('re-attaches only to a job carrying our workflow ID tag', async () => {
    sm.on(CreateTransformJobCommand).rejects(awsError('ResourceInUse', 400, 'Job name already exists'));
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobArn: ARN, TransformJobStatus: 'InProgress' });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/evaluateModel' }] });
    expect(await acts.createTransformJob(input)).toEqual({ transformJobArn: ARN, reattached: true });
    sm.on(ListTagsCommand).resolves({ Tags: [] });
    await expectFailure(acts.createTransformJob(input), 'ResourceConflict', true, /missing/);
  });
});

describe('waitForTransformJob', () => {
  it('returns the first state at once, and a later one only when it changes', async () => {
    sm.on(DescribeTransformJobCommand)
      .resolvesOnce({ TransformJobName: 'eval-1', TransformJobStatus: 'InProgress' })
      .resolvesOnce({ TransformJobName: 'eval-1', TransformJobStatus: 'InProgress' })
      .resolves({ TransformJobName: 'eval-1', TransformJobStatus: 'Failed', FailureReason: 'ClientError: 400' });
    const wait = (last: { status: string } | null) =>
      activityEnv().run(acts.waitForTransformJob, {
        transformJobName: 'eval-1',
        last,
        pollIntervalSeconds: 60,
      }) as Promise<TransformJobSnapshot>;
    expect(await wait(null)).toEqual({ transformJobName: 'eval-1', status: 'InProgress' });
    expect(await wait({ status: 'InProgress' })).toEqual({
      transformJobName: 'eval-1',
      status: 'Failed',
      failureReason: 'ClientError: 400',
    });
    expect(sm.commandCalls(DescribeTransformJobCommand)).toHaveLength(3);
  });
});

describe('stopTransformJob', () => {
  it('stops a running job and counts a Stopping one as stopped', async () => {
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobStatus: 'InProgress' });
    sm.on(StopTransformJobCommand).resolves({});
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm).toHaveReceivedCommandWith(StopTransformJobCommand, { TransformJobName: 'eval-1' });
    sm.reset();
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobStatus: 'Stopping' });
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm.commandCalls(StopTransformJobCommand)).toHaveLength(0);
  });

  it('treats a job that completed between Describe and Stop as not stopped', async () => {
    sm.on(DescribeTransformJobCommand)
      .resolvesOnce({ TransformJobStatus: 'InProgress' })
      .resolves({ TransformJobStatus: 'Completed' });
    sm.on(StopTransformJobCommand).rejects(awsError('ValidationException', 400, 'job is not in progress'));
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({
      stopped: false,
      status: 'Completed',
    });
  });
});
