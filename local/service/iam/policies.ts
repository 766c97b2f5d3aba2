/**
 * The identities local mode knows and the policies attached to them. In a running stack they are what was deployed:
 * `npm run local -- up` deploys infra/'s template (the roles with their policies from iam/) into moto
 * (local/stack/infra-deployment.ts), and `fromDeployment` reads every role back from moto's IAM (GetRole for the
 * trust policy, ListRolePolicies/GetRolePolicy and ListAttachedRolePolicies/GetPolicyVersion for its policies).
 * `fromDocuments` judges the documents of iam/ under the role names infra declares (infra/iam-roles.ts) without a
 * deployment: for tests of the policies themselves and the IAM bench. Documents are validated with
 * @cloud-copilot/iam-policy and kept in memory; a bad document fails the service at start, naming it and the error.
 *
 * Settings: LOCAL_IAM=off turns enforcement off; LOCAL_IAM_ROLES names a JSON file of extra roles
 * (`{"RoleName": {"policy": "file.json" | {...}, "trustedServices": ["sagemaker.amazonaws.com"]}}`, files relative
 * to it), for tests whose jobs run under roles of their own. LOCAL_IAM_POLICY_DIR (the documents the deployed
 * template is synthesized from) is read by the deployment.
 */
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  paginateListRoles,
} from '@aws-sdk/client-iam';
import fs from 'node:fs';
import path from 'node:path';
import { validateIdentityPolicy } from '@cloud-copilot/iam-policy';
import { PIPELINE_ROLES, POLICY_DIR, WORKER_ROLE } from '../../../infra/iam-roles';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import { ADMIN_CREDENTIALS } from '../../shared/credentials';

/** An IAM policy document (JSON). */
export type PolicyDocument = { Version?: string; Statement: PolicyStatement[] | PolicyStatement };
/** One statement of a policy document. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A role local mode can hand out sessions of. */
export interface RoleDefinition {
  /** The identity policy attached to the role. */
  policy: PolicyDocument;
  /** Service principals the role's trust policy allows to assume it (`sagemaker.amazonaws.com`, ...). */
  trustedServices: string[];
  /** Where the policy came from, for messages. */
  source: string;
}

/** How a role is declared: its policy (inline, or a file name) and who may assume it. */
export interface RoleDeclaration {
  policy: string | PolicyDocument;
  trustedServices: string[];
}

export const SAGEMAKER_SERVICE = 'sagemaker.amazonaws.com';
export const CODEBUILD_SERVICE = 'codebuild.amazonaws.com';

/** Where the policy documents live: LOCAL_IAM_POLICY_DIR, else the repository's iam/. */
export function defaultPolicyDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.LOCAL_IAM_POLICY_DIR || POLICY_DIR);
}

/** Whether IAM is enforced: on unless LOCAL_IAM is `off` (or `0`/`false`). */
export function iamEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.LOCAL_IAM ?? 'on').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(v)) return false;
  if (['on', '1', 'true', 'yes', ''].includes(v)) return true;
  throw new Error(`LOCAL_IAM must be on or off, got ${JSON.stringify(env.LOCAL_IAM)}`);
}

function readPolicy(file: string): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`IAM policy ${file} cannot be read: ${(err as Error).message}`);
  }
  return checked(doc, file);
}

