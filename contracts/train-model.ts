/** Step 4, trainModel: inputs and outputs, and the job snapshot the waiting activity reports. */
import { z } from 'zod';

export const MetricDefinition = z.strictObject({ name: z.string(), regex: z.string() });
export const ResourceConfig = z.strictObject({
  instanceType: z.string(),
  instanceCount: z.number().int().min(1),
  volumeSizeGb: z.number().int().min(1),
});
export type ResourceConfig = z.infer<typeof ResourceConfig>;

/** Everything CreateTrainingJob needs (also the training definition a tuning job reuses). */
export const TrainingDefinition = z.strictObject({
  imageUri: z.string(),
  roleArn: z.string(),
  channels: z.record(z.string(), z.string()),
  outputS3Uri: z.string(),
  checkpointS3Uri: z.string().optional(),
  resources: ResourceConfig,
  maxRuntimeSeconds: z.number().int().min(1),
  spot: z.strictObject({ enabled: z.boolean(), maxWaitSeconds: z.number().int().optional() }),
  /** Already strings: SageMaker takes hyperparameters as a string map. */
  hyperparameters: z.record(z.string(), z.string()),
  metricDefinitions: z.array(MetricDefinition),
  environment: z.record(z.string(), z.string()).default({}),
  tags: z.record(z.string(), z.string()).default({}),
  /** SageMaker's managed retries (RetryStrategy): a job that fails for an internal reason is started again. */
  retryStrategy: z.strictObject({ maximumRetryAttempts: z.number().int().min(1).max(30) }).optional(),
});
export type TrainingDefinition = z.input<typeof TrainingDefinition>;

/** Input of the trainModel step workflow. */
export const TrainModelInput = z.strictObject({
  trainingJobName: z.string().max(63),
  definition: TrainingDefinition,
  objectiveMetric: z.string().default('val_loss'),
  pollIntervalSeconds: z.number().int().min(1).default(60),
});
export type TrainModelInput = z.input<typeof TrainModelInput>;

/** Output of trainModel. */
export const TrainModelOutput = z.strictObject({
  trainingJobName: z.string(),
  trainingJobArn: z.string(),
  modelArtifactS3Uri: z.string(),
  finalMetrics: z.record(z.string(), z.number()),
  objectiveValue: z.number().nullable(),
  billableSeconds: z.number().nullable(),
  reattached: z.boolean(),
});
export type TrainModelOutput = z.infer<typeof TrainModelOutput>;

export const CreateTrainingJobInput = z.strictObject({
  trainingJobName: z.string(),
  workflowId: z.string(),
  definition: TrainingDefinition,
});
export type CreateTrainingJobInput = z.input<typeof CreateTrainingJobInput>;
/** `reattached` is true when the job already existed with our workflow ID tag. */
export const CreateTrainingJobOutput = z.strictObject({ trainingJobArn: z.string(), reattached: z.boolean() });
export type CreateTrainingJobOutput = z.infer<typeof CreateTrainingJobOutput>;

export const TrainingJobStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);
/** What DescribeTrainingJob said last; returned when the status or secondary status changes. */
export const TrainingJobSnapshot = z.strictObject({
  trainingJobName: z.string(),
  status: TrainingJobStatus,
  secondaryStatus: z.string(),
  statusMessage: z.string().optional(),
  failureReason: z.string().optional(),
  modelArtifactS3Uri: z.string().optional(),
  finalMetrics: z.record(z.string(), z.number()).default({}),
  billableSeconds: z.number().nullable().default(null),
});
export type TrainingJobSnapshot = z.infer<typeof TrainingJobSnapshot>;

/** Waits until the job's (status, secondaryStatus) differs from `last`, or it is terminal. */
export const WaitTrainingJobInput = z.strictObject({
  trainingJobName: z.string(),
  last: z.strictObject({ status: z.string(), secondaryStatus: z.string() }).nullable(),
  pollIntervalSeconds: z.number().int().min(1),
});
export type WaitTrainingJobInput = z.infer<typeof WaitTrainingJobInput>;

export const StopTrainingJobInput = z.strictObject({ trainingJobName: z.string() });
export type StopTrainingJobInput = z.infer<typeof StopTrainingJobInput>;
/** `stopped` is false when the job was already terminal. */
export const StopTrainingJobOutput = z.strictObject({ stopped: z.boolean(), status: z.string() });
export type StopTrainingJobOutput = z.infer<typeof StopTrainingJobOutput>;

/** The last lines of a SageMaker job's CloudWatch log streams (`/aws/sagemaker/TrainingJobs`, one stream per host). */
export const LogTailInput = z.strictObject({
  logGroup: z.string(),
  streamPrefix: z.string(),
  lines: z.number().int().min(1).max(200),
});
export type LogTailInput = z.infer<typeof LogTailInput>;
export const LogTailOutput = z.strictObject({ lines: z.array(z.string()) });
export type LogTailOutput = z.infer<typeof LogTailOutput>;
