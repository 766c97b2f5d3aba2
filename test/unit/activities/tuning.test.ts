import {
  CreateHyperParameterTuningJobCommand,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  SageMakerClient,
  StopHyperParameterTuningJobCommand,
} from '@aws-sdk/client-sagemaker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mockClient } from 'aws-sdk-client-mock';
import { createTuningActivities } from '../../../activities/tuning';
import type { CreateTuningJobInput, TuningJobSnapshot } from '../../../contracts/tune-model';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const sm = mockClient(SageMakerClient);
const acts = createTuningActivities(testDeps());
const NAME = 'run-1-tune-abcdef12';
const ARN = `arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/${NAME}`;

const input: CreateTuningJobInput = {
  tuningJobName: NAME,
  workflowId: 'wf-1',
  definition: {
    imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + 'a'.repeat(64),
    roleArn: 'arn:aws:iam::123456789012:role/sm',
    channels: { train: 's3://b/data/train', val: 's3://b/data/val' },
    outputS3Uri: 's3://b/out',
    checkpointS3Uri: 's3://b/ckpt',
    resources: { instanceType: 'ml.p4de.24xlarge', instanceCount: 4, volumeSizeGb: 500 },
    maxRuntimeSeconds: 86400,
    spot: { enabled: false },
    hyperparameters: { epochs: '3', learning_rate: '0.001' },
    metricDefinitions: [{ name: 'val_loss', regex: 'val_loss=([0-9.]+)' }],
  },
  tuning: {
    strategy: 'Bayesian',
    ranges: {
      continuous: [{ name: 'learning_rate', min: 0.0001, max: 0.01, scaling: 'Logarithmic' }],
      integer: [{ name: 'layers', min: 2, max: 8 }],
      categorical: [{ name: 'optimizer', values: ['adamw', 'lion'] }],
    },
    objective: { metricName: 'val_loss', type: 'Minimize' },
    maxJobs: 20,
    maxParallelJobs: 4,
    earlyStopping: 'Auto',
    warmStart: { parentTuningJobs: ['prev-tune'], type: 'IdenticalDataAndAlgorithm' },
    resources: { instanceType: 'ml.g5.12xlarge', instanceCount: 1 },
    maxRuntimeSeconds: 7200,
  },
};

function described(
  over: Partial<DescribeHyperParameterTuningJobCommandOutput> = {},
): DescribeHyperParameterTuningJobCommandOutput {
  return {
    $metadata: {},
    HyperParameterTuningJobName: NAME,
    HyperParameterTuningJobArn: ARN,
    HyperParameterTuningJobStatus: 'InProgress',
    HyperParameterTuningJobConfig: {
      Strategy: 'Bayesian',
      ResourceLimits: { MaxParallelTrainingJobs: 4 },
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'val_loss' },
    },
    CreationTime: new Date(0),
    TrainingJobStatusCounters: { Completed: 0, InProgress: 2, RetryableError: 0, NonRetryableError: 0, Stopped: 0 },
    ObjectiveStatusCounters: {},
    ...over,
  };
}

const best = {
  TrainingJobName: `${NAME}-007`,
  TrainingJobArn: 'arn:tj',
  CreationTime: new Date(0),
  TrainingJobStatus: 'Completed' as const,
  TunedHyperParameters: { learning_rate: '0.003', layers: '6', optimizer: 'lion' },
  FinalHyperParameterTuningJobObjectiveMetric: { MetricName: 'val_loss', Value: 1.25 },
};

beforeEach(() => sm.reset());