function checked(doc: unknown, source: string): PolicyDocument {
  const errors = validateIdentityPolicy(doc);
  if (errors.length)
    throw new Error(
      `IAM policy ${source} is not a valid identity policy: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return doc as PolicyDocument;
}

/** A role's identity policies as one document: IAM allows what any of them allows, and any deny wins. */
function merged(docs: PolicyDocument[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: docs.flatMap((policy) => [policy.Statement].flat()) };
}

/** The service principals an (already parsed) trust policy lets assume the role with sts:AssumeRole. */
export function trustedServicesOf(trust: unknown): string[] {
  const statements = [(trust as { Statement?: unknown } | undefined)?.Statement ?? []].flat() as {
    Effect?: string;
    Action?: string | string[];
    Principal?: { Service?: string | string[] };
  }[];
  return statements
    .filter((st) => st.Effect === 'Allow' && [st.Action ?? []].flat().includes('sts:AssumeRole'))
    .flatMap((st) => [st.Principal?.Service ?? []].flat());
}

/** IAM returns policy documents URL-encoded (RFC 3986), as the API reference says. */
function decodedJson(text: string | undefined, what: string): unknown {
  if (!text) throw new Error(`${what}: IAM returned no document`);
  try {
    return JSON.parse(decodeURIComponent(text));
  } catch (err) {
    throw new Error(`${what}: not a JSON policy document (${(err as Error).message})`);
  }
}

/** Reads LOCAL_IAM_ROLES: the extra roles and the directory their policy files are relative to. */
export function extraRolesFromEnv(env: NodeJS.ProcessEnv = process.env): {
  roles: Record<string, RoleDeclaration>;
  base: string;
} {
  const rolesFile = env.LOCAL_IAM_ROLES;
  if (!rolesFile) return { roles: {}, base: process.cwd() };
  try {
    const roles = JSON.parse(fs.readFileSync(rolesFile, 'utf8')) as Record<string, RoleDeclaration>;
    return { roles, base: path.dirname(path.resolve(rolesFile)) };
  } catch (err) {
    throw new Error(`LOCAL_IAM_ROLES: ${rolesFile} cannot be read: ${(err as Error).message}`);
  }
}

/** The identities of local mode: every role, its policies loaded and validated. */
export class PolicySet {
  private readonly roles = new Map<string, RoleDefinition>();

  private constructor() {}

  /**
   * The documents of `dir` (default: iam/) under the roles infra declares (infra/iam-roles.ts: name, policy file,
   * trusted service), plus `extraRoles`: what a deployment of them would hold, without deploying.
   */
  static fromDocuments(
    dir: string = POLICY_DIR,
    extraRoles: Record<string, RoleDeclaration> = {},
    extraRolesBase = dir,
  ): PolicySet {
    const set = new PolicySet();
    for (const r of PIPELINE_ROLES)
      set.addRole(r.defaultName, { policy: r.policyFile, trustedServices: [r.trustedService] }, dir);
    for (const [name, decl] of Object.entries(extraRoles)) set.addRole(name, decl, extraRolesBase);
    return set;
  }

  /**
   * Every role of moto's IAM at `motoEndpoint` (what `local up` deployed), with its trust policy and every policy
   * attached to it, plus `extra` roles (default: LOCAL_IAM_ROLES).
   */
  static async fromDeployment(
    motoEndpoint: string,
    extra: { roles: Record<string, RoleDeclaration>; base: string } = extraRolesFromEnv(),
  ): Promise<PolicySet> {
    const set = new PolicySet();
    const iam = new IAMClient({ endpoint: motoEndpoint, region: REGION, credentials: ADMIN_CREDENTIALS });
    try {
      for await (const page of paginateListRoles({ client: iam }, {}))
        for (const listed of page.Roles ?? []) {
          const name = listed.RoleName as string;
          const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
          const trust = decodedJson(role?.AssumeRolePolicyDocument, `role ${name}: trust policy`);
          const docs: PolicyDocument[] = [];
          for await (const p of paginateListRolePolicies({ client: iam }, { RoleName: name }))
            for (const policyName of p.PolicyNames ?? []) {
              const got = await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName }));
              const what = `role ${name}: inline policy ${policyName}`;
              docs.push(checked(decodedJson(got.PolicyDocument, what), `${what} (deployed)`));
            }
          for await (const p of paginateListAttachedRolePolicies({ client: iam }, { RoleName: name }))
            for (const attached of p.AttachedPolicies ?? []) {
              const what = `role ${name}: managed policy ${attached.PolicyArn}`;
              const policy = (await iam.send(new GetPolicyCommand({ PolicyArn: attached.PolicyArn }))).Policy;
              const version = await iam.send(
                new GetPolicyVersionCommand({ PolicyArn: attached.PolicyArn, VersionId: policy?.DefaultVersionId }),
              );
              docs.push(checked(decodedJson(version.PolicyVersion?.Document, what), `${what} (deployed)`));
            }
          set.roles.set(name, {
            policy: merged(docs),
            trustedServices: trustedServicesOf(trust),
            source: `role ${name} as deployed (${docs.length} policies)`,
          });
        }
    } finally {
      iam.destroy();
    }
    for (const [name, decl] of Object.entries(extra.roles)) set.addRole(name, decl, extra.base);
    return set;
  }

  private addRole(name: string, decl: RoleDeclaration, base: string): void {
    if (!Array.isArray(decl.trustedServices) || decl.trustedServices.length === 0)
      throw new Error(`IAM role ${name}: trustedServices must name at least one service principal`);
    const source = typeof decl.policy === 'string' ? path.resolve(base, decl.policy) : `role ${name} (inline)`;
    const policy = typeof decl.policy === 'string' ? readPolicy(source) : checked(decl.policy, source);
    this.roles.set(name, { policy, trustedServices: decl.trustedServices, source });
  }

  /** The role an ARN names, if it exists in local mode's account (`arn:aws:iam::<account>:role/[path/]Name`). */
  role(roleArn: string): RoleDefinition | undefined {
    const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn);
    if (!m || m[1] !== ACCOUNT_ID) return undefined;
    return this.roles.get(m[2] as string);
  }

  /** The worker role's policy (infra's worker role; the worker's credentials are a session of it). */
  get worker(): PolicyDocument {
    const worker = this.roles.get(WORKER_ROLE.defaultName);
    if (!worker) throw new Error(`no role ${WORKER_ROLE.defaultName} in local mode (infra/ deploys it)`);
    return worker.policy;
  }

  /** Role names known to local mode. */
  roleNames(): string[] {
    return [...this.roles.keys()];
  }
}
