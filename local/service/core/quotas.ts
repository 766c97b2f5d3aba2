/**
 * Account instance quotas (`LOCAL_QUOTAS=ml.p4de.24xlarge=8,ml.g5.12xlarge=0`, off by default): per instance type, how
 * many instances the account may run at once for each of training, processing and transform job usage (three quotas
 * on AWS, one number here). A create whose instances would take the type's usage above its quota is refused as
 * SageMaker refuses it: ResourceLimitExceeded, "The account-level service limit '<type> for training job usage' is
 * <limit> Instances, with current utilization of <in use> Instances and a request delta of <asked> Instances."
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/notebook-auto-run-troubleshoot.html,
 * https://docs.aws.amazon.com/general/latest/gr/sagemaker.html). Types not named have no quota.
 */
import { AwsError } from './protocol';

/** The quota per instance type. */
export type Quotas = ReadonlyMap<string, number>;

/** Which of SageMaker's per-type quotas a create counts against. */
export type QuotaUsage = 'training job usage' | 'processing job usage' | 'transform job usage';

/** Reads `type=limit,type=limit`; a malformed entry is an error (a typo must not turn a quota off). */
export function parseQuotas(spec: string | undefined): Quotas {
  const out = new Map<string, number>();
  for (const part of (spec ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(ml\.[a-z0-9.-]+)=(\d+)$/.exec(part);
    if (!m?.[1] || m[2] === undefined)
      throw new Error(`LOCAL_QUOTAS: "${part}" is not <instance type>=<whole number>, e.g. ml.p4de.24xlarge=8`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Refuses a create of `asked` instances of `instanceType` when `inUse` of them already run and the quota is short. */
export function checkInstanceQuota(
  quotas: Quotas,
  usage: QuotaUsage,
  instanceType: string,
  inUse: number,
  asked: number,
): void {
  const limit = quotas.get(instanceType);
  if (limit === undefined || inUse + asked <= limit) return;
  throw new AwsError(
    'ResourceLimitExceeded',
    `The account-level service limit '${instanceType} for ${usage}' is ${limit} Instances, with current utilization ` +
      `of ${inUse} Instances and a request delta of ${asked} Instances. Please use AWS Service Quotas to request an ` +
      'increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase ' +
      'for this quota.',
  );
}
