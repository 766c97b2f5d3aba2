/**
 * The three roles the pipeline runs under, declared once: which document of iam/ is each role's policy, which
 * service may assume it, and which stack parameter names it. The CDK stack (infra/lib/roles.ts) builds the roles from
 * this, and local mode evaluates the same documents under the same names. Plain TypeScript (no aws-cdk-lib), so
 * local/ and the tests can read it without loading the CDK.
 *
 * The documents in iam/ name example resources (the bucket `acme-ml-pipelines`, the repository `jax-lm`, ...) and
 * leave region and account as `*`: `IAM_PLACEHOLDERS` says which stack parameter each example name stands for, and
 * `deployedResource` turns a Resource of iam/ into the Fn::Sub string the stack deploys.
 */
import path from 'node:path';

/** The directory of the policy documents: the one source that infra deploys and local mode enforces. */
export const POLICY_DIR = path.resolve(__dirname, '..', 'iam');

/** A role of the pipeline. */
export interface PipelineRole {
  /** Construct ID in the stack (the role's logical ID starts with it). */
  id: 'WorkerRole' | 'ExecutionRole' | 'CodeBuildRole';
  /** The stack parameter holding the role's name. */
  nameParameter: 'WorkerRoleName' | 'ExecutionRoleName' | 'CodeBuildRoleName';
  /** The name iam/ and the example specs use (the parameter's default; local mode deploys with it). */
  defaultName: string;
  /** Its policy document in iam/. */
  policyFile: string;
  /** The service principal its trust policy lets assume it. */
  trustedService: string;
  /** What the role is for (the role's Description). */
  description: string;
}

export const WORKER_ROLE: PipelineRole = {
  id: 'WorkerRole',
  nameParameter: 'WorkerRoleName',
  defaultName: 'PipelineWorkerRole',
  policyFile: 'worker-policy.json',
  trustedService: 'ecs-tasks.amazonaws.com',
  description: 'The pipeline worker (ECS task role): starts builds, jobs and endpoints (iam/worker-policy.json)',
};

export const EXECUTION_ROLE: PipelineRole = {
  id: 'ExecutionRole',
  nameParameter: 'ExecutionRoleName',
  defaultName: 'SageMakerExecutionRole',
  policyFile: 'sagemaker-execution-role-policy.json',
  trustedService: 'sagemaker.amazonaws.com',
  description: "SageMaker jobs' and endpoints' execution role (iam/sagemaker-execution-role-policy.json)",
};

export const CODEBUILD_ROLE: PipelineRole = {
  id: 'CodeBuildRole',
  nameParameter: 'CodeBuildRoleName',
  defaultName: 'CodeBuildImageRole',
  policyFile: 'codebuild-role-policy.json',
  trustedService: 'codebuild.amazonaws.com',
  description: "The image build's CodeBuild service role (iam/codebuild-role-policy.json)",
};

/** Every role, in the order the stack creates them. */
export const PIPELINE_ROLES: readonly PipelineRole[] = [WORKER_ROLE, EXECUTION_ROLE, CODEBUILD_ROLE];

/** An example name used in iam/ and the stack parameter it stands for. */
export interface Placeholder {
  /** The text in iam/ (matched inside Resource strings). */
  text: string;
  /** What the deployed policy has instead (Fn::Sub syntax). */
  replacement: string;
}

/**
 * The example names of iam/, longest first (a longer text is replaced before a shorter one it contains). Every one
 * must occur in some document: a renamed example in iam/ fails synthesis instead of deploying a stale name.
 */
export const IAM_PLACEHOLDERS: readonly Placeholder[] = [
  { text: 'acme-research-datasets/lm/', replacement: '${DatasetBucketName}/${DatasetPrefix}' },
  { text: 'acme-research-datasets', replacement: '${DatasetBucketName}' },
  { text: 'acme-ml-pipelines', replacement: '${BucketName}' },
  { text: 'repository/jax-lm', replacement: 'repository/${RepositoryName}' },
  { text: `role/${WORKER_ROLE.defaultName}`, replacement: `role/\${${WORKER_ROLE.nameParameter}}` },
  { text: `role/${EXECUTION_ROLE.defaultName}`, replacement: `role/\${${EXECUTION_ROLE.nameParameter}}` },
  { text: `role/${CODEBUILD_ROLE.defaultName}`, replacement: `role/\${${CODEBUILD_ROLE.nameParameter}}` },
];

/** Services whose ARNs carry no region (`arn:aws:iam::<account>:...`, `arn:aws:s3:::bucket`). */
const GLOBAL_SERVICES = new Set(['iam', 's3']);

/**
 * A Resource of iam/ as the stack deploys it (an Fn::Sub string): the partition, region and account of the stack
 * instead of `aws` and `*`, and the stack's names instead of the examples. `used` collects the placeholders applied.
 */
export function deployedResource(resource: string, used: Set<string> = new Set()): string {
  if (resource === '*') return resource;
  // A literal "${" in a policy (an IAM policy variable) must reach IAM unchanged: "${!" is Fn::Sub's escape.
  let out = resource.replace(/\$\{/g, '${!');
  for (const p of IAM_PLACEHOLDERS) {
    if (out.includes(p.text)) {
      out = out.split(p.text).join(p.replacement);
      used.add(p.text);
    }
  }
  const arn = /^arn:aws:([a-z0-9-]+):([^:]*):([^:]*):(.*)$/.exec(out);
  if (!arn) throw new Error(`${resource}: not an ARN of the aws partition (iam/ documents name resources by ARN)`);
  const [, service, region, account, rest] = arn as unknown as [string, string, string, string, string];
  const reg = GLOBAL_SERVICES.has(service) ? region : region === '*' ? '${AWS::Region}' : region;
  const acct = service === 's3' ? account : account === '*' ? '${AWS::AccountId}' : account;
  return `arn:\${AWS::Partition}:${service}:${reg}:${acct}:${rest}`;
}
