/**
 * The optional evaluateModel step: the candidate the pipeline would register, served by a Batch Transform job over
 * held-out scoring records (`{"score": "<text>"}` a line; the serving stack answers `{"nll", "tokens"}` a line), and
 * scored as the token-weighted mean negative log-likelihood. The result goes to the model package's ModelMetrics and
 * to the champion rule (contracts/register-model.ts).
 */
import { z } from 'zod';
import { InferenceCodeInput } from './user-code';

/** The transform's request and answer format: one JSON object a line, several records per request. */
export const SCORING_CONTENT_TYPE = 'application/jsonlines';
/** Batch Transform's suffix on each output object (`<input key relative to the prefix>.out`). */
export const TRANSFORM_OUTPUT_SUFFIX = '.out';
/** The largest MaxPayloadInMB the serving container takes: its body limit is 6 MiB (413 above it). */
export const MAX_SCORING_PAYLOAD_MB = 6;
/** evaluation.secondsPerRecord when the spec does not give it: an assumption for a small model, not a measurement. */
export const DEFAULT_SECONDS_PER_RECORD = 0.1;

/** Input of the evaluateModel step workflow. */
export const EvaluateModelInput = z.strictObject({
  transformJobName: z.string().min(1).max(63),
  /** The SageMaker Model the transform serves (created for this step, deleted after it). */
  modelName: z.string().min(1).max(63),
  /** The model being evaluated: the champion among training and tuning (pickChampion). */
  candidate: z.strictObject({ trainingJobName: z.string(), modelArtifactS3Uri: z.string() }),
  imageUri: z.string(),
  roleArn: z.string(),
  /** The team's inference handler: the model is repacked with it, as registerModel does. */
  inferenceCode: InferenceCodeInput.optional(),
  /** Scoring records: an S3 prefix or one object (JSON Lines). */
  inputS3Uri: z.string(),
  /** Where the transform writes its `.out` objects (a prefix ending in a slash). */
  outputS3Uri: z.string().regex(/\/$/, 'must end with a slash'),
  /** Where the evaluation JSON is written. */
  evaluationS3Uri: z.string(),
  instanceType: z.string(),
  instanceCount: z.number().int().min(1).max(100),
  maxPayloadMb: z.number().int().min(1).max(100).default(6),
  /** The model's time per scoring record (evaluation.secondsPerRecord): sizes the invocation timeout. */
  secondsPerRecord: z.number().positive().default(DEFAULT_SECONDS_PER_RECORD),
  /** Past this the step stops the job and fails (Batch Transform has no runtime limit of its own). */
  maxRuntimeSeconds: z.number().int().min(1),
  tags: z.record(z.string(), z.string()).default({}),
  pollIntervalSeconds: z.number().int().min(1).default(60),
});
/** Input of the evaluateModel step workflow. */
export type EvaluateModelInput = z.input<typeof EvaluateModelInput>;

/** What evaluateModel measured (also the JSON document it writes to S3). */
export const Evaluation = z.strictObject({
  /** Token-weighted mean negative log-likelihood per predicted token, in nats. */
  evalNll: z.number(),
  /** exp(evalNll). */
  evalPerplexity: z.number(),
  records: z.number().int().min(1),
  tokens: z.number().int().min(1),
  trainingJobName: z.string(),
  transformJobName: z.string(),
  modelDataUrl: z.string(),
  inputS3Uri: z.string(),
  /** Where this document is stored. */
  s3Uri: z.string(),
});
/** What evaluateModel measured. */
export type Evaluation = z.infer<typeof Evaluation>;

