/**
 * Which failure type an AWS error is (`classifyAwsError`), and the typed ApplicationFailure activities throw for it
 * (`toFailure`, with the message an operator reads). Whether and when a type is retried is decided in
 * contracts/errors.ts (`retryAfter`); the retry layers are listed in docs/retries.md.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  ErrorType,
  type ErrorTypeName,
  isNonRetryable,
  retryAfter,
  UNRECOGNIZED_ERROR_ATTEMPTS,
} from '../contracts/errors';
import {
  ACCESS_CODES,
  DOCUMENTED_TRANSIENT_CODES,
  GENERIC_CLIENT_CODES,
  MODELED_ERRORS,
  SERVER_CODES,
  THROTTLING_CODES,
  THROTTLING_STATUSES,
  USAGE_LIMIT_CODES,
} from './aws-error-codes';
import { warnIfActivity } from './polling';
import { describeQuota, quotaTooLow, readQuota } from './quota';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Per call: error codes that are transient where this call is made (e.g. ObjectNotFoundException right after a
 * register).
 */
export interface AwsCallOptions {
  transientCodes?: readonly string[];
}

/**
 * Classifies an error thrown by an AWS SDK call (or the network under it) by its error code: throttling (its codes, or
 * HTTP 429/509), server faults (the model's, or HTTP 5xx) and the documented "try again" codes are transient; a full
 * usage quota is CapacityWait unless its limit is below what the request asks for (then AwsValidation: it never
 * clears); access codes are AccessDenied; every other code the service models (or the generic client codes) is
 * AwsValidation; a code nobody models is AwsUnrecognized (retried a few times, then failed: see `toFailure`).
 */
export function classifyAwsError(err: unknown, options: AwsCallOptions = {}): ErrorTypeName {
  const e = (err ?? {}) as AwsLikeError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (options.transientCodes?.includes(name)) return ErrorType.AwsTransient;
  if (USAGE_LIMIT_CODES.has(name)) {
    const quota = readQuota(e.message);
    return quota && quotaTooLow(quota) ? ErrorType.AwsValidation : ErrorType.CapacityWait;
  }
  if (
    THROTTLING_CODES.has(name) ||
    (status !== undefined && THROTTLING_STATUSES.has(status)) ||
    SERVER_CODES.has(name) ||
    DOCUMENTED_TRANSIENT_CODES.has(name) ||
    MODELED_ERRORS.get(name) === 'server' ||
    e.$retryable ||
    NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && status >= 500)
  )
    return ErrorType.AwsTransient;
  if (ACCESS_CODES.has(name) || status === 403) return ErrorType.AccessDenied;
  if (MODELED_ERRORS.has(name) || GENERIC_CLIENT_CODES.has(name)) return ErrorType.AwsValidation;
  return ErrorType.AwsUnrecognized;
}

/** The AWS error name, when the value looks like an AWS SDK error. */
export function awsErrorName(err: unknown): string | undefined {
  return (err as AwsLikeError | undefined)?.name;
}

/** The current activity attempt (1 outside an activity: a CLI, a test). */
function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/**
 * Wraps an AWS failure as a typed ApplicationFailure; `action` says what we were doing ("CreateTrainingJob my-job").
 * Its retry is `retryAfter`'s decision for the type and attempt. An error code nobody models and a quota refusal are
 * logged as a warning at each attempt, with the attempt count and the AWS error in the message, so they reach the
 * operator instead of retrying silently.
 */
export function toFailure(err: unknown, action: string, options: AwsCallOptions = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyAwsError(err, options);
  const e = (err ?? {}) as AwsLikeError;
  const aws = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  let message = `${action} failed: ${aws}`;
  const quota = USAGE_LIMIT_CODES.has(e.name ?? '') ? readQuota(e.message) : undefined;
  const attempt = type === ErrorType.CapacityWait || type === ErrorType.AwsUnrecognized ? activityAttempt() : 1;
  const { nonRetryable, nextRetryDelayS } = retryAfter(type, attempt, { quotaKnown: quota !== undefined });
  if (type === ErrorType.AwsValidation && quota)
    message =
      `${action} failed: the account's quota ${describeQuota(quota)}: its limit is below what this step asks for, ` +
      `so it cannot clear by waiting; raise it (Service Quotas) or ask for less: ${aws}`;
  if (type === ErrorType.CapacityWait) {
    const delayS = nextRetryDelayS ?? 0;
    message = quota
      ? `waiting for capacity: ${describeQuota(quota)}; ${action} again in ${delayS} s (attempt ${attempt}): ${aws}`
      : `waiting for capacity: ${action} refused by a quota that does not say its limit, attempt ${attempt} of ` +
        `${UNRECOGNIZED_ERROR_ATTEMPTS}${nonRetryable ? '; giving up' : `; again in ${delayS} s`}: ${aws}`;
    warnIfActivity(message);
  }
  if (type === ErrorType.AwsUnrecognized) {
    message = `${action} failed with an AWS error this pipeline does not recognise (HTTP ${e.$metadata?.httpStatusCode ?? '?'}), attempt ${attempt} of ${UNRECOGNIZED_ERROR_ATTEMPTS}${nonRetryable ? '; giving up' : '; retrying'}: ${aws}`;
    warnIfActivity(message);
  }
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    nextRetryDelay: nextRetryDelayS === undefined ? undefined : nextRetryDelayS * 1000,
    cause: err instanceof Error ? safeCause(err) : undefined,
  });
}

/**
 * The SDK error reduced to what the activities and workflows read (name, message, stack, code, status, retryable):
 * AWS error documents carry extra fields that the SDK copies onto the error, and some name the caller's credentials
 * (S3's `AWSAccessKeyId`, `StringToSign`, `CanonicalRequest`). The worker logs a failed activity's cause with every
 * field, so those must not travel with it.
 */
function safeCause(err: Error): Error {
  const e = err as Error & AwsLikeError & { $fault?: unknown };
  const copy = new Error(e.message) as Error & AwsLikeError & { $fault?: unknown };
  copy.name = e.name;
  copy.stack = e.stack;
  if (e.code !== undefined) copy.code = e.code;
  if (e.$fault !== undefined) copy.$fault = e.$fault;
  if (e.$retryable !== undefined) copy.$retryable = e.$retryable;
  if (e.$metadata !== undefined) copy.$metadata = { httpStatusCode: e.$metadata.httpStatusCode };
  return copy;
}

/** Runs one AWS call, converting its failure with `toFailure`. */
export async function aws<T>(action: string, call: () => Promise<T>, options: AwsCallOptions = {}): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toFailure(err, action, options);
  }
}

/** A non-retryable failure of a named type, for conditions the activity detects itself. */
export function failure(type: ErrorTypeName, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: isNonRetryable(type),
    details: details === undefined ? undefined : [details],
  });
}
