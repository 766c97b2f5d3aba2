/**
 * The account preflight: before the pipeline creates anything (and from `npm run cli -- doctor`), check what would
 * fail it hours later. Service Quotas for every instance the spec needs at its peak (contracts/account-preflight.ts
 * counts them); the execution and CodeBuild roles exist and trust their service (iam:GetRole); the worker may pass them
 * and make its calls (iam:SimulatePrincipalPolicy on its own principal); the bucket is in the run's region
 * (GetBucketLocation); the ECR repository exists or buildImage may create it. Every check reads; none creates.
 */
import { GetBucketLocationCommand } from '@aws-sdk/client-s3';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { GetRoleCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetServiceQuotaCommand, ListServiceQuotasCommand, type ServiceQuota } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  type AccountFinding,
  CheckAccountInput,
  type CheckAccountOutput,
  type QuotaNeed,
} from '../contracts/account-preflight';
import { ErrorType } from '../contracts/errors';
import { SAGEMAKER_INSTANCE_QUOTAS } from '../contracts/sagemaker-quotas.generated';
import { aws, awsErrorName, classifyAwsError, failure } from './aws-errors';
import type { ActivityDeps, AwsClients } from './deps';
import { parseInput } from './input';

/** Service Quotas' service code for SageMaker. */
const SERVICE_CODE = 'sagemaker';

/** The AWS CLI command that asks for a quota increase. */
export function increaseCommand(region: string, quotaCode: string, desired: number): string {
  return (
    `aws service-quotas request-service-quota-increase --region ${region} --service-code ${SERVICE_CODE} ` +
    `--quota-code ${quotaCode} --desired-value ${desired}`
  );
}

/** Runs a read; AccessDenied becomes a finding (the worker may not even look), anything else a typed failure. */
async function readOr<T>(
  action: string,
  call: () => Promise<T>,
  denied: (message: string) => AccountFinding,
): Promise<T | AccountFinding> {
  try {
    return await call();
  } catch (err) {
    if (classifyAwsError(err) === ErrorType.AccessDenied)
      return denied(`${action} was refused (${awsErrorName(err) ?? 'AccessDenied'}): ${(err as Error).message}`);
    return aws(action, () => Promise.reject(err));
  }
}

const isFinding = (v: unknown): v is AccountFinding =>
  typeof v === 'object' && v !== null && 'check' in v && 'status' in v;

/** Every SageMaker quota of the region by name, read once (ListServiceQuotas pages through them). */
function quotaLister(clients: AwsClients): () => Promise<Map<string, ServiceQuota>> {
  let listed: Promise<Map<string, ServiceQuota>> | undefined;
  return () =>
    (listed ??= (async () => {
      const byName = new Map<string, ServiceQuota>();
      let NextToken: string | undefined;
      do {
        const page = await clients.servicequotas.send(
          new ListServiceQuotasCommand({ ServiceCode: SERVICE_CODE, NextToken, MaxResults: 100 }),
        );
        for (const q of page.Quotas ?? []) if (q.QuotaName) byName.set(q.QuotaName, q);
        NextToken = page.NextToken;
      } while (NextToken);
      return byName;
    })());
}

async function checkQuota(
  clients: AwsClients,
  region: string,
  need: QuotaNeed,
  list: () => Promise<Map<string, ServiceQuota>>,
): Promise<AccountFinding> {
  const known = SAGEMAKER_INSTANCE_QUOTAS[need.quotaName]?.code;
  const found = await readOr<{ quota?: ServiceQuota; how: string }>(
    known ? `GetServiceQuota ${known}` : `ListServiceQuotas ${SERVICE_CODE}`,
    async () => {
      if (known) {
        const out = await clients.servicequotas.send(
          new GetServiceQuotaCommand({ ServiceCode: SERVICE_CODE, QuotaCode: known }),
        );
        return { quota: out.Quota, how: 'code' };
      }
      // A quota whose code is not in our table (a type launched after it was made): found by its name.
      return { quota: (await list()).get(need.quotaName), how: 'name' };
    },
    (message) => ({ check: 'quota', status: 'problem', message: `${need.quotaName}: ${message}` }),
  );
  if (isFinding(found)) return found;
  const q = found.quota;
  if (!q?.QuotaCode)
    return {
      check: 'quota',
      status: 'problem',
      message:
        `Service Quotas in ${region} has no SageMaker quota "${need.quotaName}" (${need.why}): the instance type ` +
        `is not offered for this use there; pick another type or region`,
    };
  const has = q.Value ?? 0;
  const named = `"${need.quotaName}" (${q.QuotaCode}${found.how === 'name' ? ', found by name' : ''})`;
  if (has >= need.need)
    return { check: 'quota', status: 'ok', message: `${named}: need ${need.need}, have ${has} (${need.why})` };
  return {
    check: 'quota',
    status: 'problem',
    message: `${named}: the spec needs ${need.need}, the account has ${has} (${need.why})`,
    fix: increaseCommand(region, q.QuotaCode, need.need),
  };
}

