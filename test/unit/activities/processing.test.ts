import {
  CreateProcessingJobCommand,
  DescribeProcessingJobCommand,
  ListTagsCommand,
  SageMakerClient,
  StopProcessingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createProcessingActivities } from '../../../activities/processing';
import type { CreateProcessingJobInput, ProcessingJobSnapshot } from '../../../contracts/prepare-data';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { activityEnv, awsError, expectFailure, testDeps, throttled } from './helpers';

const sm = mockClient(SageMakerClient);
const acts = createProcessingActivities(testDeps());
const ARN = 'arn:aws:sagemaker:us-east-1:1:processing-job/prep-1';

const input: CreateProcessingJobInput = {
  processingJobName: 'prep-1',
  workflowId: 'wf-1/prepareData',
  definition: {
    imageUri: '1.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:abc',
    roleArn: 'arn:aws:iam::1:role/sm',
    inputS3Uri: 's3://b/pipelines/p/data/',
    outputS3Uri: 's3://b/pipelines/p/prepared/prep-1/',
    arguments: ['--val-fraction', '0.2'],
    resources: { instanceType: 'ml.m5.xlarge', instanceCount: 1, volumeSizeGb: 30 },
    maxRuntimeSeconds: 3600,
    tags: { team: 'lm' },
  },
};

beforeEach(() => sm.reset());

describe('createProcessingJob', () => {
  it("runs the image's prepare on the synced data and writes train, val and eval under the run's prefix", async () => {
    sm.on(CreateProcessingJobCommand).resolves({ ProcessingJobArn: ARN });
    expect(await acts.createProcessingJob(input)).toEqual({ processingJobArn: ARN, reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateProcessingJobCommand, {
      ProcessingJobName: 'prep-1',
      AppSpecification: {
        ImageUri: input.definition.imageUri,
        ContainerEntrypoint: ['prepare'],
        ContainerArguments: ['--val-fraction', '0.2'],
      },
      RoleArn: 'arn:aws:iam::1:role/sm',
      ProcessingInputs: [
        {
          InputName: 'raw',
          S3Input: {
            S3Uri: 's3://b/pipelines/p/data/',
            LocalPath: '/opt/ml/processing/input/raw',
            S3DataType: 'S3Prefix',
            S3InputMode: 'File',
            S3DataDistributionType: 'FullyReplicated',
          },
        },
      ],
      ProcessingOutputConfig: {
        Outputs: ['train', 'val', 'eval'].map((name) => ({
          OutputName: name,
          S3Output: {
            S3Uri: `s3://b/pipelines/p/prepared/prep-1/${name}/`,
            LocalPath: `/opt/ml/processing/output/${name}`,
            S3UploadMode: 'EndOfJob',
          },
        })),
      },
      ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 } },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      Tags: [
        { Key: 'team', Value: 'lm' },
        { Key: WORKFLOW_ID_TAG, Value: 'wf-1/prepareData' },
      ],
    });
  });

  it('sends no input with --source builtin, and no ContainerArguments when there are none', async () => {
    sm.on(CreateProcessingJobCommand).resolves({ ProcessingJobArn: ARN });
    await acts.createProcessingJob({ ...input, definition: { ...input.definition, inputS3Uri: null, arguments: [] } });
    const sent = sm.commandCalls(CreateProcessingJobCommand)[0]?.args[0].input;
    expect(sent?.ProcessingInputs).toBeUndefined();
    expect(sent?.AppSpecification).toEqual({ ImageUri: input.definition.imageUri, ContainerEntrypoint: ['prepare'] });
  });

  it('re-attaches to a job of the same name that carries our workflow ID tag', async () => {
    sm.on(CreateProcessingJobCommand).rejects(awsError('ResourceInUse', 400, 'Job name already exists'));
    sm.on(DescribeProcessingJobCommand).resolves({ ProcessingJobArn: ARN, ProcessingJobStatus: 'InProgress' });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/prepareData' }] });
    expect(await acts.createProcessingJob(input)).toEqual({ processingJobArn: ARN, reattached: true });
  });

  it('refuses a job of the same name that another workflow created', async () => {
    sm.on(CreateProcessingJobCommand).rejects(awsError('ResourceInUse', 400, 'Job name already exists'));
    sm.on(DescribeProcessingJobCommand).resolves({ ProcessingJobArn: ARN, ProcessingJobStatus: 'InProgress' });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'someone-else' }] });
    await expectFailure(acts.createProcessingJob(input), 'ResourceConflict', true, /someone-else/);
  });

  it('retries throttling', async () => {
    sm.on(CreateProcessingJobCommand).rejects(throttled());
    await expectFailure(acts.createProcessingJob(input), 'AwsTransient', false);
  });
});

describe('waitForProcessingJob', () => {
  const run = (last: { status: string } | null) =>
    activityEnv().run(acts.waitForProcessingJob, {
      processingJobName: 'prep-1',
      last,
      pollIntervalSeconds: 60,
    }) as Promise<ProcessingJobSnapshot>;

  it('returns on a status change with FailureReason and ExitMessage', async () => {
    sm.on(DescribeProcessingJobCommand)
      .resolvesOnce({ ProcessingJobName: 'prep-1', ProcessingJobStatus: 'InProgress' })
      .resolves({
        ProcessingJobName: 'prep-1',
        ProcessingJobStatus: 'Failed',
        FailureReason: 'AlgorithmError: See job logs for more information',
        ExitMessage: 'ValueError: no text files under /opt/ml/processing/input/raw',
      });
    expect(await run({ status: 'InProgress' })).toEqual({
      processingJobName: 'prep-1',
      status: 'Failed',
      failureReason: 'AlgorithmError: See job logs for more information',
      exitMessage: 'ValueError: no text files under /opt/ml/processing/input/raw',
    });
    expect(sm.commandCalls(DescribeProcessingJobCommand)).toHaveLength(2);
  });
});

describe('stopProcessingJob', () => {
  it('stops a running job', async () => {
    sm.on(DescribeProcessingJobCommand).resolves({ ProcessingJobStatus: 'InProgress' });
    sm.on(StopProcessingJobCommand).resolves({});
    expect(await acts.stopProcessingJob({ processingJobName: 'prep-1' })).toEqual({
      stopped: true,
      status: 'Stopping',
    });
    expect(sm).toHaveReceivedCommandWith(StopProcessingJobCommand, { ProcessingJobName: 'prep-1' });
  });

  it('does nothing for a job that already ended or was never created', async () => {
    sm.on(DescribeProcessingJobCommand).resolves({ ProcessingJobStatus: 'Completed' });
    expect(await acts.stopProcessingJob({ processingJobName: 'prep-1' })).toEqual({
      stopped: false,
      status: 'Completed',
    });
    sm.reset();
    sm.on(DescribeProcessingJobCommand).rejects(awsError('ValidationException', 400, 'Could not find job'));
    expect(await acts.stopProcessingJob({ processingJobName: 'prep-1' })).toEqual({
      stopped: false,
      status: 'NotFound',
    });
    expect(sm.commandCalls(StopProcessingJobCommand)).toHaveLength(0);
  });
});
