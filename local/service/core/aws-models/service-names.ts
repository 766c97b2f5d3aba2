/** Names of the AWS services (botocore's data directory names) whose models this project validates against. */

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
  'service-quotas',
  'iam',
  'sts',
  'sqs',
] as const;