/** True when a trust policy lets `service` assume the role (an Allow of sts:AssumeRole to that service principal). */
export function trusts(document: string | undefined, service: string): boolean {
  if (!document) return false;
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(decodeURIComponent(document)) as { Statement?: unknown };
  } catch {
    return false;
  }
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return list(doc.Statement as Record<string, unknown>[] | Record<string, unknown>).some((s) => {
    if (s.Effect !== 'Allow' || s.Condition !== undefined) return false;
    const actions = list(s.Action as string | string[]);
    if (!actions.some((a) => ['sts:AssumeRole', 'sts:*', '*'].includes(a))) return false;
    const principal = s.Principal as { Service?: string | string[] } | undefined;
    return list(principal?.Service).includes(service);
  });
}

async function checkRole(
  clients: AwsClients,
  role: { field: string; roleArn: string; service: string },
): Promise<AccountFinding> {
  const name = role.roleArn.split('/').pop() as string;
  const got = await readOr(
    `GetRole ${name}`,
    async () => {
      try {
        return (await clients.iam.send(new GetRoleCommand({ RoleName: name }))).Role ?? null;
      } catch (err) {
        if (awsErrorName(err) === 'NoSuchEntityException' || awsErrorName(err) === 'NoSuchEntity') return null;
        throw err;
      }
    },
    (message) => ({ check: 'role', status: 'problem', message: `${role.field} ${role.roleArn}: ${message}` }),
  );
  if (isFinding(got)) return got;
  if (!got)
    return {
      check: 'role',
      status: 'problem',
      message: `${role.field}: role ${role.roleArn} does not exist (deploy infra/, or create it from iam/)`,
    };
  if (got.Arn !== role.roleArn)
    return {
      check: 'role',
      status: 'problem',
      message: `${role.field}: the spec names ${role.roleArn} but the role ${name} is ${got.Arn}`,
    };
  if (!trusts(got.AssumeRolePolicyDocument, role.service))
    return {
      check: 'role',
      status: 'problem',
      message: `${role.field}: role ${role.roleArn} does not trust ${role.service} (its trust policy must allow it sts:AssumeRole)`,
    };
  return { check: 'role', status: 'ok', message: `${role.field}: ${role.roleArn} exists and trusts ${role.service}` };
}

/** The IAM principal to simulate for a caller ARN: a role for a role session, the user itself; else none. */
export function simulatablePrincipal(callerArn: string): string | undefined {
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\//.test(callerArn)) return callerArn;
  return undefined;
}

async function checkPermissions(
  clients: AwsClients,
  input: ReturnType<typeof parseInput<typeof CheckAccountInput>>,
  region: string,
  principalArn?: string,
): Promise<AccountFinding[]> {
  const who = await aws('GetCallerIdentity', () => clients.sts.send(new GetCallerIdentityCommand({})));
  const account = who.Account ?? '';
  const principal = principalArn ?? simulatablePrincipal(who.Arn ?? '');
  if (!principal)
    return [
      {
        check: 'permission',
        status: 'note',
        message: `not simulated: ${who.Arn} is not a role or user IAM can simulate (run doctor with --principal-arn)`,
      },
    ];
  const findings: AccountFinding[] = [];
  for (const call of input.calls) {
    const resource = call.resource.replaceAll('{region}', region).replaceAll('{account}', account);
    const context = Object.entries(call.context).map(([ContextKeyName, v]) => ({
      ContextKeyName,
      ContextKeyValues: Array.isArray(v) ? v : [v],
      ContextKeyType: Array.isArray(v) ? ('stringList' as const) : ('string' as const),
    }));
    const out = await readOr(
      `SimulatePrincipalPolicy ${principal}`,
      () =>
        clients.iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: principal,
            ActionNames: [call.action],
            ResourceArns: [resource],
            ...(context.length ? { ContextEntries: context } : {}),
          }),
        ),
      (message) => ({ check: 'permission', status: 'problem', message }),
    );
    if (isFinding(out)) return [out];
    const decision = out.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny';
    const on = `${call.action} on ${resource}${context.length ? ` (${context.map((c) => `${c.ContextKeyName}=${c.ContextKeyValues.join('|')}`).join(', ')})` : ''}`;
    findings.push(
      decision === 'allowed'
        ? { check: 'permission', status: 'ok', message: `${principal} may call ${on}` }
        : {
            check: 'permission',
            status: 'problem',
            message: `${principal} may not call ${on}: ${decision} (grant it as iam/worker-policy.json does)`,
          },
    );
  }
  return findings;
}

