/**
 * The cost guard: a worst-case estimate of what one pipeline run can spend on SageMaker instances, compared with the
 * spec's `costGuard.maxSpendUsd` before anything is created. Pure TypeScript: the workflow calls it directly.
 */
import type { PipelineSpec } from './pipeline-spec';

/**
 * SageMaker on-demand prices, USD per instance-hour, region us-east-1 (US East, N. Virginia).
 * Source: https://aws.amazon.com/sagemaker/pricing/ (On-Demand Pricing, "Training" and "Real-Time Inference" tabs;
 * the two tabs list the same rate for these types). Prices recorded 2025-06-01 (PRICE_TABLE_DATE).
 * Reviewed 2026-11-30 (PRICE_TABLE_REVIEWED): the page's price tables render in the browser and could not be read
 * from here, so no price was re-read from the live page. One entry was corrected on internal evidence:
 * ml.g5.16xlarge was 4.10, which is EC2's g5.16xlarge rate ($4.096), not SageMaker's. SageMaker prices each size of a
 * family at the same multiple of its EC2 rate, so within a family the ratio between two sizes is EC2's ratio; the
 * g6 rows here keep it (g6.16xlarge / g6.8xlarge = 4.246 / 2.518 = 1.69 = EC2's 3.3968 / 2.0144) and 4.10 broke it
 * for g5 (4.10 / 3.06 = 1.34 against EC2's 4.096 / 2.448 = 1.67). The corrected 5.12 is ml.g5.8xlarge's 3.06 times
 * EC2's ratio: derived, not read. Refresh the whole table, and both dates, from the page when AWS changes prices.
 * Storage, data transfer and S3 are not counted: instance-hours dominate every run of this pipeline.
 */
export const PRICE_TABLE_DATE = '2025-06-01';
/** When the table was last checked against the pricing page (see above for what could be verified). */
export const PRICE_TABLE_REVIEWED = '2026-11-30';
/** Where the prices come from. */
export const PRICE_TABLE_SOURCE = 'https://aws.amazon.com/sagemaker/pricing/ (On-Demand, us-east-1)';

/** USD per instance-hour, on-demand, us-east-1. */
export const PRICE_USD_PER_HOUR: Readonly<Record<string, number>> = {
  'ml.p4d.24xlarge': 37.688,
  'ml.p4de.24xlarge': 47.11,
  'ml.p5.48xlarge': 113.07,
  'ml.g4dn.xlarge': 0.736,
  'ml.g4dn.2xlarge': 0.94,
  'ml.g5.xlarge': 1.408,
  'ml.g5.2xlarge': 1.515,
  'ml.g5.4xlarge': 2.03,
  'ml.g5.8xlarge': 3.06,
  'ml.g5.12xlarge': 7.09,
  'ml.g5.16xlarge': 5.12,
  'ml.g5.24xlarge': 10.18,
  'ml.g5.48xlarge': 20.36,
  'ml.g6.xlarge': 1.006,
  'ml.g6.2xlarge': 1.222,
  'ml.g6.4xlarge': 1.654,
  'ml.g6.8xlarge': 2.518,
  'ml.g6.12xlarge': 5.752,
  'ml.g6.16xlarge': 4.246,
  'ml.g6.24xlarge': 8.344,
  'ml.g6.48xlarge': 16.688,
  'ml.m5.large': 0.115,
  'ml.m5.xlarge': 0.23,
  'ml.m5.2xlarge': 0.461,
  'ml.m5.4xlarge': 0.922,
  'ml.m5.12xlarge': 2.765,
  'ml.m5.24xlarge': 5.53,
  'ml.c5.xlarge': 0.204,
  'ml.c5.2xlarge': 0.408,
  'ml.c5.4xlarge': 0.816,
  'ml.c5.9xlarge': 1.836,
  'ml.c5.18xlarge': 3.672,
  'ml.t3.medium': 0.05,
};

/** The table as it was before the 2026-11-30 review: only for replaying runs whose cost guard was decided with it. */
export const PRICES_BEFORE_2026_11_30: Readonly<Record<string, number>> = {
  ...PRICE_USD_PER_HOUR,
  'ml.g5.16xlarge': 4.1,
};

