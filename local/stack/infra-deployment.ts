/**
 * Local mode deploys infra/'s template, the one `npx cdk deploy` deploys to AWS, into moto's CloudFormation: the
 * three roles with their policies from iam/, the pipeline bucket, the image repository and the job log groups.
 * The local service then reads the roles back from moto's IAM (local/service/iam/policies.ts).
 *
 * `localTemplate` is the one place that decides what of the template local mode leaves out, each with its reason
 * (LEFT_OUT_TYPES, LEFT_OUT_RESOURCES); every other resource must be of a type moto was shown to create with its
 * effect (DEPLOYED_TYPES, proved by test/unit/local/infra-deployment.test.ts), or the deployment refuses to start.
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { POLICY_DIR } from '../../infra/iam-roles';
import { STACK_NAME, WORKER_RUNTIME_IDS } from '../../infra/resource-ids';
import { REGION } from '../shared/account';
import { ADMIN_CREDENTIALS } from '../shared/credentials';
import { waitUntil } from '../shared/procs';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A CloudFormation template, as far as the transform reads it. */
export interface Template {
  Parameters?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; DependsOn?: string | string[] } & object>;
  Outputs?: Record<string, unknown>;
  [section: string]: unknown;
}

/** Resource types moto's CloudFormation creates with their effect (roles and policies readable from its IAM, ...). */
export const DEPLOYED_TYPES = [
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::S3::Bucket',
  'AWS::ECR::Repository',
  'AWS::Logs::LogGroup',
  'AWS::SQS::Queue',
  'AWS::Events::Rule',
] as const;

/** Resource types local mode leaves out, and why. */
export const LEFT_OUT_TYPES: Record<string, string> = {
  'AWS::S3::BucketPolicy':
    "moto's CloudFormation has no handler for it (it reports the resource created and applies nothing), and local " +
    'mode evaluates no bucket policy: its TLS-only rule has nothing to act on over http://127.0.0.1',
  'AWS::SQS::QueuePolicy':
    "moto's CloudFormation has no handler for it, and moto's EventBridge delivers to a queue without reading one " +
    '(test/unit/local/state-events.test.ts shows the rule delivering); its TLS-only rule has nothing to act on over ' +
    'http://127.0.0.1',
};

const WORKER_RUNS_LOCALLY =
  "the worker's ECS runtime: in local mode the worker is a local process (npm run worker, the harness), and " +
  "moto's ECS would record a service that runs nothing";

/** Resources (logical IDs) local mode leaves out, and why. */
export const LEFT_OUT_RESOURCES: Record<string, string> = Object.fromEntries(
  Object.values(WORKER_RUNTIME_IDS).map((id) => [id, WORKER_RUNS_LOCALLY]),
);

/** The parameters of the local deployment: the names the example specs and iam/ use (the rest keep defaults). */
export const LOCAL_PARAMETERS: Record<string, string> = {
  BucketName: 'acme-ml-pipelines',
  DatasetBucketName: 'acme-research-datasets',
};

/** Whether `text` (a template section, as JSON) refers to `name` (Ref, GetAtt, Fn::Sub, a condition). */
function refersTo(text: string, name: string): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `"Ref":"${n}"|"Fn::GetAtt":\\["${n}"|\\$\\{${n}[.}]|"Condition":"${n}"|"Fn::If":\\["${n}"|"Condition":\\{"Ref":"${n}"`,
  ).test(text);
}

/**
 * The template local mode deploys: `template` without what LEFT_OUT_* name, without the outputs, conditions and
 * parameters only those used. Throws when a kept resource refers to a left-out one or is of a type not proven.
 */
export function localTemplate(template: Template): { template: Template; leftOut: { id: string; reason: string }[] } {
  const leftOut: { id: string; reason: string }[] = [];
  const resources: Template['Resources'] = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    const reason = LEFT_OUT_RESOURCES[id] ?? LEFT_OUT_TYPES[r.Type];
    if (reason) leftOut.push({ id, reason });
    else resources[id] = r;
  }
  for (const [id, r] of Object.entries(resources)) {
    if (!(DEPLOYED_TYPES as readonly string[]).includes(r.Type))
      throw new Error(
        `infra template: ${id} is a ${r.Type}, which local mode has not shown moto's CloudFormation to create: ` +
          'prove it (test/unit/local/infra-deployment.test.ts) and add it to DEPLOYED_TYPES, or leave it out with a ' +
          'reason (local/stack/infra-deployment.ts)',
      );
    const text = JSON.stringify(r);
    for (const gone of leftOut)
      if (refersTo(text, gone.id) || [r.DependsOn ?? []].flat().includes(gone.id))
        throw new Error(`infra template: ${id} refers to ${gone.id}, which local mode leaves out`);
  }
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).filter(([, o]) => !leftOut.some((g) => refersTo(JSON.stringify(o), g.id))),
  );
  const kept = JSON.stringify({ resources, outputs });
  const conditions = Object.fromEntries(
    Object.entries(template.Conditions ?? {}).filter(([name]) => refersTo(kept, name)),
  );
  const used = kept + JSON.stringify(conditions);
  const parameters = Object.fromEntries(
    Object.entries(template.Parameters ?? {}).filter(([name]) => refersTo(used, name)),
  );
  const out: Template = { ...template, Parameters: parameters, Conditions: conditions, Resources: resources };
  out.Outputs = outputs;
  if (Object.keys(conditions).length === 0) delete out.Conditions;
  return { template: out, leftOut };
}