/** GetBucketLocation's answer as a region: empty means us-east-1, and the legacy "EU" is eu-west-1. */
export function bucketRegion(constraint: string | undefined): string {
  if (!constraint) return 'us-east-1';
  return constraint === 'EU' ? 'eu-west-1' : constraint;
}

async function checkBucket(clients: AwsClients, bucket: string, region: string): Promise<AccountFinding> {
  const got = await readOr(
    `GetBucketLocation ${bucket}`,
    async () => {
      try {
        return (await clients.s3.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint ?? '';
      } catch (err) {
        if (awsErrorName(err) === 'NoSuchBucket') return null;
        throw err;
      }
    },
    (message) => ({ check: 'bucket', status: 'problem', message: `bucket ${bucket}: ${message}` }),
  );
  if (isFinding(got)) return got;
  if (got === null)
    return { check: 'bucket', status: 'problem', message: `bucket ${bucket} does not exist (deploy infra/)` };
  const where = bucketRegion(got);
  if (where !== region)
    return {
      check: 'bucket',
      status: 'problem',
      message: `bucket ${bucket} is in ${where}, the run is in ${region}: SageMaker reads its channels from the run's region`,
    };
  return { check: 'bucket', status: 'ok', message: `bucket ${bucket} is in ${region}` };
}

async function checkRepository(clients: AwsClients, repository: string): Promise<AccountFinding> {
  const got = await readOr(
    `DescribeRepositories ${repository}`,
    async () => {
      try {
        return (await clients.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] })))
          .repositories?.[0];
      } catch (err) {
        if (awsErrorName(err) === 'RepositoryNotFoundException') return null;
        throw err;
      }
    },
    (message) => ({ check: 'repository', status: 'problem', message: `repository ${repository}: ${message}` }),
  );
  if (isFinding(got)) return got;
  if (!got)
    return {
      check: 'repository',
      status: 'note',
      message: `ECR repository ${repository} does not exist yet: buildImage creates it (ecr:CreateRepository is checked above)`,
    };
  return { check: 'repository', status: 'ok', message: `ECR repository ${repository} exists (${got.repositoryUri})` };
}

/** Options of a check run: the principal to simulate instead of the caller's own (the CLI's --principal-arn). */
export interface AccountCheckOptions {
  principalArn?: string;
}

/** Runs every check and returns every finding (the CLI prints them all; the activity refuses on a problem). */
export async function accountFindings(
  clients: AwsClients,
  raw: CheckAccountInput,
  options: AccountCheckOptions = {},
): Promise<AccountFinding[]> {
  const input = parseInput(CheckAccountInput, raw, 'checkAccount');
  const region = input.region ?? (await clients.sagemaker.config.region());
  const list = quotaLister(clients);
  const findings: AccountFinding[] = [];
  for (const need of input.quotas) findings.push(await checkQuota(clients, region, need, list));
  for (const role of input.roles) findings.push(await checkRole(clients, role));
  findings.push(...(await checkPermissions(clients, input, region, options.principalArn)));
  findings.push(await checkBucket(clients, input.bucket, region));
  findings.push(await checkRepository(clients, input.repository));
  return findings;
}

/** The problems as one message: each on its line, with the command that fixes a quota. */
export function problemReport(findings: AccountFinding[]): string {
  return findings
    .filter((f) => f.status === 'problem')
    .map((f) => `- ${f.check}: ${f.message}${f.fix ? `\n    request: ${f.fix}` : ''}`)
    .join('\n');
}

/** The preflight activity the pipeline runs first. */
export function createAccountPreflightActivities({ clients }: ActivityDeps) {
  return {
    /**
     * Checks the account for the spec (quotas, roles, permissions, bucket, repository); refuses with PreflightFailed
     * (not retried: the account must change first) listing every problem, before anything is created.
     */
    async checkAccount(raw: CheckAccountInput): Promise<CheckAccountOutput> {
      const findings = await accountFindings(clients, raw);
      const problems = findings.filter((f) => f.status === 'problem');
      if (problems.length)
        throw failure(
          ErrorType.PreflightFailed,
          `Account preflight: ${problems.length} problem(s); nothing was created.\n${problemReport(findings)}`,
          { findings },
        );
      return { findings };
    },
  };
}
