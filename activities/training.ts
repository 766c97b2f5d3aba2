/**
 * SageMaker training jobs: create once (a retried create re-attaches to the job our workflow ID tag proves is
 * ours), wait from a heartbeating loop that returns on every status change, and stop on cancellation.
 */
import {
  type CreateTrainingJobRequest,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobResponse,
  StopTrainingJobCommand,
  type TrainingInstanceType,
} from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import {
  CreateTrainingJobInput,
  type CreateTrainingJobOutput,
  type StopTrainingJobInput,
  type StopTrainingJobOutput,
  type TrainingJobSnapshot,
  TrainingJobStatus,
  type WaitTrainingJobInput,
} from '../contracts/train-model';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { createOrReattach, stopSageMakerJob, waitForJobChange } from './sagemaker-job';
import { sageMakerTags } from './sagemaker-owner';

/** Where SageMaker syncs `CheckpointConfig.S3Uri` inside the container; the trainer resumes from here. */
export const CHECKPOINT_LOCAL_PATH = '/opt/ml/checkpoints';
/** Where the trainer writes TensorBoard event files; SageMaker syncs it to `TensorBoardOutputConfig.S3OutputPath`. */
export const TENSORBOARD_LOCAL_PATH = '/opt/ml/output/tensorboard';

/**
 * Where a training job's TensorBoard files land: beside its model artefact under the run's output prefix
 * (`<outputS3Uri><job>/tensorboard/`), so `tensorboard --logdir <outputS3Uri>` shows every job of the run.
 */
export function tensorBoardS3Uri(outputS3Uri: string, trainingJobName: string): string {
  return `${outputS3Uri.replace(/\/+$/, '')}/${trainingJobName}/tensorboard/`;
}

/** The CreateTrainingJob request for a training definition (also what a tuning job's definition mirrors). */
export function trainingJobRequest(raw: CreateTrainingJobInput): CreateTrainingJobRequest {
  const {
    trainingJobName,
    workflowId,
    definition: d,
  } = parseInput(CreateTrainingJobInput, raw, 'createTrainingJob input');
  const channels = Object.keys(d.channels).sort();
  return {
    TrainingJobName: trainingJobName,
    AlgorithmSpecification: {
      TrainingImage: d.imageUri,
      TrainingInputMode: 'File',
      MetricDefinitions: d.metricDefinitions.map((m) => ({ Name: m.name, Regex: m.regex })),
    },
    RoleArn: d.roleArn,
    InputDataConfig: channels.map((name) => ({
      ChannelName: name,
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: d.channels[name] as string,
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    })),
    OutputDataConfig: { S3OutputPath: d.outputS3Uri },
    ResourceConfig: {
      InstanceType: d.resources.instanceType as TrainingInstanceType,
      InstanceCount: d.resources.instanceCount,
      VolumeSizeInGB: d.resources.volumeSizeGb,
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: d.maxRuntimeSeconds,
      // Spot waits count against MaxWaitTimeInSeconds, which SageMaker requires (>= MaxRuntime) when spot is on.
      ...(d.spot.enabled ? { MaxWaitTimeInSeconds: d.spot.maxWaitSeconds ?? d.maxRuntimeSeconds } : {}),
    },
    EnableManagedSpotTraining: d.spot.enabled,
    ...(d.checkpointS3Uri ? { CheckpointConfig: { S3Uri: d.checkpointS3Uri, LocalPath: CHECKPOINT_LOCAL_PATH } } : {}),
    TensorBoardOutputConfig: {
      S3OutputPath: tensorBoardS3Uri(d.outputS3Uri, trainingJobName),
      LocalPath: TENSORBOARD_LOCAL_PATH,
    },
    HyperParameters: d.hyperparameters,
    Environment: d.environment,
    ...(d.retryStrategy ? { RetryStrategy: { MaximumRetryAttempts: d.retryStrategy.maximumRetryAttempts } } : {}),
    Tags: sageMakerTags(workflowId, d.tags),
  };
}

/** What the waiting loop reports: the job's status, secondary status, verdict and metrics. */
export function toSnapshot(job: DescribeTrainingJobResponse): TrainingJobSnapshot {
  const status = TrainingJobStatus.safeParse(job.TrainingJobStatus);
  if (!status.success)
    throw failure(
      ErrorType.AwsValidation,
      `training job ${job.TrainingJobName ?? '?'} has unknown status ${String(job.TrainingJobStatus)}`,
    );
  const finalMetrics: Record<string, number> = {};
  for (const m of job.FinalMetricDataList ?? [])
    if (m.MetricName && m.Value !== undefined) finalMetrics[m.MetricName] = m.Value;
  return {
    trainingJobName: job.TrainingJobName ?? '',
    status: status.data,
    secondaryStatus: job.SecondaryStatus ?? '',
    ...(job.SecondaryStatusTransitions?.length
      ? { statusMessage: job.SecondaryStatusTransitions.at(-1)?.StatusMessage }
      : {}),
    ...(job.FailureReason ? { failureReason: job.FailureReason } : {}),
    ...(job.ModelArtifacts?.S3ModelArtifacts ? { modelArtifactS3Uri: job.ModelArtifacts.S3ModelArtifacts } : {}),
    finalMetrics,
    billableSeconds: job.BillableTimeInSeconds ?? null,
  };
}

/** Builds the training job activities. */
export function createTrainingActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;

  const describe = (name: string) =>
    aws(`DescribeTrainingJob ${name}`, () => sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name })));

  return {
    /**
     * Creates the training job. If the name is taken, the job is ours only when it carries our workflow ID tag:
     * then this is a retried create and we re-attach; otherwise it is a conflict nobody should retry.
     */
    async createTrainingJob(input: CreateTrainingJobInput): Promise<CreateTrainingJobOutput> {
      const request = trainingJobRequest(input);
      const name = input.trainingJobName;
      const job = await createOrReattach(
        deps,
        { action: `CreateTrainingJob ${name}`, what: `training job ${name}`, workflowId: input.workflowId },
        async () => (await sm.send(new CreateTrainingJobCommand(request))).TrainingJobArn,
        async () => (await describe(name)).TrainingJobArn,
      );
      return { trainingJobArn: job.arn, reattached: job.reattached };
    },

    /** Polls the job until its (status, secondaryStatus) differs from `last` or it is terminal (waitForJobChange). */
    async waitForTrainingJob(input: WaitTrainingJobInput): Promise<TrainingJobSnapshot> {
      return waitForJobChange(
        deps,
        input,
        async () => toSnapshot(await describe(input.trainingJobName)),
        (last, now) => last.status !== now.status || last.secondaryStatus !== now.secondaryStatus,
      );
    },

    /** Stops the job unless it already ended (stopSageMakerJob: a Stopping job counts as stopped). */
    async stopTrainingJob(input: StopTrainingJobInput): Promise<StopTrainingJobOutput> {
      const name = input.trainingJobName;
      return stopSageMakerJob(
        `StopTrainingJob ${name}`,
        async () => (await describe(name)).TrainingJobStatus,
        () => sm.send(new StopTrainingJobCommand({ TrainingJobName: name })),
      );
    },
  };
}
