/**
 * What SageMaker and CodeBuild check before they act for a role, in their own words:
 *  - the service must be able to assume the role (it exists in the account and its trust policy names the
 *    service): CreateTrainingJob, CreateHyperParameterTuningJob and CreateModel answer ValidationException "Could not
 *    assume role <arn>. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume
 *    the role."; CreateProject answers InvalidInputException "CodeBuild is not authorized to perform: sts:AssumeRole
 *    on <arn>";
 *  - pulling an ECR image needs ecr:GetAuthorizationToken and ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
 *    ecr:BatchCheckLayerAvailability on the repository
 *    (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html); local mode runs images without pulling
 *    them, so the pull is authorized without being made.
 * Everything else a job does (S3 reads and writes, logs, alarms) goes through Ctx.roleClients and is authorized as
 * the calls are made.
 */
import { ACCOUNT_ID, REGION } from '../../shared/account';
import { AwsError } from '../core/protocol';
import type { AuthCheck, Denial } from './authorizer';
import { accessDeniedMessage } from './denial';
import type { IamEnforcer } from './enforcer';
import { CODEBUILD_SERVICE, SAGEMAKER_SERVICE } from './policies';

/** Refuses a request naming a role `service` cannot assume (undefined enforcer: IAM is off). */
export function assertAssumable(iam: IamEnforcer | undefined, roleArn: string | undefined, service: string): void {
  if (!iam || !roleArn || iam.canAssume(roleArn, service)) return;
  if (service === CODEBUILD_SERVICE)
    throw new AwsError('InvalidInputException', `CodeBuild is not authorized to perform: sts:AssumeRole on ${roleArn}`);
  throw new AwsError(
    'ValidationException',
    `Could not assume role ${roleArn}. Please ensure that the role exists and allows principal '${SAGEMAKER_SERVICE}' to assume the role.`,
  );
}

/** The ECR repository ARN of an image URI (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`). */
export function ecrRepositoryArn(imageUri: string | undefined): string | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(imageUri ?? '');
  return m ? `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

/** The authorizations a pull of `imageUri` needs (none for an image outside ECR). */
export function ecrPullChecks(imageUri: string | undefined): AuthCheck[] {
  const repo = ecrRepositoryArn(imageUri);
  if (!repo) return [];
  return [
    { action: 'ecr:GetAuthorizationToken', resource: '*' },
    ...['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'].map((action) => ({
      action,
      resource: repo,
    })),
  ];
}

/** The authorizations a push to `repositoryUri` makes (docker push: login, layer uploads, the manifest). */
export function ecrPushChecks(repositoryUri: string): AuthCheck[] {
  const repo =
    ecrRepositoryArn(repositoryUri) ??
    `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${repositoryUri.split('/').pop()}`;
  return [
    { action: 'ecr:GetAuthorizationToken', resource: '*' },
    ...[
      'ecr:BatchCheckLayerAvailability',
      'ecr:InitiateLayerUpload',
      'ecr:UploadLayerPart',
      'ecr:CompleteLayerUpload',
      'ecr:PutImage',
    ].map((action) => ({ action, resource: repo })),
  ];
}

/** The first refused authorization of a pull by `roleArn`, if any. */
export function pullDenial(
  iam: IamEnforcer | undefined,
  roleArn: string | undefined,
  imageUri: string | undefined,
): Denial | undefined {
  if (!iam || !roleArn) return undefined;
  const checks = ecrPullChecks(imageUri);
  return checks.length ? iam.denyForRole(roleArn, checks) : undefined;
}

/** The first refused authorization of a push by `roleArn`, if any. */
export function pushDenial(
  iam: IamEnforcer | undefined,
  roleArn: string | undefined,
  repositoryUri: string,
): Denial | undefined {
  if (!iam || !roleArn) return undefined;
  return iam.denyForRole(roleArn, ecrPushChecks(repositoryUri));
}

/** An AWS SDK error as S3 clients report it: `AccessDenied (403): <message>`. */
export function awsErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return status ? `${e.name ?? 'Error'} (${status}): ${e.message ?? ''}` : (e.message ?? String(err));
}

/** AWS's denial text, for failure reasons. */
export const denialText = (denial: Denial): string => accessDeniedMessage(denial);