/** A hash of what the template depends on: the policy documents, infra/'s sources and the CDK's version. */
function templateKey(policyDir: string): string {
  const h = createHash('sha256');
  const files = (dir: string, match: (f: string) => boolean): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory()
          ? e.name === 'cdk.out'
            ? []
            : files(path.join(dir, e.name), match)
          : match(e.name)
            ? [path.join(dir, e.name)]
            : [],
      )
      .sort();
  for (const f of [
    ...files(policyDir, (f) => f.endsWith('.json')),
    ...files(path.join(REPO_ROOT, 'infra'), (f) => /\.(ts|json)$/.test(f)),
  ])
    h.update(`${path.relative(REPO_ROOT, f)}\0`)
      .update(fs.readFileSync(f))
      .update('\0');
  h.update(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'aws-cdk-lib', 'package.json')));
  return h.digest('hex').slice(0, 24);
}

/**
 * infra/'s template synthesized from the documents of `policyDir`: `npm run infra:synth -- --no-checks` in a child
 * process (the CDK is not loaded here), kept under node_modules/.cache/ by a hash of its inputs.
 */
export async function synthesizedTemplate(policyDir: string = POLICY_DIR): Promise<Template> {
  const cacheDir = path.join(REPO_ROOT, 'node_modules', '.cache', 'infra-templates');
  const cached = path.join(cacheDir, `${templateKey(policyDir)}.json`);
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, 'utf8')) as Template;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-synth-'));
  try {
    await promisify(execFile)(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(REPO_ROOT, 'infra', 'synth.ts'), '--out', out, '--policy-dir', policyDir, '--no-checks'],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: Error & { stderr?: string }) => {
      throw new Error(`synthesizing infra/ from ${policyDir} failed: ${err.stderr || err.message}`);
    });
    const text = fs.readFileSync(path.join(out, `${STACK_NAME}.template.json`), 'utf8');
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, cached);
    return JSON.parse(text) as Template;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** What a deployment did. */
export type DeploymentOutcome = 'created' | 'updated' | 'unchanged';

async function settled(cf: CloudFormationClient): Promise<Stack> {
  let stack: Stack | undefined;
  await waitUntil(
    async () => {
      stack = (await cf.send(new DescribeStacksCommand({ StackName: STACK_NAME }))).Stacks?.[0];
      return !stack?.StackStatus?.endsWith('_IN_PROGRESS');
    },
    60_000,
    `stack ${STACK_NAME}`,
    200,
  );
  const status = stack?.StackStatus ?? '';
  if (status !== 'CREATE_COMPLETE' && status !== 'UPDATE_COMPLETE') {
    const events = (await cf.send(new DescribeStackEventsCommand({ StackName: STACK_NAME }))).StackEvents ?? [];
    const failed = events
      .filter((event) => event.ResourceStatus?.endsWith('_FAILED'))
      .map((event) => `${event.LogicalResourceId}: ${event.ResourceStatusReason}`);
    throw new Error(`stack ${STACK_NAME} is ${status}: ${stack?.StackStatusReason ?? ''} ${failed.join('; ')}`);
  }
  return stack as Stack;
}

/**
 * Deploys infra/'s template (synthesized from `policyDir`, default LOCAL_IAM_POLICY_DIR or iam/) into moto at
 * `motoEndpoint` as stack SageMakerPipeline: created when missing, updated when the template differs, else left.
 */
export async function deployLocalInfra(opts: {
  motoEndpoint: string;
  policyDir?: string;
  say?: (msg: string) => void;
}): Promise<DeploymentOutcome> {
  const policyDir = path.resolve(opts.policyDir ?? (process.env.LOCAL_IAM_POLICY_DIR || POLICY_DIR));
  const { template, leftOut } = localTemplate(await synthesizedTemplate(policyDir));
  const body = JSON.stringify(template);
  const cf = new CloudFormationClient({ endpoint: opts.motoEndpoint, region: REGION, credentials: ADMIN_CREDENTIALS });
  try {
    const request = {
      StackName: STACK_NAME,
      TemplateBody: body,
      Parameters: Object.entries(LOCAL_PARAMETERS)
        .filter(([k]) => k in (template.Parameters ?? {}))
        .map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Capabilities: ['CAPABILITY_NAMED_IAM' as const],
    };
    const existing = await cf
      .send(new DescribeStacksCommand({ StackName: STACK_NAME }))
      .then((r) => r.Stacks?.[0])
      .catch((err: Error) => {
        if (/does not exist/.test(err.message)) return undefined;
        throw err;
      });
    let outcome: DeploymentOutcome;
    if (!existing) {
      await cf.send(new CreateStackCommand(request));
      outcome = 'created';
    } else {
      const current = (await cf.send(new GetTemplateCommand({ StackName: STACK_NAME }))).TemplateBody ?? '';
      if (JSON.stringify(JSON.parse(current)) === body) {
        opts.say?.(`infra: stack ${STACK_NAME} in moto is current`);
        return 'unchanged';
      }
      await cf.send(new UpdateStackCommand(request));
      outcome = 'updated';
    }
    await settled(cf);
    opts.say?.(
      `infra: stack ${STACK_NAME} ${outcome} in moto from infra/ (policies of ${path.relative(REPO_ROOT, policyDir) || '.'}); ` +
        `left out: ${leftOut.map((l) => l.id).join(', ')} (docs/infrastructure.md)`,
    );
    return outcome;
  } finally {
    cf.destroy();
  }
}