describe('createTuningJob', () => {
  it('sends the spec as HyperParameterTuningJobConfig and a training definition reusing trainModel’s', async () => {
    sm.on(CreateHyperParameterTuningJobCommand).resolves({ HyperParameterTuningJobArn: ARN });
    await expect(acts.createTuningJob(input)).resolves.toEqual({ tuningJobArn: ARN, reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateHyperParameterTuningJobCommand, {
      HyperParameterTuningJobName: NAME,
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'val_loss' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 4 },
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'learning_rate', MinValue: '0.0001', MaxValue: '0.01', ScalingType: 'Logarithmic' },
          ],
          IntegerParameterRanges: [{ Name: 'layers', MinValue: '2', MaxValue: '8', ScalingType: 'Auto' }],
          CategoricalParameterRanges: [{ Name: 'optimizer', Values: ['adamw', 'lion'] }],
        },
        TrainingJobEarlyStoppingType: 'Auto',
      },
      WarmStartConfig: {
        ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'prev-tune' }],
        WarmStartType: 'IdenticalDataAndAlgorithm',
      },
      Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1' }],
    });
    const def = sm.commandCalls(CreateHyperParameterTuningJobCommand)[0]!.args[0].input.TrainingJobDefinition!;
    expect(def.StaticHyperParameters).toEqual({ epochs: '3' }); // the tuned learning_rate is not static
    expect(def.AlgorithmSpecification).toEqual({
      TrainingImage: input.definition.imageUri,
      TrainingInputMode: 'File',
      MetricDefinitions: [{ Name: 'val_loss', Regex: 'val_loss=([0-9.]+)' }],
    });
    expect(def.ResourceConfig).toEqual({ InstanceType: 'ml.g5.12xlarge', InstanceCount: 1, VolumeSizeInGB: 500 });
    expect(def.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 7200, MaxWaitTimeInSeconds: undefined });
    expect(def.InputDataConfig?.map((c) => c.ChannelName)).toEqual(['train', 'val']);
    expect(def.CheckpointConfig).toEqual({ S3Uri: 's3://b/ckpt' });
  });

  it('leaves MaxNumberOfTrainingJobs out for Grid search', async () => {
    sm.on(CreateHyperParameterTuningJobCommand).resolves({ HyperParameterTuningJobArn: ARN });
    const grid = {
      ...input,
      tuning: {
        ...input.tuning,
        strategy: 'Grid' as const,
        ranges: { categorical: [{ name: 'optimizer', values: ['a', 'b'] }] },
      },
    };
    await acts.createTuningJob(grid);
    const config = sm.commandCalls(CreateHyperParameterTuningJobCommand)[0]!.args[0].input
      .HyperParameterTuningJobConfig!;
    expect(config.ResourceLimits).toEqual({ MaxNumberOfTrainingJobs: undefined, MaxParallelTrainingJobs: 4 });
  });

  it('re-attaches on ResourceInUse when the job carries our workflow ID tag', async () => {
    sm.on(CreateHyperParameterTuningJobCommand).rejects(awsError('ResourceInUse', 400, 'Tuning job already exists'));
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(described());
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1' }] });
    await expect(acts.createTuningJob(input)).resolves.toEqual({ tuningJobArn: ARN, reattached: true });
    expect(sm).toHaveReceivedCommandWith(ListTagsCommand, { ResourceArn: ARN });
  });

  it('refuses a same-named job of another workflow with ResourceConflict', async () => {
    sm.on(CreateHyperParameterTuningJobCommand).rejects(awsError('ResourceInUse'));
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(described());
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'someone-else' }] });
    await expectFailure(acts.createTuningJob(input), 'ResourceConflict', true, /someone-else/);
  });

  it('throttling is retryable, validation is not', async () => {
    sm.on(CreateHyperParameterTuningJobCommand).rejectsOnce(throttled()).rejectsOnce(invalid());
    await expectFailure(acts.createTuningJob(input), 'AwsTransient', false);
    await expectFailure(acts.createTuningJob(input), 'AwsValidation', true, /CreateHyperParameterTuningJob/);
  });
});

describe('waitForTuningJob', () => {
  it('heartbeats counters and best objective, returning only when the status changes', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand)
      .resolvesOnce(described())
      .resolvesOnce(described({ TrainingJobStatusCounters: { Completed: 1, InProgress: 2 }, BestTrainingJob: best }))
      .resolves(
        described({
          HyperParameterTuningJobStatus: 'Completed',
          TrainingJobStatusCounters: { Completed: 3 },
          BestTrainingJob: best,
        }),
      );
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const snap = await env.run(acts.waitForTuningJob, {
      tuningJobName: NAME,
      last: { status: 'InProgress' },
      pollIntervalSeconds: 1,
    });
    expect(snap).toEqual({
      tuningJobName: NAME,
      status: 'Completed',
      counters: { completed: 3, inProgress: 0, retryableError: 0, nonRetryableError: 0, stopped: 0 },
      bestObjective: 1.25,
      bestTrainingJobName: `${NAME}-007`,
    });
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.at(-1)).toMatchObject({
      status: 'InProgress',
      bestObjective: 1.25,
      counters: { completed: 1, inProgress: 2 },
    });
  });

  it('returns at once with no previous status', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(described());
    const snap: TuningJobSnapshot = await new MockActivityEnvironment().run(acts.waitForTuningJob, {
      tuningJobName: NAME,
      last: null,
      pollIntervalSeconds: 60,
    });
    expect(snap.status).toBe('InProgress');
    expect(sm).toHaveReceivedCommandTimes(DescribeHyperParameterTuningJobCommand, 1);
  });

  it('a throttled describe fails retryably', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).rejects(throttled());
    await expectFailure(
      new MockActivityEnvironment().run(acts.waitForTuningJob, {
        tuningJobName: NAME,
        last: null,
        pollIntervalSeconds: 1,
      }),
      'AwsTransient',
      false,
    );
  });
});

