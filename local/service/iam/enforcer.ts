/**
 * Local mode's IAM: who a request's credentials stand for (local/shared/credentials.ts), which policy applies to
 * them (policies.ts), and AWS's decision (authorizer.ts). The local service's dispatch asks it about every call it
 * serves, the gateway in front of moto about every call it forwards, and SageMaker and CodeBuild about what they do
 * on a role's behalf (can the service assume the role; may the role pull this image).
 */
import { principalOf, type Principal } from '../../shared/credentials';
import { AwsError } from '../core/protocol';
import { Authorizer, type AuthCheck, type AuthorizerStats, type Caller, type Denial } from './authorizer';
import { accessDeniedMessage, denialResponse, errorResponse, type Refusal } from './denial';
import type { RequestCredentials } from './request-credentials';
import { requestCredentials } from './request-credentials';
import type { RawRequest, Reading } from './request-reading';
import { roleSessionArn, WORKER_ROLE_ARN, WORKER_SESSION_ARN } from './identities';
import { extraRolesFromEnv, PolicySet, SAGEMAKER_SERVICE } from './policies';
import { checksFor, type ApiCall } from './request-checks';

/** How a request's caller resolves: the administrator (never restricted), a known identity, or an unknown role. */
export type ResolvedCaller =
  { kind: 'admin' } | { kind: 'caller'; caller: Caller } | { kind: 'unknown-role'; roleArn: string };

/** Tags of a resource by ARN (for aws:ResourceTag/*), when the enforcer's user knows them. */
export type ResourceTags = (arn: string) => Record<string, string> | undefined;

export class IamEnforcer {
  readonly authorizer = new Authorizer();

  constructor(readonly policies: PolicySet) {}

  /**
   * The roles deployed into moto at `motoEndpoint`, plus LOCAL_IAM_ROLES (LOCAL_IAM itself is decided by the
   * caller).
   */
  static async fromDeployment(motoEndpoint: string, env: NodeJS.ProcessEnv = process.env): Promise<IamEnforcer> {
    return new IamEnforcer(await PolicySet.fromDeployment(motoEndpoint, extraRolesFromEnv(env)));
  }

  /**
   * The caller a principal stands for. The worker is a session of the worker role; a role session is evaluated as
   * a session SageMaker or CodeBuild holds. A role that does not exist (not deployed) resolves to `unknown-role`.
   */
  resolve(principal: Principal): ResolvedCaller {
    if (principal.kind === 'admin') return { kind: 'admin' };
    if (principal.kind === 'worker') {
      const worker = this.policies.role(WORKER_ROLE_ARN);
      if (!worker) return { kind: 'unknown-role', roleArn: WORKER_ROLE_ARN };
      return {
        kind: 'caller',
        caller: { arn: WORKER_SESSION_ARN, principalArn: WORKER_ROLE_ARN, policy: worker.policy },
      };
    }
    const role = this.policies.role(principal.roleArn);
    if (!role) return { kind: 'unknown-role', roleArn: principal.roleArn };
    return {
      kind: 'caller',
      caller: {
        arn: roleSessionArn(principal.roleArn, role.trustedServices[0] ?? SAGEMAKER_SERVICE),
        principalArn: principal.roleArn,
        policy: role.policy,
      },
    };
  }

  /** The caller of a request with these credentials. */
  resolveCredentials(creds: RequestCredentials): ResolvedCaller {
    return this.resolve(principalOf(creds.sessionToken, creds.accessKeyId));
  }

  /** The first refused authorization of `checks`, with aws:ResourceTag/* added for resources whose tags are known. */
  deny(caller: Caller, checks: AuthCheck[], tags?: ResourceTags): Denial | undefined {
    const withTags = tags
      ? checks.map((c) => {
          const t = c.resource.includes('*') ? undefined : tags(c.resource);
          if (!t || Object.keys(t).length === 0) return c;
          const service = c.resource.split(':')[2] ?? '';
          const ctx: Record<string, string | string[]> = { ...c.context };
          for (const [k, v] of Object.entries(t)) {
            ctx[`aws:ResourceTag/${k}`] = v;
            ctx[`${service}:ResourceTag/${k}`] = v;
          }
          return { ...c, context: ctx };
        })
      : checks;
    return this.authorizer.firstDenial(caller, withTags);
  }