/** Input of the createTransformJob activity. */
export const CreateTransformJobInput = z.strictObject({
  transformJobName: z.string().min(1).max(63),
  workflowId: z.string(),
  modelName: z.string(),
  inputS3Uri: z.string(),
  outputS3Uri: z.string(),
  instanceType: z.string(),
  instanceCount: z.number().int().min(1),
  maxPayloadMb: z
    .number()
    .int()
    .min(1)
    .max(
      MAX_SCORING_PAYLOAD_MB,
      `at most ${MAX_SCORING_PAYLOAD_MB} (evaluation.maxPayloadMb): the serving container refuses bodies over 6 MiB`,
    ),
  /** Absent in inputs scheduled before it existed: then DEFAULT_SECONDS_PER_RECORD. */
  secondsPerRecord: z.number().positive().default(DEFAULT_SECONDS_PER_RECORD),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the createTransformJob activity. */
export type CreateTransformJobInput = z.input<typeof CreateTransformJobInput>;
/** `reattached` is true when the job already existed with our workflow ID tag. */
export const CreateTransformJobOutput = z.strictObject({
  transformJobArn: z.string(),
  reattached: z.boolean(),
  /** Where the job read its records from: the input, or the objects it was split into (one per instance). */
  transformInputS3Uri: z.string().optional(),
});
/** Output of the createTransformJob activity. */
export type CreateTransformJobOutput = z.infer<typeof CreateTransformJobOutput>;

/** SageMaker's TransformJobStatus values (botocore's service model). */
export const TransformJobStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);
/** What DescribeTransformJob said last; returned when the status changes. */
export const TransformJobSnapshot = z.strictObject({
  transformJobName: z.string(),
  status: TransformJobStatus,
  failureReason: z.string().optional(),
});
/** What DescribeTransformJob said last. */
export type TransformJobSnapshot = z.infer<typeof TransformJobSnapshot>;

/** Waits until the job's status differs from `last`, or it is terminal. */
export const WaitTransformJobInput = z.strictObject({
  transformJobName: z.string(),
  last: z.strictObject({ status: z.string() }).nullable(),
  pollIntervalSeconds: z.number().int().min(1),
});
/** Input of the waitForTransformJob activity. */
export type WaitTransformJobInput = z.infer<typeof WaitTransformJobInput>;

/** Input of the stopTransformJob activity. */
export const StopTransformJobInput = z.strictObject({ transformJobName: z.string() });
/** Input of the stopTransformJob activity. */
export type StopTransformJobInput = z.infer<typeof StopTransformJobInput>;

/** Input of the scoreTransformOutput activity. */
export const ScoreTransformOutputInput = z.strictObject({
  inputS3Uri: z.string(),
  outputS3Uri: z.string(),
  evaluationS3Uri: z.string(),
  trainingJobName: z.string(),
  transformJobName: z.string(),
  modelDataUrl: z.string(),
});
/** Input of the scoreTransformOutput activity. */
export type ScoreTransformOutputInput = z.infer<typeof ScoreTransformOutputInput>;

/** Input of the uploadEvaluationRecords activity: a local JSON Lines file, stored under its content hash. */
export const UploadEvaluationRecordsInput = z.strictObject({
  localPath: z.string().min(1),
  bucket: z.string(),
  keyPrefix: z.string(),
});
/** Input of the uploadEvaluationRecords activity. */
export type UploadEvaluationRecordsInput = z.infer<typeof UploadEvaluationRecordsInput>;
/** `uploaded` is false when the same content was already there (a retry, or an unchanged file on a later run). */
export const UploadEvaluationRecordsOutput = z.strictObject({ s3Uri: z.string(), uploaded: z.boolean() });
/** Output of the uploadEvaluationRecords activity. */
export type UploadEvaluationRecordsOutput = z.infer<typeof UploadEvaluationRecordsOutput>;

/** Input of the deleteEvaluationModel activity. */
export const DeleteEvaluationModelInput = z.strictObject({ modelName: z.string(), workflowId: z.string() });
/** Input of the deleteEvaluationModel activity. */
export type DeleteEvaluationModelInput = z.infer<typeof DeleteEvaluationModelInput>;
/** `deleted` is false when there was no model (never created, or already deleted). */
export const DeleteEvaluationModelOutput = z.strictObject({ deleted: z.boolean() });
/** Output of the deleteEvaluationModel activity. */
export type DeleteEvaluationModelOutput = z.infer<typeof DeleteEvaluationModelOutput>;

/** One score line as the serving stack answers it: finite nll, whole tokens >= 1. */
export interface ScoreLine {
  nll: number;
  tokens: number;
}

/** Parses one output line, or says why it is not a score (the caller names the object and line). */
export function parseScoreLine(line: string): ScoreLine | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // Python's json module writes NaN and Infinity, which are not JSON: name them, they mean a diverged model.
    return /\b(NaN|-?Infinity)\b/.test(line) ? 'a non-finite number (NaN or Infinity)' : 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { nll, tokens } = value as { nll?: unknown; tokens?: unknown };
  if (typeof nll !== 'number' || !Number.isFinite(nll))
    return `"nll" is ${JSON.stringify(nll) ?? 'missing'}, not a finite number`;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1)
    return `"tokens" is ${JSON.stringify(tokens) ?? 'missing'}, not a whole number >= 1`;
  return { nll, tokens };
}
