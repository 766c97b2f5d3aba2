/**
 * Named failure types shared by activities and workflows, and whether (and when) a failure of each type is retried
 * by Temporal: NON_RETRYABLE_ERROR_TYPES (which workflows pass to every activity retry policy) and `retryAfter` (the
 * types whose retry depends on the attempt: AwsUnrecognized, CapacityWait). Which type an AWS error gets is decided
 * in activities/aws-errors.ts; the other retry layers are listed in docs/retries.md.
 */
export const ErrorType = {
  /** The pipeline spec or a step input failed validation. */
  SpecInvalid: 'SpecInvalid',
  /** AWS rejected a request as malformed (ValidationException and kin). */
  AwsValidation: 'AwsValidation',
  /** The caller lacks a permission. */
  AccessDenied: 'AccessDenied',
  /** A resource with our deterministic name exists but was not created by this workflow. */
  ResourceConflict: 'ResourceConflict',
  /** A SageMaker job reached Failed; the message carries FailureReason and the log tail. */
  JobFailed: 'JobFailed',
  /** A SageMaker job was stopped by someone other than this workflow. */
  JobStopped: 'JobStopped',
  /** A CodeBuild build failed; the message names the phase. */
  BuildFailed: 'BuildFailed',
  /** Image scan findings at or above the spec's threshold. */
  ImageScanFailed: 'ImageScanFailed',
  /** The pushed image digest does not match what the build reported. */
  ImageDigestMismatch: 'ImageDigestMismatch',
  /** Throttling, 5xx, network: retried by Temporal with backoff. */
  AwsTransient: 'AwsTransient',
  /** A data source is missing or empty. */
  DataSourceInvalid: 'DataSourceInvalid',
  /** The worst-case spend is above the spec's maxSpendUsd. */
  CostLimitExceeded: 'CostLimitExceeded',
  /**
   * The account preflight found what would fail the run later (a quota below what the spec needs, a role missing or
   * trusting the wrong service, a permission the worker lacks, the bucket in another region); nothing was created.
   */
  PreflightFailed: 'PreflightFailed',
  /** An endpoint update rolled back. */
  DeploymentRolledBack: 'DeploymentRolledBack',
  /** No tuning trial succeeded. */
  TuningFailed: 'TuningFailed',
  /**
   * The evaluation's Batch Transform output is not what the scoring contract promises: a line that is not
   * `{"nll": <finite>, "tokens": <whole number >= 1>}`, or fewer/more answers than scoring records. The message names
   * the object and line.
   */
  EvaluationOutputInvalid: 'EvaluationOutputInvalid',
  /**
   * The resource is in the middle of another operation that ends on its own (an endpoint Creating, or Updating because
   * Application Auto Scaling moved its capacity): retried until it settles.
   */
  ResourceBusy: 'ResourceBusy',
  /**
   * An AWS error code no service model or documentation list knows: retried UNRECOGNIZED_ERROR_ATTEMPTS times (each
   * logged), then failed with the attempt count and the AWS error.
   */
  AwsUnrecognized: 'AwsUnrecognized',
  /**
   * A usage quota is full (SageMaker's ResourceLimitExceeded, CodeBuild's AccountLimitExceededException) while the
   * limit itself covers what the step asks for: other jobs hold it, and it clears when they end. Retried with a
   * backoff from CAPACITY_RETRY_FIRST_S up to CAPACITY_RETRY_MAX_S; the message starts "waiting for capacity: ".
   * A limit below the request is AwsValidation instead (activities/quota.ts).
   */
  CapacityWait: 'CapacityWait',
} as const;

/** First pause before a CapacityWait retry; each next one doubles, up to CAPACITY_RETRY_MAX_S. */
export const CAPACITY_RETRY_FIRST_S = 30;
/** Longest pause between two CapacityWait retries (one create call per 5 minutes while the quota stays full). */
export const CAPACITY_RETRY_MAX_S = 300;

/** How many attempts an activity gives an AWS error it does not recognise before it fails (see AwsUnrecognized). */
export const UNRECOGNIZED_ERROR_ATTEMPTS = 8;

/** One of the named failure types. */
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Failure types Temporal must never retry. Everything else (AwsTransient, unknown errors) is retried. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorTypeName[] = [
  ErrorType.SpecInvalid,
  ErrorType.AwsValidation,
  ErrorType.AccessDenied,
  ErrorType.ResourceConflict,
  ErrorType.JobFailed,
  ErrorType.JobStopped,
  ErrorType.BuildFailed,
  ErrorType.ImageScanFailed,
  ErrorType.ImageDigestMismatch,
  ErrorType.DataSourceInvalid,
  ErrorType.CostLimitExceeded,
  ErrorType.PreflightFailed,
  ErrorType.DeploymentRolledBack,
  ErrorType.TuningFailed,
  ErrorType.EvaluationOutputInvalid,
];

/** True when a failure of this type must not be retried. */
export function isNonRetryable(type: string | undefined | null): boolean {
  return type !== undefined && type !== null && (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(type);
}

/** How a failure of an attempt-dependent type is retried (see `retryAfter`). */
export interface RetryDecision {
  /** Fail the activity now instead of retrying. */
  nonRetryable: boolean;
  /** The pause before the next attempt, overriding the retry policy's backoff (ApplicationFailure.nextRetryDelay). */
  nextRetryDelayS?: number;
}

/**
 * The one decision for a failure of `type` at activity attempt `attempt`: the types of NON_RETRYABLE_ERROR_TYPES stop
 * at once; AwsUnrecognized gives up at UNRECOGNIZED_ERROR_ATTEMPTS; CapacityWait waits `capacityRetryDelayS` between
 * attempts, without end when the quota says its limit (it clears when other jobs end; the activity's timeouts bound
 * it) and, like an unknown code, at most UNRECOGNIZED_ERROR_ATTEMPTS when it does not. Everything else follows the
 * activity's retry policy (workflows/activity-options.ts).
 */
export function retryAfter(
  type: ErrorTypeName,
  attempt: number,
  options: { quotaKnown?: boolean } = {},
): RetryDecision {
  if (type === ErrorType.AwsUnrecognized) return { nonRetryable: attempt >= UNRECOGNIZED_ERROR_ATTEMPTS };
  if (type === ErrorType.CapacityWait)
    return {
      nonRetryable: !options.quotaKnown && attempt >= UNRECOGNIZED_ERROR_ATTEMPTS,
      nextRetryDelayS: capacityRetryDelayS(attempt),
    };
  return { nonRetryable: isNonRetryable(type) };
}

/** Pause before the next try on a full quota: doubling from CAPACITY_RETRY_FIRST_S, at most CAPACITY_RETRY_MAX_S. */
export function capacityRetryDelayS(attempt: number): number {
  return Math.min(CAPACITY_RETRY_MAX_S, CAPACITY_RETRY_FIRST_S * 2 ** Math.min(Math.max(attempt - 1, 0), 10));
}
