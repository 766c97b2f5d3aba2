/**
 * Who is calling, in local mode. The worker signs its requests with WORKER_CREDENTIALS. A job's or endpoint's
 * processes get credentials for the resource's role, as SageMaker hands its containers a session of the execution
 * role: the session token names the role ARN (STS session tokens are opaque to clients, so nothing reads it but
 * local mode), and whoever enforces IAM reads the principal back with `principalOf`.
 */

/** The worker's (and the operator's) credentials in local mode. */
export const WORKER_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const TOKEN_PREFIX = 'local-role-session:';

/** Temporary credentials for a session of `roleArn`. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** Credentials that act as `roleArn` (the access key ID starts with ASIA, like every STS session's). */
export function roleCredentials(roleArn: string): RoleCredentials {
  return {
    accessKeyId: 'ASIALOCALROLESESSION',
    secretAccessKey: 'local',
    sessionToken: TOKEN_PREFIX + Buffer.from(roleArn, 'utf8').toString('base64url'),
  };
}

/** The principal a request's credentials stand for: the worker, or a session of a role. */
export type Principal = { kind: 'worker' } | { kind: 'role'; roleArn: string };

/** Reads the principal from a request's session token (`x-amz-security-token`); none means the worker. */
export function principalOf(sessionToken: string | undefined): Principal {
  if (!sessionToken?.startsWith(TOKEN_PREFIX)) return { kind: 'worker' };
  return { kind: 'role', roleArn: Buffer.from(sessionToken.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8') };
}
