/**
 * The ARNs local mode's callers carry in AWS's messages. The worker runs as a session of a role (as it would on ECS
 * or EC2 with an instance role); a job's processes as a session of the execution role, named like SageMaker's and
 * CodeBuild's sessions.
 */
import { WORKER_ROLE } from '../../../infra/iam-roles';
import { ACCOUNT_ID } from '../../shared/account';
import { CODEBUILD_SERVICE } from './policies';

/** The role whose session the worker is (infra's worker role: its policy is iam/worker-policy.json). */
export const WORKER_ROLE_NAME = WORKER_ROLE.defaultName;
export const WORKER_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${WORKER_ROLE_NAME}`;
export const WORKER_SESSION_ARN = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${WORKER_ROLE_NAME}/local-worker`;

/** `arn:aws:sts::<account>:assumed-role/<role>/<session>` for a role the given service assumed. */
export function roleSessionArn(roleArn: string, service: string): string {
  const name = roleArn.split('/').pop() ?? roleArn;
  const session = service === CODEBUILD_SERVICE ? 'AWSCodeBuild' : 'SageMaker';
  return `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${name}/${session}`;
}
