/**
 * The pipeline's three roles, their policies generated from the documents of iam/: each statement as written, its
 * resources moved into the stack's partition, region and account and onto the stack's names (infra/iam-roles.ts).
 * The documents stay the one source; nothing here adds or drops a permission.
 */
import { Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import fs from 'node:fs';
import path from 'node:path';
import { deployedResource, IAM_PLACEHOLDERS, PIPELINE_ROLES, type PipelineRole } from '../iam-roles';
import type { StackParameters } from './parameters';

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
  NotPrincipal?: unknown;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());

/** Reads a policy document of `policyDir`, naming the file in any error. */
export function readPolicyFile(policyDir: string, file: string): { Statement: Statement[] } {
  const where = path.join(policyDir, file);
  let doc: { Version?: string; Statement?: Statement | Statement[] };
  try {
    doc = JSON.parse(fs.readFileSync(where, 'utf8')) as typeof doc;
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  if (doc.Version !== '2012-10-17') throw new Error(`${where}: Version must be "2012-10-17"`);
  if (!doc.Statement) throw new Error(`${where}: no Statement`);
  return { Statement: [doc.Statement].flat() };
}

/** The document `file` as the stack deploys it; `used` collects the placeholders it contained. */
export function deployedPolicy(policyDir: string, file: string, used: Set<string>): iam.PolicyDocument {
  const statements = readPolicyFile(policyDir, file).Statement.map((s, i) => {
    const where = `${path.join(policyDir, file)} statement ${s.Sid ?? i}`;
    if (s.Principal || s.NotPrincipal) throw new Error(`${where}: an identity policy has no Principal`);
    const sub = (r: string) => {
      try {
        const d = deployedResource(r, used);
        return d === '*' ? d : Fn.sub(d);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
    };
    return new iam.PolicyStatement({
      sid: s.Sid,
      effect: s.Effect === 'Deny' ? iam.Effect.DENY : iam.Effect.ALLOW,
      actions: list(s.Action),
      notActions: list(s.NotAction),
      resources: list(s.Resource).map(sub),
      notResources: list(s.NotResource).map(sub),
      conditions: s.Condition,
    });
  });
  return new iam.PolicyDocument({ statements });
}

/** The roles, by their construct ID. */
export type PipelineRoles = Record<PipelineRole['id'], iam.Role>;

/** Creates the three roles with their policies from `policyDir` (the repository's iam/ by default). */
export function pipelineRoles(scope: Construct, params: StackParameters, policyDir: string): PipelineRoles {
  const used = new Set<string>();
  const roles = {} as PipelineRoles;
  for (const r of PIPELINE_ROLES) {
    const nameParam = params.roleNames[r.nameParameter];
    if (!nameParam) throw new Error(`no parameter ${r.nameParameter}`);
    roles[r.id] = new iam.Role(scope, r.id, {
      roleName: nameParam.valueAsString,
      description: r.description,
      assumedBy: new iam.ServicePrincipal(r.trustedService),
    });
    // The role's inline policy as its own AWS::IAM::Policy resource (the same inline policy in IAM): moto's
    // CloudFormation stores a Role's `Policies` as Python text, but this resource as the JSON IAM keeps.
    new iam.Policy(scope, `${r.id}Policy`, {
      policyName: path.basename(r.policyFile, '.json'),
      roles: [roles[r.id]],
      document: deployedPolicy(policyDir, r.policyFile, used),
    });
  }
  const unused = IAM_PLACEHOLDERS.filter((p) => !used.has(p.text)).map((p) => p.text);
  if (unused.length)
    throw new Error(
      `infra/iam-roles.ts: IAM_PLACEHOLDERS names ${unused.join(', ')}, which no document of ${policyDir} contains ` +
        '(an example name was changed in iam/: change it there too)',
    );
  return roles;
}