/**
 * Hours of endpoint running the estimate counts. An endpoint runs until someone deletes it, so no bound exists;
 * the guard counts the new fleet at its largest size (autoscaling maxCapacity) for one day, which is the horizon
 * a run is answerable for before the next scheduled run, plus the blue/green overlap below.
 */
export const ENDPOINT_WINDOW_HOURS = 24;

/** One contributor to the estimate. */
export interface CostLine {
  item: 'prepare-data' | 'training' | 'tuning' | 'evaluation' | 'endpoint' | 'endpoint-blue-green-overlap';
  instanceType: string;
  instances: number;
  hours: number;
  usdPerHour: number;
  usd: number;
  /** How the line was computed, in words. */
  basis: string;
}

/** The worst-case estimate: total and lines (largest first); `unknownInstanceTypes` lists types with no price. */
export interface SpendEstimate {
  totalUsd: number;
  lines: CostLine[];
  unknownInstanceTypes: string[];
  priceTableDate: string;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function line(
  item: CostLine['item'],
  instanceType: string,
  instances: number,
  hours: number,
  basis: string,
  unknown: Set<string>,
  prices: Readonly<Record<string, number>>,
): CostLine {
  const usdPerHour = prices[instanceType];
  if (usdPerHour === undefined) unknown.add(instanceType);
  const rate = usdPerHour ?? 0;
  return {
    item,
    instanceType,
    instances,
    hours: round2(hours),
    usdPerHour: rate,
    usd: round2(instances * hours * rate),
    basis,
  };
}

/** Number of trials a Grid search runs: the product of categorical value counts and integer range sizes. */
export function gridSize(ranges: PipelineSpec['tuning']['ranges']): number {
  const categorical = ranges.categorical.reduce((n, r) => n * r.values.length, 1);
  return ranges.integer.reduce((n, r) => n * (r.max - r.min + 1), categorical);
}

/**
 * Worst-case spend of one run. Training: instances × MaxRuntime (MaxWait with spot, billed at the on-demand rate
 * to stay an upper bound). Tuning: trials × trial instances × trial MaxRuntime (MaxWait with spot); trials are
 * maxJobs, or the grid size for Grid. Endpoint: the new fleet at max(instanceCount, autoscaling maxCapacity) for
 * ENDPOINT_WINDOW_HOURS, plus the old fleet kept during a blue/green update (maximum execution timeout + termination
 * wait).
 */
export function estimateWorstCaseSpend(
  spec: PipelineSpec,
  prices: Readonly<Record<string, number>> = PRICE_USD_PER_HOUR,
): SpendEstimate {
  const unknown = new Set<string>();
  const lines: CostLine[] = [];
  const t = spec.training;
  const trainingSeconds = t.spot.enabled
    ? Math.max(t.maxRuntimeSeconds, t.spot.maxWaitSeconds ?? 0)
    : t.maxRuntimeSeconds;
  lines.push(
    line(
      'training',
      t.instanceType,
      t.instanceCount,
      trainingSeconds / 3600,
      `${t.instanceCount} × ${t.instanceType} × ${t.spot.enabled ? 'MaxWaitTime' : 'MaxRuntime'} ${trainingSeconds} s`,
      unknown,
      prices,
    ),
  );

  const tu = spec.tuning;
  if (tu.enabled) {
    const trials = tu.strategy === 'Grid' ? gridSize(tu.ranges) : tu.maxJobs;
    const type = tu.resources?.instanceType ?? t.instanceType;
    const count = tu.resources?.instanceCount ?? t.instanceCount;
    const runtime = tu.maxRuntimeSeconds ?? t.maxRuntimeSeconds;
    const seconds = t.spot.enabled ? Math.max(runtime, t.spot.maxWaitSeconds ?? 0) : runtime;
    lines.push(
      line(
        'tuning',
        type,
        trials * count,
        seconds / 3600,
        `${trials} trials × ${count} × ${type} × ${seconds} s`,
        unknown,
        prices,
      ),
    );
  }

  // The optional steps' jobs, priced per instance hour from the same table: Processing by its MaxRuntimeInSeconds,
  // Batch Transform (which has no runtime limit of its own) by evaluation.maxRuntimeSeconds, after which the
  // step's wait gives up.
  const p = spec.prepareData;
  if (p.enabled)
    lines.push(
      line(
        'prepare-data',
        p.instanceType,
        p.instanceCount,
        p.maxRuntimeSeconds / 3600,
        `${p.instanceCount} × ${p.instanceType} × MaxRuntime ${p.maxRuntimeSeconds} s`,
        unknown,
        prices,
      ),
    );
  const e = spec.evaluation;
  if (e.enabled)
    lines.push(
      line(
        'evaluation',
        e.instanceType,
        e.instanceCount,
        e.maxRuntimeSeconds / 3600,
        `${e.instanceCount} × ${e.instanceType} × ${e.maxRuntimeSeconds} s (evaluation.maxRuntimeSeconds)`,
        unknown,
        prices,
      ),
    );

  const d = spec.deployment;
  if (d.enabled) {
    const fleet = Math.max(d.instanceCount, d.autoscaling.enabled ? d.autoscaling.maxCapacity : 0);
    lines.push(
      line(
        'endpoint',
        d.instanceType,
        fleet,
        ENDPOINT_WINDOW_HOURS,
        `${fleet} × ${d.instanceType} for a ${ENDPOINT_WINDOW_HOURS} h window`,
        unknown,
        prices,
      ),
    );
    const overlapSeconds = d.blueGreen.maximumExecutionTimeoutSeconds + d.blueGreen.terminationWaitSeconds;
    lines.push(
      line(
        'endpoint-blue-green-overlap',
        d.instanceType,
        fleet,
        overlapSeconds / 3600,
        `old fleet of ${fleet} during a blue/green update (${overlapSeconds} s)`,
        unknown,
        prices,
      ),
    );
  }

  lines.sort((a, b) => b.usd - a.usd);
  return {
    totalUsd: round2(lines.reduce((s, l) => s + l.usd, 0)),
    lines,
    unknownInstanceTypes: [...unknown].sort(),
    priceTableDate: PRICE_TABLE_DATE,
  };
}

/** The guard's verdict. `ok` is false above the limit (unless overridden) or when a price is missing. */
export interface CostGuardResult {
  ok: boolean;
  estimateUsd: number;
  limitUsd: number;
  overridden: boolean;
  /** The largest contributors, at most three. */
  top: CostLine[];
  unknownInstanceTypes: string[];
  message: string;
}

/** Compares the worst-case estimate with `costGuard.maxSpendUsd`; an unknown instance type is always an error. */
export function checkCostGuard(
  spec: PipelineSpec,
  prices: Readonly<Record<string, number>> = PRICE_USD_PER_HOUR,
): CostGuardResult {
  const estimate = estimateWorstCaseSpend(spec, prices);
  const limitUsd = spec.costGuard.maxSpendUsd;
  const overridden = spec.costGuard.override;
  const top = estimate.lines.slice(0, 3);
  const topText = top.map((l) => `${l.item} $${l.usd.toFixed(2)} (${l.basis})`).join('; ');
  const base = {
    estimateUsd: estimate.totalUsd,
    limitUsd,
    overridden,
    top,
    unknownInstanceTypes: estimate.unknownInstanceTypes,
  };
  if (estimate.unknownInstanceTypes.length > 0) {
    const message =
      `no price for instance type(s) ${estimate.unknownInstanceTypes.join(', ')} in the cost table ` +
      `(${PRICE_TABLE_DATE}); add them to contracts/cost.ts`;
    return { ok: false, ...base, message };
  }
  const within = estimate.totalUsd <= limitUsd;
  const verdict = within ? 'within' : overridden ? 'above (overridden)' : 'above';
  const message =
    `worst-case spend $${estimate.totalUsd.toFixed(2)} is ${verdict} ` +
    `the limit of $${limitUsd.toFixed(2)}; top: ${topText}`;
  return { ok: within || overridden, ...base, message };
}
