/** Step 5, tuneModel: inputs and outputs of the step workflow and its activities. */
import { z } from 'zod';
import { ResourceConfig, TrainingDefinition } from './train-model';

/** How SageMaker samples a range (`Auto` lets it choose). */
export const ScalingType = z.enum(['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic']);

/** The hyperparameter ranges a tuning job searches (SageMaker's ParameterRanges, numbers unstringified). */
export const TuningRanges = z.strictObject({
  continuous: z
    .array(z.strictObject({ name: z.string(), min: z.number(), max: z.number(), scaling: ScalingType.default('Auto') }))
    .default([]),
  integer: z
    .array(
      z.strictObject({
        name: z.string(),
        min: z.number().int(),
        max: z.number().int(),
        scaling: ScalingType.default('Auto'),
      }),
    )
    .default([]),
  categorical: z.array(z.strictObject({ name: z.string(), values: z.array(z.string()).min(1) })).default([]),
});
/** Ranges as written by a caller (scaling optional). */
export type TuningRanges = z.input<typeof TuningRanges>;

/** The objective SageMaker optimises; the metric must be one of the training definition's MetricDefinitions. */
export const Objective = z.strictObject({ metricName: z.string().min(1), type: z.enum(['Minimize', 'Maximize']) });
/** The objective metric and its direction. */
export type Objective = z.infer<typeof Objective>;

/** The tuner's own settings (everything HyperParameterTuningJobConfig needs beyond the training definition). */
export const TuningConfig = z.strictObject({
  strategy: z.enum(['Bayesian', 'Random', 'Hyperband', 'Grid']),
  ranges: TuningRanges,
  objective: Objective,
  maxJobs: z.number().int().min(1),
  maxParallelJobs: z.number().int().min(1),
  earlyStopping: z.enum(['Off', 'Auto']).default('Off'),
  warmStart: z
    .strictObject({
      parentTuningJobs: z.array(z.string().max(32)).min(1).max(5),
      type: z.enum(['IdenticalDataAndAlgorithm', 'TransferLearning']),
    })
    .optional(),
  /** Per-trial resources; fields left out keep the training definition's values. */
  resources: ResourceConfig.partial().optional(),
  /** Per-trial MaxRuntimeInSeconds; defaults to the training definition's. */
  maxRuntimeSeconds: z.number().int().min(1).optional(),
});
/** Tuner settings as written by a caller. */
export type TuningConfig = z.input<typeof TuningConfig>;

/** Input of the tuneModel step workflow. */
export const TuneModelInput = z.strictObject({
  tuningJobName: z.string().min(1).max(32),
  /** trainModel's definition: image, channels, MetricDefinitions and static hyperparameters are reused. */
  definition: TrainingDefinition,
  tuning: TuningConfig,
  pollIntervalSeconds: z.number().int().min(1).default(60),
});
/** Input of the tuneModel step workflow. */
export type TuneModelInput = z.input<typeof TuneModelInput>;

/** SageMaker's TrainingJobStatusCounters, with every count present. */
export const TuningJobCounters = z.strictObject({
  completed: z.number().int(),
  inProgress: z.number().int(),
  retryableError: z.number().int(),
  nonRetryableError: z.number().int(),
  stopped: z.number().int(),
});
/** How many trials are in each state. */
export type TuningJobCounters = z.infer<typeof TuningJobCounters>;

/** The best trial of a finished sweep. */
export const TuningResult = z.strictObject({
  tuningJobName: z.string(),
  bestTrainingJobName: z.string(),
  /** Only the hyperparameters the tuner chose. */
  tunedHyperparameters: z.record(z.string(), z.string()),
  /** Static plus tuned: everything the best trial ran with. */
  hyperparameters: z.record(z.string(), z.string()),
  objectiveMetric: z.string(),
  objectiveValue: z.number(),
  modelArtifactS3Uri: z.string(),
  counters: TuningJobCounters,
});
/** The best trial of a finished sweep. */
export type TuningResult = z.infer<typeof TuningResult>;

/** Output of tuneModel. */
export const TuneModelOutput = TuningResult.extend({ tuningJobArn: z.string(), reattached: z.boolean() });
/** Output of tuneModel. */
export type TuneModelOutput = z.infer<typeof TuneModelOutput>;

/** Input of the createTuningJob activity. */
export const CreateTuningJobInput = z.strictObject({
  tuningJobName: z.string().min(1).max(32),
  workflowId: z.string(),
  definition: TrainingDefinition,
  tuning: TuningConfig,
});
/** Input of the createTuningJob activity. */
export type CreateTuningJobInput = z.input<typeof CreateTuningJobInput>;
/** `reattached` is true when the tuning job already existed with our workflow ID tag. */
export const CreateTuningJobOutput = z.strictObject({ tuningJobArn: z.string(), reattached: z.boolean() });
/** Output of the createTuningJob activity. */
export type CreateTuningJobOutput = z.infer<typeof CreateTuningJobOutput>;

/** HyperParameterTuningJobStatus values. */
export const TuningJobStatus = z.enum([
  'InProgress',
  'Completed',
  'Failed',
  'Stopping',
  'Stopped',
  'Deleting',
  'DeleteFailed',
]);
/** Tuning job states after which nothing changes any more. */
export const TERMINAL_TUNING_STATUSES: readonly string[] = ['Completed', 'Failed', 'Stopped', 'DeleteFailed'];

/** What DescribeHyperParameterTuningJob said last (also the waiting activity's heartbeat). */
export const TuningJobSnapshot = z.strictObject({
  tuningJobName: z.string(),
  status: TuningJobStatus,
  counters: TuningJobCounters,
  /** The best objective value so far, or null while no trial has reported one. */
  bestObjective: z.number().nullable(),
  bestTrainingJobName: z.string().nullable(),
  failureReason: z.string().optional(),
});
/** What DescribeHyperParameterTuningJob said last. */
export type TuningJobSnapshot = z.infer<typeof TuningJobSnapshot>;

/**
 * Waits until the tuning job's status differs from `last.status`, or it is terminal. Counter and best-objective
 * changes are only heartbeated, never returned, so a 100-trial sweep adds a handful of history events.
 */
export const WaitTuningJobInput = z.strictObject({
  tuningJobName: z.string(),
  last: z.strictObject({ status: z.string() }).nullable(),
  pollIntervalSeconds: z.number().int().min(1),
});
/** Input of the waitForTuningJob activity. */
export type WaitTuningJobInput = z.infer<typeof WaitTuningJobInput>;

/** Input of the describeTuningResult activity; `staticHyperparameters` are merged under the tuned ones. */
export const DescribeTuningResultInput = z.strictObject({
  tuningJobName: z.string(),
  staticHyperparameters: z.record(z.string(), z.string()).default({}),
  /** How many trial failure reasons the TuningFailed message lists. */
  maxFailureReasons: z.number().int().min(1).max(50).default(5),
});
/** Input of the describeTuningResult activity. */
export type DescribeTuningResultInput = z.input<typeof DescribeTuningResultInput>;

/** Input of the stopTuningJob activity. */
export const StopTuningJobInput = z.strictObject({ tuningJobName: z.string() });
/** Input of the stopTuningJob activity. */
export type StopTuningJobInput = z.infer<typeof StopTuningJobInput>;
/** `stopped` is false when the tuning job was already terminal (or stopping). */
export const StopTuningJobOutput = z.strictObject({ stopped: z.boolean(), status: z.string() });
/** Output of the stopTuningJob activity. */
export type StopTuningJobOutput = z.infer<typeof StopTuningJobOutput>;
