/**
 * The optional prepareData step: the pipeline image's `prepare` run as a SageMaker Processing job on the synced data,
 * writing the training channels (`train`, `val`) and the held-out scoring records (`eval`) under this run's prefix.
 */
import { z } from 'zod';

/** The image's processing entrypoint (container/docker/entrypoint.sh). */
export const PREPARE_ENTRYPOINT = ['prepare'] as const;
/** Where Processing puts the raw input in the container (`--source raw`, the default of `prepare`). */
export const PREPARE_INPUT_PATH = '/opt/ml/processing/input/raw';
/** The outputs `prepare` writes, each under /opt/ml/processing/output/<name>. */
export const PREPARE_OUTPUTS = ['train', 'val', 'eval'] as const;
/** The container path of one output. */
export const prepareOutputPath = (name: (typeof PREPARE_OUTPUTS)[number]) => `/opt/ml/processing/output/${name}`;
/** The file the `eval` output holds (scoring records, one JSON object a line). */
export const EVAL_RECORDS_FILE = 'records.jsonl';

/** Everything CreateProcessingJob needs for `prepare`. */
export const ProcessingDefinition = z.strictObject({
  imageUri: z.string(),
  roleArn: z.string(),
  /** The raw text (an S3 prefix); null with `--source builtin`, which needs no input. */
  inputS3Uri: z.string().nullable(),
  /** The outputs go to `<outputS3Uri><name>/` (a prefix ending in a slash). */
  outputS3Uri: z.string().regex(/\/$/, 'must end with a slash'),
  /** Extra arguments to `prepare` (ContainerArguments: at most 100 of at most 256 characters). */
  arguments: z.array(z.string().max(256)).max(99).default([]),
  resources: z.strictObject({
    instanceType: z.string(),
    instanceCount: z.number().int().min(1).max(100),
    volumeSizeGb: z.number().int().min(1).max(16384),
  }),
  maxRuntimeSeconds: z.number().int().min(1).max(777600),
  environment: z.record(z.string(), z.string()).default({}),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Everything CreateProcessingJob needs for `prepare`. */
export type ProcessingDefinition = z.input<typeof ProcessingDefinition>;

/** Input of the prepareData step workflow. */
export const PrepareDataInput = z.strictObject({
  processingJobName: z.string().min(1).max(63),
  definition: ProcessingDefinition,
  pollIntervalSeconds: z.number().int().min(1).default(60),
});
/** Input of the prepareData step workflow. */
export type PrepareDataInput = z.input<typeof PrepareDataInput>;

/** Output of prepareData: the training channels and the scoring records it wrote. */
export const PrepareDataOutput = z.strictObject({
  processingJobName: z.string(),
  processingJobArn: z.string(),
  /** `train` and `val`, as S3 prefixes: the training channels of this run. */
  channels: z.record(z.string(), z.string()),
  /** The `eval` output prefix (scoring records for evaluateModel). */
  evalS3Uri: z.string(),
  reattached: z.boolean(),
});
/** Output of prepareData. */
export type PrepareDataOutput = z.infer<typeof PrepareDataOutput>;

/** Input of the createProcessingJob activity. */
export const CreateProcessingJobInput = z.strictObject({
  processingJobName: z.string().min(1).max(63),
  workflowId: z.string(),
  definition: ProcessingDefinition,
});
/** Input of the createProcessingJob activity. */
export type CreateProcessingJobInput = z.input<typeof CreateProcessingJobInput>;
/** `reattached` is true when the job already existed with our workflow ID tag. */
export const CreateProcessingJobOutput = z.strictObject({ processingJobArn: z.string(), reattached: z.boolean() });
/** Output of the createProcessingJob activity. */
export type CreateProcessingJobOutput = z.infer<typeof CreateProcessingJobOutput>;

/** SageMaker's ProcessingJobStatus values (botocore's service model). */
export const ProcessingJobStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);
/** What DescribeProcessingJob said last; returned when the status changes. */
export const ProcessingJobSnapshot = z.strictObject({
  processingJobName: z.string(),
  status: ProcessingJobStatus,
  failureReason: z.string().optional(),
  exitMessage: z.string().optional(),
});
/** What DescribeProcessingJob said last. */
export type ProcessingJobSnapshot = z.infer<typeof ProcessingJobSnapshot>;

/** Waits until the job's status differs from `last`, or it is terminal. */
export const WaitProcessingJobInput = z.strictObject({
  processingJobName: z.string(),
  last: z.strictObject({ status: z.string() }).nullable(),
  pollIntervalSeconds: z.number().int().min(1),
});
/** Input of the waitForProcessingJob activity. */
export type WaitProcessingJobInput = z.infer<typeof WaitProcessingJobInput>;

/** Input of the stopProcessingJob activity. */
export const StopProcessingJobInput = z.strictObject({ processingJobName: z.string() });
/** Input of the stopProcessingJob activity. */
export type StopProcessingJobInput = z.infer<typeof StopProcessingJobInput>;
