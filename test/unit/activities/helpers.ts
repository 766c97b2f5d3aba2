/** Shared test fixtures for activity unit tests: deps over mocked clients, SDK-shaped errors, failure matchers. */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../../activities/deps';

/** Clients with a region and static credentials, so nothing reaches for the environment; `mockClient` stubs send. */
export function testDeps(extra: Partial<ActivityDeps> = {}): ActivityDeps {
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  return {
    clients: {
      sagemaker: new SageMakerClient(common),
      ecr: new ECRClient(common),
      s3: new S3Client(common),
      codebuild: new CodeBuildClient(common),
      logs: new CloudWatchLogsClient(common),
      cloudwatch: new CloudWatchClient(common),
      autoscaling: new ApplicationAutoScalingClient(common),
      servicequotas: new ServiceQuotasClient(common),
      iam: new IAMClient(common),
      sts: new STSClient(common),
    },
    sleep: () => Promise.resolve(),
    ...extra,
  };
}

/** An error shaped like the one the SDK throws for a service error. */
export function awsError(name: string, httpStatusCode = 400, message = `${name} from the mock`): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode },
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
  });
}

export const throttled = () => awsError('ThrottlingException', 400, 'Rate exceeded');
export const accessDenied = () => awsError('AccessDeniedException', 403, 'not authorized to perform this action');
export const invalid = () => awsError('ValidationException', 400, 'bad request');

/** Awaits a rejection and checks it is an ApplicationFailure of `type` with the expected retryability. */
export async function expectFailure(
  promise: Promise<unknown>,
  type: string,
  nonRetryable: boolean,
  message?: RegExp,
): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${type} failure, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type, nonRetryable });
  if (message) expect(failure.message).toMatch(message);
  return failure;
}

/** A mock activity context (heartbeats, cancellation, heartbeat details) that does not log expected failures. */
export function activityEnv(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}
