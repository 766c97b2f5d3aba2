/** toFailure: the ApplicationFailure an activity throws for an AWS error, and what its cause carries. */
import { inspect } from 'node:util';
import { toFailure } from '../../../activities/aws-errors';
import { ErrorType } from '../../../contracts/errors';

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

test(
  "the failure the worker logs does not carry the caller's access key ID or string to sign from the error " +
    'document',
  () => {
    const printed = inspect(toFailure(s3InvalidAccessKey(), 'ListObjectsV2 s3://b/p/'), { depth: 10 });
    expect(printed).toContain('InvalidAccessKeyId');
    expect(printed).not.toContain('AKIAZZZZZZZZZZZZZZZZ');
    expect(printed).not.toContain('AWS4-HMAC-SHA256');
  },
);
