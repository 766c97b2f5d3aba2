/**
 * The one place that decides whether an AWS error is retried. Activities wrap every SDK call failure with
 * `toFailure`; the resulting ApplicationFailure type comes from contracts/errors.ts, and workflows' retry
 * policies list the non-retryable ones.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, type ErrorTypeName, isNonRetryable } from '../contracts/errors';

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'InternalError',
  'ServerException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'PriorRequestNotComplete',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const ACCESS_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);
const VALIDATION_NAMES = new Set([
  'NoSuchBucket',
  'ValidationException',
  'ValidationError',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidInputException',
  'InvalidRequestException',
  'ResourceLimitExceeded',
  'LimitExceededException',
  'InvalidParameterCombination',
  'MalformedPolicyDocumentException',
  'AccountNotAuthorized',
]);

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Classifies an error thrown by an AWS SDK call (or the network under it). */
export function classifyAwsError(err: unknown): ErrorTypeName {
  const e = (err ?? {}) as AwsLikeError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (
    TRANSIENT_NAMES.has(name) ||
    e.$retryable ||
    NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && status >= 500)
  )
    return ErrorType.AwsTransient;
  if (ACCESS_NAMES.has(name) || status === 403) return ErrorType.AccessDenied;
  if (VALIDATION_NAMES.has(name) || status === 400) return ErrorType.AwsValidation;
  return ErrorType.AwsTransient;
}

/** The AWS error name, when the value looks like an AWS SDK error. */
export function awsErrorName(err: unknown): string | undefined {
  return (err as AwsLikeError | undefined)?.name;
}

/**
 * Wraps an AWS failure as a typed ApplicationFailure; `action` says what we were doing ("CreateTrainingJob my-job").
 */
export function toFailure(err: unknown, action: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = classifyAwsError(err);
  const e = (err ?? {}) as AwsLikeError;
  const message = `${action} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: isNonRetryable(type),
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
export async function aws<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toFailure(err, action);
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
