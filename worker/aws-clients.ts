/**
 * The one AWS client factory. Credentials come from the SDK's standard provider chain and endpoints from the
 * standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables (which the SDK reads itself), so local mode
 * changes nothing here. The SDK's own retry (its standard mode, `maxAttempts` 3 per call, for the errors it deems
 * retryable) absorbs a brief throttle inside one activity attempt; what remains is classified and retried by Temporal
 * (docs/retries.md).
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../activities/deps';
import { installRequestAudit } from './request-audit';

/** Options for building the clients. */
export interface AwsClientOptions {
  region: string;
  /** Path-style S3 addressing, needed by S3 emulators such as moto (set when AWS_ENDPOINT_URL_S3 is set). */
  forcePathStyle?: boolean;
  /**
   * A file that records every request (worker/request-audit.ts); default `$LOCAL_AWS_REQUEST_AUDIT`, off when unset.
   */
  requestAudit?: string;
}

/** Builds every AWS client once, for the worker's lifetime. */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const common = { region: options.region, maxAttempts: 3 };
  const clients: AwsClients = {
    sagemaker: new SageMakerClient(common),
    ecr: new ECRClient(common),
    s3: new S3Client({
      ...common,
      forcePathStyle:
        options.forcePathStyle ?? Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
    }),
    codebuild: new CodeBuildClient(common),
    logs: new CloudWatchLogsClient(common),
    cloudwatch: new CloudWatchClient(common),
    autoscaling: new ApplicationAutoScalingClient(common),
    servicequotas: new ServiceQuotasClient(common),
    iam: new IAMClient(common),
    sts: new STSClient(common),
  };
  const audit = options.requestAudit ?? process.env.LOCAL_AWS_REQUEST_AUDIT;
  if (audit) for (const client of Object.values(clients)) installRequestAudit(client, audit);
  return clients;
}
