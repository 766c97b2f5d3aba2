/**
 * Who is calling, in local mode. The worker signs its requests with WORKER_CREDENTIALS. A job's or endpoint's
 * processes get credentials for the resource's role, as SageMaker hands its containers a session of the execution
 * role: the session token names the role ARN (STS session tokens are opaque to clients, so nothing reads it but
 * local mode), and whoever enforces IAM reads the principal back with `principalOf`. The account's administrator
 * (the demo and the tests setting up buckets and reading results, as a person with AdministratorAccess would) signs
 * with ADMIN_CREDENTIALS, which no policy restricts.
 */

/** The worker's credentials in local mode (evaluated against iam/worker-policy.json). */
export const WORKER_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** The account administrator's credentials in local mode: every action allowed, as with AdministratorAccess. */
export const ADMIN_CREDENTIALS = { accessKeyId: 'localadmin', secretAccessKey: 'local' } as const;

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

/** The principal a request's credentials stand for: the worker, a session of a role, or the administrator. */
export type Principal = { kind: 'worker' } | { kind: 'role'; roleArn: string } | { kind: 'admin' };

/**
 * Reads the principal from a request's session token (`x-amz-security-token`) and access key ID: a role session's
 * token names its role; ADMIN_CREDENTIALS' key is the administrator; anything else is the worker.
 */
export function principalOf(sessionToken: string | undefined, accessKeyId?: string): Principal {
  if (sessionToken?.startsWith(TOKEN_PREFIX))
    return {
      kind: 'role',
      roleArn: Buffer.from(sessionToken.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'),
    };
  if (accessKeyId === ADMIN_CREDENTIALS.accessKeyId) return { kind: 'admin' };
  return { kind: 'worker' };
}
