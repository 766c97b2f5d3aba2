/**
 * The IAM and STS calls local mode answers itself instead of moto, because only local mode knows who its callers are
 * and what their policies say (policies.ts): moto has no SimulatePrincipalPolicy, and its GetCallerIdentity and GetRole
 * know nothing of the worker's role or of the roles local mode enforces.
 *  - sts:GetCallerIdentity: the principal of the request's credentials (the worker's role session, a job's role
 *    session, or the administrator as the account root);
 *  - iam:GetRole for a role local mode knows (its trust policy names the services in its declaration); other roles
 *    go on to moto;
 *  - iam:SimulatePrincipalPolicy for the worker's role or a known role, decided by the same evaluator that enforces
 *    every call (authorizer.ts), so the answer is the one the real call would get here.
 * Requests arrive already authorized (the gateway) and are checked against botocore's model first. Answers are in the
 * query protocol's XML.
 */
import { randomUUID } from 'node:crypto';
import { principalOf } from '../../shared/credentials';
import { ACCOUNT_ID } from '../../shared/account';
import { AwsError } from '../core/protocol';
import type { IamEnforcer } from './enforcer';
import { errorResponse, type Refusal } from './denial';
import { WORKER_ROLE_ARN, WORKER_ROLE_NAME, WORKER_SESSION_ARN, roleSessionArn } from './identities';
import type { PolicyDocument } from './policies';
import type { RequestCredentials } from './request-credentials';
import type { Reading } from './request-reading';

/** Validates a query request's parameters against botocore's model (`iam` or `sts`); an AwsError when AWS refuses. */
export type QueryValidator = (
  service: string,
  operation: string,
  body: Record<string, unknown>,
) => AwsError | undefined;

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** The worker's role trusts ECS tasks (infra/ runs the worker on Fargate). */
const WORKER_TRUSTED = ['ecs-tasks.amazonaws.com'];

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function xml(status: number, body: string): Refusal {
  const bytes = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, 'utf8');
  return {
    status,
    headers: { 'content-type': 'text/xml', 'content-length': String(bytes.length), 'x-amzn-requestid': randomUUID() },
    body: bytes,
  };
}

function result(operation: string, ns: string, inner: string): Refusal {
  return xml(
    200,
    `<${operation}Response xmlns="${ns}"><${operation}Result>${inner}</${operation}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${operation}Response>`,
  );
}

const noSuchEntity = (message: string) => errorResponse(new AwsError('NoSuchEntity', message, 404), 'query');

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

export class LocalIamApi {
  constructor(
    private readonly iam: IamEnforcer,
    private readonly validate: QueryValidator,
  ) {}

  /** The role local mode knows by name: its policy and the services that may assume it. */
  private role(name: string): { arn: string; policy: PolicyDocument; trusted: string[] } | undefined {
    if (name === WORKER_ROLE_NAME)
      return { arn: WORKER_ROLE_ARN, policy: this.iam.policies.worker, trusted: WORKER_TRUSTED };
    const arn = `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
    const r = this.iam.policies.role(arn);
    return r ? { arn, policy: r.policy, trusted: r.trustedServices } : undefined;
  }

  /** The answer to a request local mode serves itself, or undefined to let it go on to moto. */
  answer(reading: Reading, creds: RequestCredentials): Refusal | undefined {
    const call = reading.call;
    if (reading.protocol !== 'query' || !call) return undefined;
    const served =
      (call.prefix === 'sts' && call.operation === 'GetCallerIdentity') ||
      (call.prefix === 'iam' && call.operation === 'SimulatePrincipalPolicy') ||
      (call.prefix === 'iam' &&
        call.operation === 'GetRole' &&
        this.role(String(call.body.RoleName ?? '')) !== undefined);
    if (!served) return undefined;
    const invalid = this.validate(call.prefix, call.operation, call.body);
    if (invalid) return errorResponse(invalid, 'query');
    if (call.operation === 'GetCallerIdentity') return this.callerIdentity(creds);
    if (call.operation === 'GetRole') return this.getRole(String(call.body.RoleName));
    return this.simulate(call.body);
  }

  private callerIdentity(creds: RequestCredentials): Refusal {
    const who = principalOf(creds.sessionToken, creds.accessKeyId);
    const arn =
      who.kind === 'worker'
        ? WORKER_SESSION_ARN
        : who.kind === 'role'
          ? roleSessionArn(who.roleArn, this.iam.policies.role(who.roleArn)?.trustedServices[0] ?? '')
          : `arn:aws:iam::${ACCOUNT_ID}:root`;
    const userId = who.kind === 'admin' ? ACCOUNT_ID : `AROALOCAL:${arn.split('/').pop() ?? ''}`;
    return result(
      'GetCallerIdentity',
      STS_NS,
      `<Arn>${esc(arn)}</Arn><UserId>${esc(userId)}</UserId><Account>${ACCOUNT_ID}</Account>`,
    );
  }

  private getRole(name: string): Refusal {
    const role = this.role(name) as NonNullable<ReturnType<LocalIamApi['role']>>;
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: role.trusted }, Action: 'sts:AssumeRole' }],
    };
    return result(
      'GetRole',
      IAM_NS,
      `<Role><Path>/</Path><RoleName>${esc(name)}</RoleName><RoleId>AROALOCAL${esc(name.toUpperCase()).slice(0, 12)}</RoleId>` +
        `<Arn>${esc(role.arn)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>` +
        `<AssumeRolePolicyDocument>${esc(encodeURIComponent(JSON.stringify(trust)))}</AssumeRolePolicyDocument>` +
        `<MaxSessionDuration>3600</MaxSessionDuration></Role>`,
    );
  }

  private simulate(body: Record<string, unknown>): Refusal {
    const source = String(body.PolicySourceArn ?? '');
    const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(source);
    const role = m && m[1] === ACCOUNT_ID ? this.role(m[2] as string) : undefined;
    if (!role) return noSuchEntity(`The principal ${source} cannot be found.`);
    const context: Record<string, string | string[]> = {};
    for (const entry of list(body.ContextEntries) as Record<string, unknown>[]) {
      const values = list(entry.ContextKeyValues).map(String);
      if (typeof entry.ContextKeyName === 'string')
        context[entry.ContextKeyName] = values.length === 1 ? (values[0] as string) : values;
    }
    const caller = { arn: source, principalArn: source, policy: role.policy };
    const resources = list(body.ResourceArns).map(String);
    const members: string[] = [];
    for (const action of list(body.ActionNames).map(String))
      for (const resource of resources.length ? resources : ['*']) {
        const denial = this.iam.authorizer.firstDenial(caller, [{ action, resource, context }]);
        const decision = !denial ? 'allowed' : denial.explicit ? 'explicitDeny' : 'implicitDeny';
        members.push(
          `<member><EvalActionName>${esc(action)}</EvalActionName><EvalResourceName>${esc(resource)}</EvalResourceName>` +
            `<EvalDecision>${decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
        );
      }
    return result(
      'SimulatePrincipalPolicy',
      IAM_NS,
      `<EvaluationResults>${members.join('')}</EvaluationResults><IsTruncated>false</IsTruncated>`,
    );
  }
}
