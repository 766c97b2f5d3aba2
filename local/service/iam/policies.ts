/**
 * The identities local mode knows and the policies attached to them: the worker (iam/worker-policy.json) and the
 * roles SageMaker and CodeBuild assume (a table from role name to its iam/ policy file and the services its trust
 * policy lets assume it). Documents are read once, validated with @cloud-copilot/iam-policy, and kept in memory; a
 * bad document fails the service at start, naming the file and the error.
 *
 * Settings: LOCAL_IAM=off turns enforcement off; LOCAL_IAM_POLICY_DIR points at another directory holding the three
 * policy files (default: the repository's iam/); LOCAL_IAM_ROLES names a JSON file of extra roles
 * (`{"RoleName": {"policy": "file.json" | {...}, "trustedServices": ["sagemaker.amazonaws.com"]}}`, files relative
 * to it), for tests whose jobs run under roles of their own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateIdentityPolicy } from '@cloud-copilot/iam-policy';
import { ACCOUNT_ID } from '../../shared/account';

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

/**
 * The roles of the example specs (examples/pipeline.*.json) and the policy each has on AWS (README: "Create the
 * roles from iam/"). Their trust policies name one service each, so SageMaker cannot assume the build role.
 */
export const LOCAL_ROLES: Record<string, RoleDeclaration> = {
  SageMakerExecutionRole: { policy: 'sagemaker-execution-role-policy.json', trustedServices: [SAGEMAKER_SERVICE] },
  CodeBuildImageRole: { policy: 'codebuild-role-policy.json', trustedServices: [CODEBUILD_SERVICE] },
};

/** The worker's policy file in the policy directory. */
export const WORKER_POLICY_FILE = 'worker-policy.json';

/** Where the policies live: LOCAL_IAM_POLICY_DIR, else the repository's iam/. */
export function defaultPolicyDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.LOCAL_IAM_POLICY_DIR || path.join(__dirname, '..', '..', '..', 'iam'));
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

/** The identities of local mode, their policies loaded and validated. */
export class PolicySet {
  readonly worker: PolicyDocument;
  readonly workerSource: string;
  private readonly roles = new Map<string, RoleDefinition>();

  constructor(
    readonly dir: string = defaultPolicyDir(),
    extraRoles: Record<string, RoleDeclaration> = {},
    extraRolesBase = dir,
  ) {
    this.workerSource = path.join(dir, WORKER_POLICY_FILE);
    this.worker = readPolicy(this.workerSource);
    for (const [name, decl] of Object.entries(LOCAL_ROLES)) this.addRole(name, decl, dir);
    for (const [name, decl] of Object.entries(extraRoles)) this.addRole(name, decl, extraRolesBase);
  }

  /** Reads LOCAL_IAM_POLICY_DIR and LOCAL_IAM_ROLES. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): PolicySet {
    const rolesFile = env.LOCAL_IAM_ROLES;
    if (!rolesFile) return new PolicySet(defaultPolicyDir(env));
    let extra: Record<string, RoleDeclaration>;
    try {
      extra = JSON.parse(fs.readFileSync(rolesFile, 'utf8')) as Record<string, RoleDeclaration>;
    } catch (err) {
      throw new Error(`LOCAL_IAM_ROLES: ${rolesFile} cannot be read: ${(err as Error).message}`);
    }
    return new PolicySet(defaultPolicyDir(env), extra, path.dirname(path.resolve(rolesFile)));
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

  /** Role names known to local mode. */
  roleNames(): string[] {
    return [...this.roles.keys()];
  }
}
