/** toFailure: the ApplicationFailure an activity throws for an AWS error, and what its cause carries. */
import type { ApplicationFailure } from '@temporalio/common';
import { inspect } from 'node:util';
import { classifyAwsError, toFailure } from '../../../activities/aws-errors';
import {
  CAPACITY_RETRY_MAX_S,
  capacityRetryDelayS,
  ErrorType,
  UNRECOGNIZED_ERROR_ATTEMPTS,
} from '../../../contracts/errors';
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
    ['ObjectNotFoundException', 400, ErrorType.AwsValidation],
    ['RepositoryNotFoundException', 400, ErrorType.AwsValidation],
    ['ValidationException', 400, ErrorType.AwsValidation],
    // A code no model knows: not permanent on its say-so.
    // Throttling as AWS's SDKs read it: LimitExceededException, and HTTP 429 / 509 whatever the code.
    ['LimitExceededException', 400, ErrorType.AwsTransient],
    ['SomethingNewException', 429, ErrorType.AwsTransient],
    ['SomethingNewException', 509, ErrorType.AwsTransient],
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

describe('a full usage quota', () => {
  /** SageMaker's ResourceLimitExceeded, worded as its troubleshooting pages quote it. */
  const limit = (quota: string, max: number, used: number, asked: number) =>
    awsError(
      'ResourceLimitExceeded',
      400,
      `The account-level service limit '${quota}' is ${max} Instances, with current utilization of ${used} ` +
        `Instances and a request delta of ${asked} Instances. Please use AWS Service Quotas to request an increase ` +
        'for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase for ' +
        'this quota.',
    );

  it('held by other jobs is waited for, with the quota in the message and a growing, bounded pause', async () => {
    const full = limit('ml.p4de.24xlarge for training job usage', 8, 8, 4);
    expect(classifyAwsError(full)).toBe(ErrorType.CapacityWait);
    const first = (await activityEnv({ attempt: 1 }).run(async () =>
      toFailure(full, 'CreateTrainingJob job-1'),
    )) as ApplicationFailure;
    expect(first.nonRetryable).toBe(false);
    expect(first.message).toMatch(
      /^waiting for capacity: 'ml\.p4de\.24xlarge for training job usage': 8 of 8 Instances in use, 4 asked; CreateTrainingJob job-1 again in 30 s/,
    );
    expect(first.nextRetryDelay).toBe(30_000);
    const late = (await activityEnv({ attempt: 40 }).run(async () =>
      toFailure(full, 'CreateTrainingJob job-1'),
    )) as ApplicationFailure;
    expect({ nonRetryable: late.nonRetryable, delay: late.nextRetryDelay }).toEqual({
      nonRetryable: false,
      delay: CAPACITY_RETRY_MAX_S * 1000,
    });
    expect([1, 2, 3, 4, 5, 6].map(capacityRetryDelayS)).toEqual([30, 60, 120, 240, 300, 300]);
  });

  it('whose limit is below the request fails at once, naming the quota', () => {
    const f = toFailure(limit('ml.p4de.24xlarge for training job usage', 0, 0, 4), 'CreateTrainingJob job-1');
    expect(f.type).toBe(ErrorType.AwsValidation);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(
      /^CreateTrainingJob job-1 failed: the account's quota 'ml\.p4de\.24xlarge for training job usage': 0 of 0 Instances in use, 4 asked: its limit is below/,
    );
    // Local mode's per-tuning-job quotas, in the same shape: a request above the limit itself.
    expect(
      classifyAwsError(
        awsError(
          'ResourceLimitExceeded',
          400,
          "The account-level service limit 'Number of concurrent training jobs per tuning job' is 100 Training jobs, " +
            'with current utilization of 0 Training jobs and a request delta of 120 Training jobs.',
        ),
      ),
    ).toBe(ErrorType.AwsValidation);
    // A limit of 2 never admits 4 either, however few are in use.
    expect(classifyAwsError(limit('ml.p4de.24xlarge for training job usage', 2, 0, 4))).toBe(ErrorType.AwsValidation);
  });

  it("CodeBuild's queue: full is waited for; a limit of 0 builds (a new account) fails at once", () => {
    const queue = (n: number) =>
      awsError('AccountLimitExceededException', 400, `Cannot have more than ${n} builds in queue for the account`);
    expect(classifyAwsError(queue(30))).toBe(ErrorType.CapacityWait);
    const f = toFailure(queue(0), 'StartBuild p');
    expect({ type: f.type, nonRetryable: f.nonRetryable }).toEqual({
      type: ErrorType.AwsValidation,
      nonRetryable: true,
    });
    expect(f.message).toContain("'builds in queue for the account': limit 0 builds, 1 asked");
  });

  it('that does not say its limit is waited for a bounded number of attempts', async () => {
    const vague = awsError('ResourceLimitExceeded', 400, 'You have exceeded an SageMaker resource limit.');
    const early = (await activityEnv({ attempt: 2 }).run(async () =>
      toFailure(vague, 'CreateModel m'),
    )) as ApplicationFailure;
    expect({ type: early.type, nonRetryable: early.nonRetryable }).toEqual({
      type: ErrorType.CapacityWait,
      nonRetryable: false,
    });
    const last = (await activityEnv({ attempt: UNRECOGNIZED_ERROR_ATTEMPTS }).run(async () =>
      toFailure(vague, 'CreateModel m'),
    )) as ApplicationFailure;
    expect(last.nonRetryable).toBe(true);
    expect(last.message).toMatch(/giving up: ResourceLimitExceeded: You have exceeded/);
  });
});
