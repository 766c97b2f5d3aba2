/**
 * The AWS environment a job host or endpoint instance gets in local mode, as SageMaker gives its containers: the
 * execution role's credentials (a role session, local/shared/credentials.ts) and the local stack's endpoints, so the
 * training toolkit can download `sagemaker_submit_directory` and user code can read S3 like on SageMaker.
 */
import { roleCredentials } from '../../shared/credentials';
import { REGION } from '../../shared/account';

/**
 * Environment variables that point the AWS SDKs of a container's processes at local mode, acting as `roleArn`.
 * `awsEndpoint` is the local service's own URL (`Ctx.selfUrl`): its gateway authorizes every call against the role's
 * policy before moto sees it (local/service/iam/).
 */
export function roleSessionEnv(awsEndpoint: string, roleArn: string | undefined): Record<string, string> {
  if (!roleArn) return {};
  const creds = roleCredentials(roleArn);
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_SESSION_TOKEN: creds.sessionToken,
    AWS_ENDPOINT_URL: awsEndpoint,
    AWS_ENDPOINT_URL_S3: awsEndpoint,
  };
}
