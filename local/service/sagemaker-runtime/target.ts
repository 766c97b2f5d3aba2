/** One invocation's destination (endpoint, variant, instance) and the errors the runtime answers about it. */
import { ACCOUNT_ID, REGION } from '../../shared/account';
import { AwsError } from '../core/protocol';
import type { FleetVariant, Instance } from '../sagemaker/fleet';

/** Where one invocation goes, and how to book its outcome. */
export interface Target {
  endpointName: string;
  variant: FleetVariant;
  instance: Instance;
  /** Records one invocation's status and latency on the variant's metrics (local stats and CloudWatch). */
  record(status: number, latencyUs: number): void;
}

export function elapsedUs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n);
}

export function containerUnreachable(variant: FleetVariant, err: Error): AwsError {
  return new AwsError(
    'InternalFailure',
    `The model container of variant ${variant.spec.VariantName} did not answer: ${err.message}`,
    500,
  );
}

/** AWS's ModelError for a container's non-2xx answer. */
export function modelError(endpointName: string, status: number, body: Buffer): AwsError {
  const text = body.toString('utf8');
  const kind = status >= 500 ? 'server' : 'client';
  return new AwsError(
    'ModelError',
    `Received ${kind} error (${status}) from primary with message "${text.slice(0, 1000)}". See https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logEventViewer:group=/aws/sagemaker/Endpoints/${endpointName} in account ${ACCOUNT_ID} for more information.`,
    424,
    {
      OriginalStatusCode: status,
      OriginalMessage: text.slice(0, 1000),
      LogStreamArn: `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${endpointName}`,
    },
  );
}
