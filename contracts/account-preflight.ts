/**
 * The account preflight (`npm run cli -- doctor`, and the pipeline's first activity): what a spec needs from the AWS
 * account before anything is created. Pure functions of the spec, safe in the workflow sandbox: the instance quotas
 * the run will use at its peak, the roles and the service each must trust, and the calls the worker will make
 * (simulated with iam:SimulatePrincipalPolicy by the activity).
 */
import { z } from 'zod';
import { codeBuildProjectName } from './names';
import type { PipelineSpec } from './pipeline-spec';

/** What one quota must allow: the quota's name in Service Quotas, the instances needed, and why. */
export const QuotaNeed = z.strictObject({
  quotaName: z.string().min(1),
  need: z.number().int().min(1),
  why: z.string(),
});
export type QuotaNeed = z.infer<typeof QuotaNeed>;

/** A call the worker will make: the IAM action, the resource ARN (`{region}`/`{account}` filled by the activity). */
export const PlannedCall = z.strictObject({
  action: z.string().regex(/^[a-z0-9-]+:[A-Za-z0-9]+$/),
  resource: z.string().min(1),
  /**
   * Condition keys of the request: iam:PassedToService for PassRole; sagemaker:InstanceTypes (multi-valued) for the
   * Create calls, which the worker policy's instance-type allow-list tests.
   */
  context: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
});
export type PlannedCall = z.infer<typeof PlannedCall>;

/** Input of checkAccount: everything it checks, derived from the spec by `accountPreflightInput`. */
export const CheckAccountInput = z.strictObject({
  /** The run's region (the spec's, else the worker's). */
  region: z.string().optional(),
  quotas: z.array(QuotaNeed),
  roles: z.array(
    z.strictObject({ field: z.string(), roleArn: z.string(), service: z.string().regex(/\.amazonaws\.com$/) }),
  ),
  bucket: z.string(),
  repository: z.string(),
  calls: z.array(PlannedCall),
});
export type CheckAccountInput = z.input<typeof CheckAccountInput>;

/** One finding: ok, a note (nothing to do) or a problem that refuses the run. */
export const AccountFinding = z.strictObject({
  check: z.enum(['quota', 'role', 'permission', 'bucket', 'repository']),
  status: z.enum(['ok', 'note', 'problem']),
  message: z.string(),
  /** For a quota shortfall: the command that requests an increase. */
  fix: z.string().optional(),
});
export type AccountFinding = z.infer<typeof AccountFinding>;

/** Output of checkAccount (it throws PreflightFailed instead when a finding is a problem). */
export const CheckAccountOutput = z.strictObject({ findings: z.array(AccountFinding) });
export type CheckAccountOutput = z.infer<typeof CheckAccountOutput>;

const SAGEMAKER = 'sagemaker.amazonaws.com';
const CODEBUILD = 'codebuild.amazonaws.com';

/** Adds `need` to a quota, keeping the largest: the steps run one after another, so their peaks never overlap. */
function peak(needs: Map<string, QuotaNeed>, quotaName: string, need: number, why: string): void {
  const had = needs.get(quotaName);
  if (!had || need > had.need) needs.set(quotaName, { quotaName, need, why });
}

/**
 * The instances each SageMaker quota must allow for this spec at the run's peak. Steps run one after another, so a
 * quota needs the largest of its steps, not their sum: training's instance count; the tuner's parallel trials times
 * its instances per trial; processing (prepareData) and transform (evaluation) counts; and for the endpoint two full
 * fleets, because a blue/green update runs the new fleet beside the old one until the old is retired. With autoscaling
 * the old fleet may have grown to maxCapacity, and the update keeps its count (RetainAllVariantProperties), so each
 * fleet counts max(instanceCount, maxCapacity). A spot job counts against the spot quotas, an on-demand job against the
 * on-demand ones.
 */
