/** What activities are built from: injected AWS clients (real, or mocked in tests) and a clock. */
import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';

/** Every AWS client the activities use, built once by worker/aws-clients.ts. */
export interface AwsClients {
  sagemaker: SageMakerClient;
  ecr: ECRClient;
  s3: S3Client;
  codebuild: CodeBuildClient;
  logs: CloudWatchLogsClient;
  cloudwatch: CloudWatchClient;
  autoscaling: ApplicationAutoScalingClient;
  /** The account preflight's readers (activities/account-preflight.ts). */
  servicequotas: ServiceQuotasClient;
  iam: IAMClient;
  sts: STSClient;
}

/** Dependencies injected into `createActivities`. */
export interface ActivityDeps {
  clients: AwsClients;
  /** Sleeps between polls; tests replace it to run instantly. Must reject when the activity is cancelled. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * What relative code paths in a spec (`training.code.sourceDir`) are resolved against when a run was started
   * without resolving them first (`temporal workflow start --input-file`): PIPELINE_SPEC_DIR, else the worker's
   * working directory.
   */
  specDir?: string;
  /**
   * Set when state-change events wake the steps (a queue is configured, docs/events.md): the waits a
   * `jobStateChanged` signal cuts short (EVENT_WOKEN_WAITS) poll only as a net, at least this many seconds apart.
   */
  eventNetIntervalSeconds?: number;
}
