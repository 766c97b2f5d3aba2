/** toFailure: the ApplicationFailure an activity throws for an AWS error, and what its cause carries. */
import type { ApplicationFailure } from '@temporalio/common';
import { inspect } from 'node:util';
import { classifyAwsError, toFailure } from '../../../activities/aws-errors';
import { ErrorType, UNRECOGNIZED_ERROR_ATTEMPTS } from '../../../contracts/errors';
import { activityEnv, awsError } from './helpers';

/** What the S3 SDK throws for unknown credentials: the error document's fields are copied onto the error. */
function s3InvalidAccessKey(): Error {
  const err = Object.assign(new Error('The AWS Access Key Id you provided does not exist in our records.'), {
    $fault: 'client',
    $metadata: { httpStatusCode: 403, requestId: 'R1', extendedRequestId: 'X1', attempts: 1 },
    Code: 'InvalidAccessKeyId',
    AWSAccessKeyId: 'AKIAZZZZZZZZZZZZZZZZ',
    StringToSign: 'AWS4-HMAC-SHA256\n20261126T000000Z\n20261126/us-east-1/s3/aws4_request\nabc',
  });
  err.name = 'InvalidAccessKeyId';
  return err;
}

test('a wrapped AWS error keeps its name, message and status for the retry decision', () => {
  const f = toFailure(s3InvalidAccessKey(), 'ListObjectsV2 s3://b/p/');
  expect(f.type).toBe(ErrorType.AccessDenied);
  expect(f.nonRetryable).toBe(true);
  expect(f.message).toBe(
    'ListObjectsV2 s3://b/p/ failed: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in ' +
      'our records.',
  );
  expect(f.cause?.name).toBe('InvalidAccessKeyId');
  expect((f.cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(403);
});

test("the failure the worker logs does not carry the caller's access key ID or string to sign from the error document", () => {
  const printed = inspect(toFailure(s3InvalidAccessKey(), 'ListObjectsV2 s3://b/p/'), { depth: 10 });
  expect(printed).toContain('InvalidAccessKeyId');
  expect(printed).not.toContain('AKIAZZZZZZZZZZZZZZZZ');
  expect(printed).not.toContain('AWS4-HMAC-SHA256');
});

describe('classification by error code (service models and documented transient codes)', () => {
  it.each([
    ['ThrottlingException', 400, ErrorType.AwsTransient],
    // Application Auto Scaling: "an update to a resource that already has a pending update".
    ['ConcurrentUpdateException', 400, ErrorType.AwsTransient],
    // CloudWatch (429 in its model) and CloudWatch Logs: concurrent modification clears on its own.
    ['ConcurrentModificationException', 429, ErrorType.AwsTransient],
    ['OperationAbortedException', 400, ErrorType.AwsTransient],
    // Server faults in the models: ECR's ServerException, CloudWatch Logs' ServiceUnavailableException.
    ['ServerException', 500, ErrorType.AwsTransient],
    ['ServiceUnavailableException', 503, ErrorType.AwsTransient],
    ['AccessDeniedException', 400, ErrorType.AccessDenied],
    // Modeled client errors of the services the activities call.
    ['ResourceNotFound', 400, ErrorType.AwsValidation],
    ['ResourceLimitExceeded', 400, ErrorType.AwsValidation],
    ['ObjectNotFoundException', 400, ErrorType.AwsValidation],
    ['RepositoryNotFoundException', 400, ErrorType.AwsValidation],
    ['ValidationException', 400, ErrorType.AwsValidation],
    // A code no model knows: not permanent on its say-so.
    ['SomethingNewException', 400, ErrorType.AwsUnrecognized],
    ['SomethingNewException', 502, ErrorType.AwsTransient],
  ])('%s (HTTP %i) is %s', (name, status, type) => {
    expect(classifyAwsError(awsError(name, status))).toBe(type);
  });

  it('a call can name codes that are transient where it is made (ObjectNotFoundException right after a register)', () => {
    const notYet = awsError(
      'ObjectNotFoundException',
      400,
      'No scalable target registered for service namespace: sagemaker',
    );
    expect(classifyAwsError(notYet, { transientCodes: ['ObjectNotFoundException'] })).toBe(ErrorType.AwsTransient);
    const f = toFailure(notYet, 'PutScalingPolicy p', { transientCodes: ['ObjectNotFoundException'] });
    expect({ type: f.type, nonRetryable: f.nonRetryable }).toEqual({
      type: ErrorType.AwsTransient,
      nonRetryable: false,
    });
  });
});

describe('an error code nobody models', () => {
  const unknown = () => awsError('SomethingNewException', 400, 'the service says something new');

  it('is retried, and logged as a warning with the attempt count', async () => {
    const env = activityEnv({ attempt: 2 });
    const f = (await env.run(async () => toFailure(unknown(), 'CreateModel m'))) as ApplicationFailure;
    expect(f.type).toBe(ErrorType.AwsUnrecognized);
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toBe(
      `CreateModel m failed with an AWS error this pipeline does not recognise (HTTP 400), attempt 2 of ${UNRECOGNIZED_ERROR_ATTEMPTS}; retrying: SomethingNewException: the service says something new`,
    );
  });

  it(`fails for good at attempt ${UNRECOGNIZED_ERROR_ATTEMPTS}, naming the attempts and the AWS error`, async () => {
    const env = activityEnv({ attempt: UNRECOGNIZED_ERROR_ATTEMPTS });
    const f = (await env.run(async () => toFailure(unknown(), 'CreateModel m'))) as ApplicationFailure;
    expect(f.type).toBe(ErrorType.AwsUnrecognized);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(
      new RegExp(
        `attempt ${UNRECOGNIZED_ERROR_ATTEMPTS} of ${UNRECOGNIZED_ERROR_ATTEMPTS}; giving up: SomethingNewException`,
      ),
    );
  });
});