export function quotaNeeds(spec: PipelineSpec): QuotaNeed[] {
  const needs = new Map<string, QuotaNeed>();
  const t = spec.training;
  const spot = t.spot.enabled;
  const trainingQuota = (type: string) => `${type} for ${spot ? 'spot training job' : 'training job'} usage`;
  const allTraining = `Number of instances across all ${spot ? 'spot training jobs' : 'training jobs'}`;
  const trainWhy = `training: ${t.instanceCount} x ${t.instanceType}${spot ? ' (spot)' : ''}`;
  peak(needs, trainingQuota(t.instanceType), t.instanceCount, trainWhy);
  peak(needs, allTraining, t.instanceCount, trainWhy);
  if (spec.tuning.enabled) {
    const type = spec.tuning.resources?.instanceType ?? t.instanceType;
    const count = spec.tuning.resources?.instanceCount ?? t.instanceCount;
    const parallel = spec.tuning.maxParallelJobs;
    const why = `tuning: ${parallel} parallel trials x ${count} x ${type}${spot ? ' (spot)' : ''}`;
    peak(needs, trainingQuota(type), parallel * count, why);
    peak(needs, allTraining, parallel * count, why);
  }
  if (spec.prepareData.enabled) {
    const p = spec.prepareData;
    const why = `prepareData (processing): ${p.instanceCount} x ${p.instanceType}`;
    peak(needs, `${p.instanceType} for processing job usage`, p.instanceCount, why);
    peak(needs, 'Number of instances across all processing jobs', p.instanceCount, why);
  }
  if (spec.evaluation.enabled) {
    const e = spec.evaluation;
    const why = `evaluation (batch transform): ${e.instanceCount} x ${e.instanceType}`;
    peak(needs, `${e.instanceType} for transform job usage`, e.instanceCount, why);
    peak(needs, 'Number of instances across all transform jobs', e.instanceCount, why);
  }
  if (spec.deployment.enabled) {
    const d = spec.deployment;
    const fleet = d.autoscaling.enabled ? Math.max(d.instanceCount, d.autoscaling.maxCapacity) : d.instanceCount;
    const why =
      `endpoint: 2 fleets of ${fleet} x ${d.instanceType} while a blue/green update runs` +
      (fleet > d.instanceCount ? ` (autoscaling up to ${fleet})` : '');
    peak(needs, `${d.instanceType} for endpoint usage`, 2 * fleet, why);
    peak(needs, 'Number of instances across active endpoints', 2 * fleet, why);
  }
  return [...needs.values()];
}

/** The condition key SageMaker's Create calls carry with every instance type of the request. */
const INSTANCE_TYPES = 'sagemaker:InstanceTypes';

/** The worker's calls that need a permission, with a representative resource of each (what the pipeline names). */
function plannedCalls(spec: PipelineSpec): PlannedCall[] {
  const sm = (type: string) => `arn:aws:sagemaker:{region}:{account}:${type}/${spec.pipelineName}-preflight`;
  const calls: PlannedCall[] = [
    { action: 'iam:PassRole', resource: spec.roleArn, context: { 'iam:PassedToService': SAGEMAKER } },
    {
      action: 'iam:PassRole',
      resource: spec.image.codeBuild.serviceRoleArn,
      context: { 'iam:PassedToService': CODEBUILD },
    },
    {
      action: 'codebuild:StartBuild',
      resource: `arn:aws:codebuild:{region}:{account}:project/${codeBuildProjectName(spec.pipelineName)}`,
      context: {},
    },
    {
      action: 'ecr:CreateRepository',
      resource: `arn:aws:ecr:{region}:{account}:repository/${spec.image.repository}`,
      context: {},
    },
    {
      action: 's3:PutObject',
      resource: `arn:aws:s3:::${spec.bucket}/pipelines/${spec.pipelineName}/preflight`,
      context: {},
    },
    {
      action: 'sagemaker:CreateTrainingJob',
      resource: sm('training-job'),
      context: { [INSTANCE_TYPES]: [spec.training.instanceType] },
    },
    {
      action: 'sagemaker:CreateModelPackage',
      resource: `arn:aws:sagemaker:{region}:{account}:model-package/${spec.registry.modelPackageGroup}/1`,
      context: {},
    },
  ];
  if (spec.tuning.enabled)
    calls.push({
      action: 'sagemaker:CreateHyperParameterTuningJob',
      resource: sm('hyper-parameter-tuning-job'),
      context: { [INSTANCE_TYPES]: [spec.tuning.resources?.instanceType ?? spec.training.instanceType] },
    });
  if (spec.prepareData.enabled)
    calls.push({
      action: 'sagemaker:CreateProcessingJob',
      resource: sm('processing-job'),
      context: { [INSTANCE_TYPES]: [spec.prepareData.instanceType] },
    });
  if (spec.evaluation.enabled)
    calls.push({
      action: 'sagemaker:CreateTransformJob',
      resource: sm('transform-job'),
      context: { [INSTANCE_TYPES]: [spec.evaluation.instanceType] },
    });
  if (spec.deployment.enabled)
    calls.push({
      action: 'sagemaker:CreateEndpoint',
      resource: `arn:aws:sagemaker:{region}:{account}:endpoint/${spec.deployment.endpointName.toLowerCase()}`,
      context: {},
    });
  const source = spec.data.source;
  if ('s3Uri' in source) {
    const [, bucket, key = ''] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source.s3Uri) ?? [];
    calls.push({ action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${key}`, context: {} });
  }
  return calls;
}

/** The checkAccount input for a validated spec. */
export function accountPreflightInput(spec: PipelineSpec): CheckAccountInput {
  return {
    ...(spec.region !== undefined ? { region: spec.region } : {}),
    quotas: quotaNeeds(spec),
    roles: [
      { field: '$.roleArn', roleArn: spec.roleArn, service: SAGEMAKER },
      { field: '$.image.codeBuild.serviceRoleArn', roleArn: spec.image.codeBuild.serviceRoleArn, service: CODEBUILD },
    ],
    bucket: spec.bucket,
    repository: spec.image.repository,
    calls: plannedCalls(spec),
  };
}
