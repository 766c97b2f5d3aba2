/**
 * The local service's own AWS clients, pointed at moto (S3, CloudWatch, CloudWatch Logs, ECR): as the service itself
 * (the administrator), or with a role's session credentials and an authorizing request handler when it acts for a
 * job (Ctx.roleClients).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { REGION } from '../../shared/account';
import { ADMIN_CREDENTIALS } from '../../shared/credentials';
import type { AuthorizingHandler } from '../iam/authorizing-handler';

export interface MotoClients {
  s3: S3Client;
  logs: CloudWatchLogsClient;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
}

export function motoClients(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = ADMIN_CREDENTIALS,
  requestHandler?: AuthorizingHandler,
): MotoClients {
  const common = {
    endpoint,
    region: REGION,
    credentials,
    maxAttempts: 3,
    ...(requestHandler ? { requestHandler } : {}),
  };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    logs: new CloudWatchLogsClient(common),
    cloudwatch: new CloudWatchClient(common),
    ecr: new ECRClient(common),
  };
}
