import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobResponse,
  ListTagsCommand,
  SageMakerClient,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createTrainingActivities, trainingJobRequest } from '../../../activities/training';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import type { CreateTrainingJobInput, TrainingJobSnapshot } from '../../../contracts/train-model';
import { accessDenied, activityEnv, awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const sm = mockClient(SageMakerClient);
const acts = createTrainingActivities(testDeps());
const ARN = 'arn:aws:sagemaker:us-east-1:1:training-job/job-1';

const input: CreateTrainingJobInput = {
  trainingJobName: 'job-1',
  workflowId: 'wf-1/trainModel',
  definition: {
    imageUri: '1.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:abc',
    roleArn: 'arn:aws:iam::1:role/sm',
    channels: { val: 's3://b/data/val/', train: 's3://b/data/train/' },
    outputS3Uri: 's3://b/out/',
    checkpointS3Uri: 's3://b/ckpt/job-1/',
    resources: { instanceType: 'ml.p4de.24xlarge', instanceCount: 4, volumeSizeGb: 200 },
    maxRuntimeSeconds: 86_400,
    spot: { enabled: true, maxWaitSeconds: 172_800 },
    hyperparameters: { lr: '0.001', layers: '12' },
    metricDefinitions: [{ name: 'val_loss', regex: 'val_loss=([0-9.]+)' }],
    environment: { XLA_FLAGS: '--xla_gpu_enable_triton_gemm=false' },
    tags: { team: 'lm', [WORKFLOW_ID_TAG]: 'forged' },
  },
};

const job = (over: Partial<DescribeTrainingJobResponse>): DescribeTrainingJobResponse =>
  ({
    TrainingJobName: 'job-1',
    TrainingJobArn: ARN,
    TrainingJobStatus: 'InProgress',
    SecondaryStatus: 'Starting',
    ...over,
  }) as DescribeTrainingJobResponse;

beforeEach(() => sm.reset());

describe('createTrainingJob', () => {
  it('sends the full request, tagged with the workflow ID', async () => {
    sm.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: ARN });
    expect(await acts.createTrainingJob(input)).toEqual({ trainingJobArn: ARN, reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateTrainingJobCommand, {
      TrainingJobName: 'job-1',
      AlgorithmSpecification: {
        TrainingImage: input.definition.imageUri,
        TrainingInputMode: 'File',
        MetricDefinitions: [{ Name: 'val_loss', Regex: 'val_loss=([0-9.]+)' }],
      },
      RoleArn: 'arn:aws:iam::1:role/sm',
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: {
            S3DataSource: {
              S3DataType: 'S3Prefix',
              S3Uri: 's3://b/data/train/',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
        {
          ChannelName: 'val',
          DataSource: {
            S3DataSource: {
              S3DataType: 'S3Prefix',
              S3Uri: 's3://b/data/val/',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
      ],
      OutputDataConfig: { S3OutputPath: 's3://b/out/' },
      ResourceConfig: { InstanceType: 'ml.p4de.24xlarge', InstanceCount: 4, VolumeSizeInGB: 200 },
      StoppingCondition: { MaxRuntimeInSeconds: 86_400, MaxWaitTimeInSeconds: 172_800 },
      EnableManagedSpotTraining: true,
      CheckpointConfig: { S3Uri: 's3://b/ckpt/job-1/', LocalPath: '/opt/ml/checkpoints' },
      // SageMaker syncs the trainer's event files beside the job's model artefact, under the run's prefix.
      TensorBoardOutputConfig: {
        S3OutputPath: 's3://b/out/job-1/tensorboard/',
        LocalPath: '/opt/ml/output/tensorboard',
      },
      HyperParameters: { lr: '0.001', layers: '12' },
      Environment: { XLA_FLAGS: '--xla_gpu_enable_triton_gemm=false' },
      Tags: [
        { Key: 'team', Value: 'lm' },
        { Key: WORKFLOW_ID_TAG, Value: 'wf-1/trainModel' },
      ],
    });
  });

  it('leaves spot and checkpoint settings out when not asked for, and applies defaults', () => {
    const { checkpointS3Uri: _c, environment: _e, tags: _t, ...rest } = input.definition;
    const req = trainingJobRequest({ ...input, definition: { ...rest, spot: { enabled: false } } });
    expect(req.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 86_400 });
    expect(req.EnableManagedSpotTraining).toBe(false);
    expect(req.CheckpointConfig).toBeUndefined();
    expect(req.Environment).toEqual({});
    expect(req.Tags).toEqual([{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/trainModel' }]);
  });

  it("sends SageMaker's managed retries when the definition asks for them, and none otherwise", () => {
    const req = trainingJobRequest({
      ...input,
      definition: { ...input.definition, retryStrategy: { maximumRetryAttempts: 3 } },
    });
    expect(req.RetryStrategy).toEqual({ MaximumRetryAttempts: 3 });
    expect(trainingJobRequest(input).RetryStrategy).toBeUndefined();
  });

  it('re-attaches to the job when it carries our workflow ID tag', async () => {
    sm.on(CreateTrainingJobCommand).rejects(awsError('ResourceInUse', 400, 'Training job names must be unique'));
    sm.on(DescribeTrainingJobCommand).resolves(job({}));
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/trainModel' }] });
    expect(await acts.createTrainingJob(input)).toEqual({ trainingJobArn: ARN, reattached: true });
  });

  it('refuses a same-named job of another workflow', async () => {
    sm.on(CreateTrainingJobCommand).rejects(awsError('ResourceInUse'));
    sm.on(DescribeTrainingJobCommand).resolves(job({}));
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'someone-else' }] });
    await expectFailure(acts.createTrainingJob(input), 'ResourceConflict', true, /someone-else/);
  });

  it('classifies throttling, validation and access errors', async () => {
    sm.on(CreateTrainingJobCommand).rejects(throttled());
    await expectFailure(acts.createTrainingJob(input), 'AwsTransient', false, /CreateTrainingJob job-1/);
    const quota = (max: number, used: number) =>
      awsError(
        'ResourceLimitExceeded',
        400,
        `The account-level service limit 'ml.m5.large for training job usage' is ${max} Instances, with current ` +
          `utilization of ${used} Instances and a request delta of 1 Instances.`,
      );
    // Other jobs hold the quota: wait for them. No quota for the type at all: fail now, naming it.
    sm.on(CreateTrainingJobCommand).rejects(quota(2, 2));
    await expectFailure(acts.createTrainingJob(input), 'CapacityWait', false, /^waiting for capacity: 'ml.m5.large/);
    sm.on(CreateTrainingJobCommand).rejects(quota(0, 0));
    await expectFailure(
      acts.createTrainingJob(input),
      'AwsValidation',
      true,
      /quota 'ml.m5.large for training job usage'/,
    );
    sm.on(CreateTrainingJobCommand).rejects(accessDenied());
    await expectFailure(acts.createTrainingJob(input), 'AccessDenied', true);
  });

  it('fails a malformed input non-retryably', async () => {
    await expectFailure(
      acts.createTrainingJob({
        ...input,
        definition: {
          ...input.definition,
          resources: { instanceType: 'ml.m5.large', instanceCount: 0, volumeSizeGb: 1 },
        },
      }),
      'SpecInvalid',
      true,
      /instanceCount/,
    );
  });
});

describe('waitForTrainingJob', () => {
  const run = (last: { status: string; secondaryStatus: string } | null, sleeps: number[] = []) => {
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const wait = createTrainingActivities(
      testDeps({ sleep: (ms) => (sleeps.push(ms), Promise.resolve()) }),
    ).waitForTrainingJob;
    return {
      beats,
      result: env.run(wait, {
        trainingJobName: 'job-1',
        last,
        pollIntervalSeconds: 60,
      }) as Promise<TrainingJobSnapshot>,
    };
  };

  it('returns the first snapshot when nothing was seen yet', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(
      job({
        SecondaryStatusTransitions: [
          { Status: 'Starting', StartTime: new Date(), StatusMessage: 'Preparing the instances' },
        ],
      }),
    );
    expect(await run(null).result).toEqual({
      trainingJobName: 'job-1',
      status: 'InProgress',
      secondaryStatus: 'Starting',
      statusMessage: 'Preparing the instances',
      finalMetrics: {},
      billableSeconds: null,
    });
  });

  it('keeps polling (and heartbeating) while nothing changes', async () => {
    sm.on(DescribeTrainingJobCommand)
      .resolvesOnce(job({ SecondaryStatus: 'Training' }))
      .resolvesOnce(job({ SecondaryStatus: 'Training' }))
      .resolves(job({ SecondaryStatus: 'Uploading' }));
    const sleeps: number[] = [];
    const { beats, result } = run({ status: 'InProgress', secondaryStatus: 'Training' }, sleeps);
    expect((await result).secondaryStatus).toBe('Uploading');
    expect(sm).toHaveReceivedCommandTimes(DescribeTrainingJobCommand, 3);
    // One interval before each of the three calls: the status was known when the wait started.
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(180_000);
    expect(beats).toContainEqual(expect.objectContaining({ status: 'InProgress', secondaryStatus: 'Training' }));
  });

  it(
    'after a status change waits one interval before ' + 'describing again, so a job costs one Describe per interval',
    async () => {
      const order: string[] = [];
      sm.on(DescribeTrainingJobCommand).callsFake(
        () => (order.push('describe'), job({ SecondaryStatus: 'Uploading' })),
      );
      const env = activityEnv();
      const wait = createTrainingActivities(
        testDeps({ sleep: async (ms) => void order.push(`sleep ${ms}`) }),
      ).waitForTrainingJob;
      await env.run(wait, {
        trainingJobName: 'job-1',
        last: { status: 'InProgress', secondaryStatus: 'Training' },
        pollIntervalSeconds: 60,
      });
      expect(order.filter((o) => o === 'describe')).toHaveLength(1);
      expect(order.indexOf('describe')).toBeGreaterThan(0);
      expect(order.slice(0, order.indexOf('describe')).reduce((ms, o) => ms + Number(o.split(' ')[1]), 0)).toBe(60_000);
    },
  );

  it('describes at once when nothing was seen yet (the first wait shows the job straight away)', async () => {
    const order: string[] = [];
    sm.on(DescribeTrainingJobCommand).callsFake(() => (order.push('describe'), job({})));
    const env = activityEnv();
    const wait = createTrainingActivities(
      testDeps({ sleep: async (ms) => void order.push(`sleep ${ms}`) }),
    ).waitForTrainingJob;
    await env.run(wait, { trainingJobName: 'job-1', last: null, pollIntervalSeconds: 60 });
    expect(order).toEqual(['describe']);
  });

  it('returns a terminal job with its artefact, metrics, failure reason and billable time', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(
      job({
        TrainingJobStatus: 'Failed',
        SecondaryStatus: 'Failed',
        FailureReason: 'AlgorithmError: loss is NaN',
        ModelArtifacts: { S3ModelArtifacts: 's3://b/out/job-1/output/model.tar.gz' },
        FinalMetricDataList: [{ MetricName: 'val_loss', Value: 2.5, Timestamp: new Date() }],
        BillableTimeInSeconds: 1234,
      }),
    );
    expect(await run({ status: 'Failed', secondaryStatus: 'Failed' }).result).toEqual({
      trainingJobName: 'job-1',
      status: 'Failed',
      secondaryStatus: 'Failed',
      failureReason: 'AlgorithmError: loss is NaN',
      modelArtifactS3Uri: 's3://b/out/job-1/output/model.tar.gz',
      finalMetrics: { val_loss: 2.5 },
      billableSeconds: 1234,
    });
  });

  it('classifies failures', async () => {
    sm.on(DescribeTrainingJobCommand).rejects(throttled());
    await expectFailure(run(null).result, 'AwsTransient', false);
    sm.on(DescribeTrainingJobCommand).rejects(awsError('ValidationException', 400, 'Requested resource not found.'));
    await expectFailure(run(null).result, 'AwsValidation', true, /not found/);
  });
});

describe('stopTrainingJob', () => {
  it('stops a running job', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job({}));
    sm.on(StopTrainingJobCommand).resolves({});
    expect(await acts.stopTrainingJob({ trainingJobName: 'job-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm).toHaveReceivedCommandWith(StopTrainingJobCommand, { TrainingJobName: 'job-1' });
  });

  it('does not stop a job that ended, nor stop twice', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job({ TrainingJobStatus: 'Completed' }));
    expect(await acts.stopTrainingJob({ trainingJobName: 'job-1' })).toEqual({ stopped: false, status: 'Completed' });
    sm.on(DescribeTrainingJobCommand).resolves(job({ TrainingJobStatus: 'Stopping' }));
    expect(await acts.stopTrainingJob({ trainingJobName: 'job-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm).not.toHaveReceivedCommand(StopTrainingJobCommand);
  });

  it('tolerates a job that ends between describe and stop', async () => {
    sm.on(DescribeTrainingJobCommand)
      .resolvesOnce(job({}))
      .resolves(job({ TrainingJobStatus: 'Failed' }));
    sm.on(StopTrainingJobCommand).rejects(invalid());
    expect(await acts.stopTrainingJob({ trainingJobName: 'job-1' })).toEqual({ stopped: false, status: 'Failed' });
  });

  it('classifies failures', async () => {
    sm.on(DescribeTrainingJobCommand).resolves(job({}));
    sm.on(StopTrainingJobCommand).rejects(throttled());
    await expectFailure(acts.stopTrainingJob({ trainingJobName: 'job-1' }), 'AwsTransient', false);
    sm.on(StopTrainingJobCommand).rejects(accessDenied());
    await expectFailure(acts.stopTrainingJob({ trainingJobName: 'job-1' }), 'AccessDenied', true);
  });
});
