/** The local service's own AWS clients: all pointed at moto (S3, CloudWatch, CloudWatch Logs, ECR). */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { REGION } from '../../shared/account';

export interface MotoClients {
  s3: S3Client;
  logs: CloudWatchLogsClient;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
}

export function motoClients(endpoint: string): MotoClients {
  const common = {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    logs: new CloudWatchLogsClient(common),
    cloudwatch: new CloudWatchClient(common),
    ecr: new ECRClient(common),
  };
}