describe('describeTuningResult', () => {
  it('returns the best trial with its model artefact and merged hyperparameters', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(
      described({
        HyperParameterTuningJobStatus: 'Completed',
        TrainingJobStatusCounters: { Completed: 4 },
        BestTrainingJob: best,
      }),
    );
    sm.on(DescribeTrainingJobCommand).resolves({
      ModelArtifacts: { S3ModelArtifacts: 's3://b/out/007/model.tar.gz' },
      HyperParameters: { epochs: '3', ...best.TunedHyperParameters },
    });
    const r = await acts.describeTuningResult({ tuningJobName: NAME, staticHyperparameters: { epochs: '3' } });
    expect(r).toEqual({
      tuningJobName: NAME,
      bestTrainingJobName: `${NAME}-007`,
      tunedHyperparameters: best.TunedHyperParameters,
      hyperparameters: { epochs: '3', learning_rate: '0.003', layers: '6', optimizer: 'lion' },
      objectiveMetric: 'val_loss',
      objectiveValue: 1.25,
      modelArtifactS3Uri: 's3://b/out/007/model.tar.gz',
      counters: { completed: 4, inProgress: 0, retryableError: 0, nonRetryableError: 0, stopped: 0 },
    });
    expect(sm).toHaveReceivedCommandWith(DescribeTrainingJobCommand, { TrainingJobName: `${NAME}-007` });
  });

  it('fails with TuningFailed, summarising the trials’ failure reasons, when no trial succeeded', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(
      described({
        HyperParameterTuningJobStatus: 'Failed',
        FailureReason: 'All training jobs failed',
        TrainingJobStatusCounters: { NonRetryableError: 3 },
      }),
    );
    const oom = 'AlgorithmError: CUDA out of memory';
    sm.on(ListTrainingJobsForHyperParameterTuningJobCommand)
      .resolvesOnce({
        TrainingJobSummaries: [
          { ...best, TrainingJobName: 't1', TrainingJobStatus: 'Failed', FailureReason: oom },
          { ...best, TrainingJobName: 't2', TrainingJobStatus: 'Failed', FailureReason: oom },
        ],
        NextToken: 'p2',
      })
      .resolvesOnce({
        TrainingJobSummaries: [
          { ...best, TrainingJobName: 't3', TrainingJobStatus: 'Failed', FailureReason: 'ClientError: bad channel' },
        ],
      });
    const f = await expectFailure(
      acts.describeTuningResult({ tuningJobName: NAME }),
      'TuningFailed',
      true,
      /no trial succeeded/,
    );
    expect(f.message).toContain(`2× ${oom}; 1× ClientError: bad channel`);
    expect(f.message).toContain('All training jobs failed');
    expect(sm).toHaveReceivedCommandWith(ListTrainingJobsForHyperParameterTuningJobCommand, {
      HyperParameterTuningJobName: NAME,
      NextToken: 'p2',
    });
  });
});

describe('stopTuningJob', () => {
  it('stops a running job', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).resolves(described());
    sm.on(StopHyperParameterTuningJobCommand).resolves({});
    await expect(acts.stopTuningJob({ tuningJobName: NAME })).resolves.toEqual({ stopped: true, status: 'Stopping' });
    expect(sm).toHaveReceivedCommandWith(StopHyperParameterTuningJobCommand, { HyperParameterTuningJobName: NAME });
  });

  it('tolerates a terminal job, and one that finished between describe and stop', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).resolvesOnce(
      described({ HyperParameterTuningJobStatus: 'Completed' }),
    );
    await expect(acts.stopTuningJob({ tuningJobName: NAME })).resolves.toEqual({ stopped: false, status: 'Completed' });
    expect(sm).not.toHaveReceivedCommand(StopHyperParameterTuningJobCommand);

    sm.reset();
    sm.on(DescribeHyperParameterTuningJobCommand)
      .resolvesOnce(described())
      .resolves(described({ HyperParameterTuningJobStatus: 'Completed' }));
    sm.on(StopHyperParameterTuningJobCommand).rejects(awsError('ValidationException', 400, 'job is not in progress'));
    await expect(acts.stopTuningJob({ tuningJobName: NAME })).resolves.toEqual({ stopped: false, status: 'Completed' });
  });
});
