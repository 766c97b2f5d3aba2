/**
 * The AWS error codes the activities can meet, by what they mean for a retry. Modeled codes come from the service
 * models themselves (every exception class the SDK clients export, with the model's client/server fault); the rest
 * are the codes AWS's SDKs retry (botocore `_retry.json`), the codes AWS documents as "try again" for the APIs the
 * pipeline calls, and the generic client codes every JSON/query API answers.
 */
import * as autoscaling from '@aws-sdk/client-application-auto-scaling';
import * as cloudwatch from '@aws-sdk/client-cloudwatch';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as codebuild from '@aws-sdk/client-codebuild';
import * as ecr from '@aws-sdk/client-ecr';
import * as iam from '@aws-sdk/client-iam';
import * as s3 from '@aws-sdk/client-s3';
import * as sagemaker from '@aws-sdk/client-sagemaker';
import * as servicequotas from '@aws-sdk/client-service-quotas';
import * as sts from '@aws-sdk/client-sts';

type Fault = 'client' | 'server';

/** Every exception a client package exports, by code, with the fault its model gives it. */
function modeledErrors(
  pkg: Record<string, unknown>,
  base: abstract new (...args: never[]) => Error,
): Map<string, Fault> {
  const out = new Map<string, Fault>();
  for (const value of Object.values(pkg)) {
    if (typeof value !== 'function' || value === base || !(value.prototype instanceof base)) continue;
    const Cls = value as new (opts: { message: string; $metadata: object }) => Error & { $fault?: Fault };
    const sample = new Cls({ message: '', $metadata: {} });
    out.set(sample.name, sample.$fault === 'server' ? 'server' : 'client');
  }
  return out;
}

/** The modeled errors of the services the activities call. */
export const MODELED_ERRORS: ReadonlyMap<string, Fault> = new Map([
  ...modeledErrors(sagemaker, sagemaker.SageMakerServiceException),
  ...modeledErrors(s3, s3.S3ServiceException),
  ...modeledErrors(ecr, ecr.ECRServiceException),
  ...modeledErrors(codebuild, codebuild.CodeBuildServiceException),
  ...modeledErrors(logs, logs.CloudWatchLogsServiceException),
  ...modeledErrors(cloudwatch, cloudwatch.CloudWatchServiceException),
  ...modeledErrors(autoscaling, autoscaling.ApplicationAutoScalingServiceException),
  ...modeledErrors(servicequotas, servicequotas.ServiceQuotasServiceException),
  ...modeledErrors(iam, iam.IAMServiceException),
  ...modeledErrors(sts, sts.STSServiceException),
]);

/**
 * Throttling codes AWS's SDKs retry: botocore's standard retry mode (`retries/standard.py` `_THROTTLED_ERROR_CODES`)
 * and the JS SDK's `THROTTLING_ERROR_CODES` (@smithy), which agree, plus `_retry.json`'s codes.
 */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

/**
 * HTTP statuses that mean "slow down" whatever the code: 429 (botocore `_retry.json` too_many_requests, @smithy's
 * isThrottlingError) and 509 (`_retry.json` limit_exceeded).
 */
export const THROTTLING_STATUSES: ReadonlySet<number> = new Set([429, 509]);

/**
 * Usage quotas that a request can find full: SageMaker's ResourceLimitExceeded ("The account-level service limit
 * '<quota>' is <limit> <unit>, with current utilization of <in use> <unit> and a request delta of <asked> <unit>") and
 * CodeBuild's AccountLimitExceededException ("Cannot have more than <limit> builds in queue for the account"). They
 * clear when other jobs end, unless the limit itself is below what the request asks for: see activities/quota.ts.
 */
export const USAGE_LIMIT_CODES: ReadonlySet<string> = new Set([
  'ResourceLimitExceeded',
  'AccountLimitExceededException',
]);

/** Server-side and timeout codes that are not modeled for every service (generic 5xx answers, SDK timeouts). */
export const SERVER_CODES: ReadonlySet<string> = new Set([
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'InternalServiceException',
  'InternalServiceError',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServerException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * Client errors AWS documents as transient: another update holds the resource, and it clears on its own.
 * Application Auto Scaling's ConcurrentUpdateException ("you request an update to an Application Auto Scaling resource
 * that already has a pending update"), CloudWatch's ConcurrentModificationException, CloudWatch Logs' and S3's
 * OperationAborted ("Multiple concurrent requests to update the same resource were in conflict").
 */
export const DOCUMENTED_TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ConcurrentUpdateException',
  'ConcurrentModificationException',
  'OperationAbortedException',
  'OperationAborted',
]);

/** The caller lacks a permission, or its credentials are not accepted. */
export const ACCESS_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'MissingAuthenticationToken',
]);

/** Generic client errors every AWS JSON/query API can answer (not modeled per service). */
export const GENERIC_CLIENT_CODES: ReadonlySet<string> = new Set([
  'ValidationException',
  'ValidationError',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidQueryParameter',
  'MissingParameter',
  'MissingAction',
  'MalformedQueryString',
  'SerializationException',
  'UnknownOperationException',
  'InvalidAction',
  'OptInRequired',
  'IncompleteSignature',
  'NotFound',
]);