  /** The first refused authorization of an API call (JSON-shaped), or undefined when AWS would allow it. */
  async denyCall(caller: Caller, call: ApiCall, tags?: ResourceTags): Promise<Denial | undefined> {
    return this.deny(caller, await checksFor(call), tags);
  }

  /** Whether `service` (`sagemaker.amazonaws.com`) can assume `roleArn`: the role exists and trusts it. */
  canAssume(roleArn: string, service: string): boolean {
    return this.policies.role(roleArn)?.trustedServices.includes(service) ?? false;
  }

  /** The first refused authorization of what a service does as `roleArn` (the role must exist). */
  denyForRole(roleArn: string, checks: AuthCheck[], tags?: ResourceTags): Denial | undefined {
    const r = this.resolve({ kind: 'role', roleArn });
    if (r.kind !== 'caller')
      return {
        callerArn: roleArn,
        action: checks[0]?.action ?? 'sts:AssumeRole',
        resource: checks[0]?.resource ?? roleArn,
        explicit: false,
      };
    return this.deny(r.caller, checks, tags);
  }

  /**
   * AWS's answer to a raw request it would refuse: unsigned (S3: AccessDenied; others: MissingAuthenticationToken),
   * a session of a role that does not exist (an invalid token), or a denied authorization. Undefined: allowed.
   */
  async authorizeRequest(
    raw: RawRequest,
    reading: Reading,
    tags?: ResourceTags,
  ): Promise<{ response: Refusal; reason: string } | undefined> {
    const started = process.hrtime.bigint();
    try {
      return await this.authorizeRequestUntimed(raw, reading, tags);
    } finally {
      this.requests.count++;
      this.requests.ns += process.hrtime.bigint() - started;
    }
  }

  private readonly requests = { count: 0, ns: 0n };

  private async authorizeRequestUntimed(
    raw: RawRequest,
    reading: Reading,
    tags?: ResourceTags,
  ): Promise<{ response: Refusal; reason: string } | undefined> {
    const head = raw.method === 'HEAD';
    const opts = { head, contentType: reading.contentType };
    const creds = requestCredentials(raw.headers, new URLSearchParams(raw.url.split('?')[1] ?? ''));
    if (!creds.signed) {
      const err =
        reading.protocol === 'rest-xml'
          ? new AwsError('AccessDenied', 'Access Denied', 403)
          : new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      return { response: errorResponse(err, reading.protocol, opts), reason: 'unsigned request' };
    }
    const who = this.resolveCredentials(creds);
    if (who.kind === 'admin') return undefined;
    if (who.kind === 'unknown-role') {
      const err =
        reading.protocol === 'rest-xml'
          ? new AwsError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400)
          : new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.', 403);
      return { response: errorResponse(err, reading.protocol, opts), reason: `no role ${who.roleArn} in local mode` };
    }
    const denial = reading.s3
      ? this.deny(who.caller, reading.s3.checks, tags)
      : reading.call
        ? await this.denyCall(who.caller, reading.call, tags)
        : undefined;
    if (!denial) return undefined;
    return { response: denialResponse(denial, reading.protocol, opts), reason: accessDeniedMessage(denial) };
  }

  /** Decisions (authorizer) and whole requests (mapping + decisions): counts and time spent, for the overhead. */
  stats(): AuthorizerStats & { requests: number; requestMeanUs: number } {
    const ms = Number(this.requests.ns) / 1e6;
    return {
      ...this.authorizer.stats(),
      requests: this.requests.count,
      requestMeanUs: this.requests.count ? Math.round((ms * 1000) / this.requests.count) : 0,
    };
  }
}
