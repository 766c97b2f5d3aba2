/**
 * Names of the AWS services in botocore's data directory, and the SDK clients that speak them. The request audit
 * maps a recorded call (SDK client name) to its model with {@link modelNameOfClient}.
 */

/** botocore model names of every service the worker calls, and of those the local service serves. */
export const AUDITED_SERVICES = [
  'sagemaker',
  'sagemaker-runtime',
  'codebuild',
  's3',
  'ecr',
  'cloudwatch',
  'logs',
  'application-autoscaling',
] as const;

const BY_CLIENT: Record<string, string> = {
  SageMakerClient: 'sagemaker',
  SageMakerRuntimeClient: 'sagemaker-runtime',
  CodeBuildClient: 'codebuild',
  S3Client: 's3',
  ECRClient: 'ecr',
  CloudWatchClient: 'cloudwatch',
  CloudWatchLogsClient: 'logs',
  ApplicationAutoScalingClient: 'application-autoscaling',
};

/** The botocore model name for an AWS SDK v3 client name (`SageMakerClient` → `sagemaker`). */
export function modelNameOfClient(clientName: string): string | undefined {
  return BY_CLIENT[clientName];
}
