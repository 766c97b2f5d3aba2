/**
 * Reading a usage-quota refusal: which quota, its limit, what is in use and what the request asked for. A quota that
 * is full because other jobs hold it clears when they end (wait); one whose limit is below the request never will
 * (fail at once, naming it). aws-errors.ts decides the retry from this reading.
 */

/** What a quota refusal says, in AWS's own words for the quota and its unit. */
export interface QuotaReading {
  quota: string;
  limit: number;
  /** In use when the request came (SageMaker says; CodeBuild does not). */
  inUse?: number;
  asked: number;
  unit: string;
}

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;

/**
 * SageMaker's ResourceLimitExceeded: "The account-level service limit 'ml.p4de.24xlarge for training job usage' is 0
 * Instances, with current utilization of 0 Instances and a request delta of 4 Instances." (the wording in SageMaker's
 * troubleshooting pages, e.g. https://docs.aws.amazon.com/sagemaker/latest/dg/notebook-auto-run-troubleshoot.html).
 */
const SAGEMAKER = new RegExp(
  String.raw`service limit '([^']+)' is ${NUMBER}\s*([^,]*?),\s*with current utilization of ${NUMBER}\s*[^,]*?\s+` +
    String.raw`and a request delta of ${NUMBER}`,
);

/** CodeBuild's AccountLimitExceededException: "Cannot have more than 30 builds in queue for the account" */
const CODEBUILD = /Cannot have more than (\d+) (builds? in queue|(?:concurrent |active |running )?builds?)\b/;

/** The quota a refusal names, or undefined when its message does not say (then nobody knows whether it clears). */
export function readQuota(message: string | undefined): QuotaReading | undefined {
  const text = (message ?? '').replace(/\s+/g, ' ');
  const sm = SAGEMAKER.exec(text);
  if (sm)
    return {
      quota: sm[1] ?? '',
      limit: Number(sm[2]),
      unit: (sm[3] ?? '').trim(),
      inUse: Number(sm[4]),
      asked: Number(sm[5]),
    };
  const cb = CODEBUILD.exec(text);
  // A StartBuild asks for one build.
  if (cb) return { quota: `${cb[2] ?? 'builds'} for the account`, limit: Number(cb[1]), unit: 'builds', asked: 1 };
  return undefined;
}

/** True when the quota can never admit the request as asked: its limit is below the request itself. */
export function quotaTooLow(q: QuotaReading): boolean {
  return q.limit < q.asked;
}

/** The quota in a phrase: "'ml.p4de.24xlarge for training job usage': 8 of 8 Instances in use, 4 asked". */
export function describeQuota(q: QuotaReading): string {
  const used = q.inUse === undefined ? `limit ${q.limit} ${q.unit}` : `${q.inUse} of ${q.limit} ${q.unit} in use`;
  return `'${q.quota}': ${used}, ${q.asked} asked`;
}
