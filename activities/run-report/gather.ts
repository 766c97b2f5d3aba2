/**
 * Everything the run report shows, gathered from the run's history (steps, results, spec) and from AWS: each
 * training job's billable time and instances (DescribeTrainingJob), the tuning job's trials and ranges
 * (DescribeHyperParameterTuningJob, ListTrainingJobsForHyperParameterTuningJob), the Processing and Batch Transform
 * jobs' run times, and each job's metric curve, parsed from its CloudWatch log with the job's own MetricDefinitions
 * (what SageMaker itself scrapes). Read-only: safe to run any number of times.
 */
import {
  GetLogEventsCommand,
  DescribeLogStreamsCommand,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeHyperParameterTuningJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  type DescribeTrainingJobCommandOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { estimateWorstCaseSpend, PRICE_USD_PER_HOUR, type CostLine } from '../../contracts/cost';
import type { PipelineSpec } from '../../contracts/pipeline-spec';
import { billedUsd, DEFAULT_OVERSPEND_FACTOR, isOverspent } from '../../contracts/run-report';
import { validateSpec } from '../../contracts/validation';
import type { PipelineStepName } from '../../contracts/pipeline-plan';
import { latestStepRecord, type RunHistory } from './history';

/** The clients the report reads with. */
export interface ReportClients {
  sagemaker: Pick<SageMakerClient, 'send'>;
  logs: Pick<CloudWatchLogsClient, 'send'>;
}

/** One point of a job's metric curve. */
export interface CurvePoint {
  trial: string;
  metric: string;
  step: number;
  value: number;
}

/** A training job of the run: the trainModel job or a tuning trial. */
export interface TrialInfo {
  name: string;
  source: 'training' | 'tuning';
  status: string;
  tuned: Record<string, string>;
  objective: number | null;
  billableSeconds: number | null;
  instanceType: string;
  instanceCount: number;
  actualUsd: number;
}

/** Spend of one item: what the jobs billed beside the guard's worst case. */
export interface SpendRow {
  item: CostLine['item'];
  actualUsd: number | null;
  estimateUsd: number;
  basis: string;
}

/** The report's whole content. */
export interface RunReportData {
  workflowId: string;
  runId: string;
  workflowType: string;
  startedAt: string;
  closedAt?: string;
  outcome?: string;
  message?: string;
  objective: { metric: string; type: 'Minimize' | 'Maximize' } | null;
  steps: { step: string; state: string; startedAt: string; closedAt?: string }[];
  trials: TrialInfo[];
  curves: CurvePoint[];
  /** The tuned hyperparameters, each with its kind (continuous and integer plot on a number axis). */
  tunedParameters: { name: string; kind: 'continuous' | 'integer' | 'categorical'; scale?: string }[];
  bestTrial: string | null;
  evaluation: {
    champion: string | null;
    championObjective: number | null;
    previousChampion: string | null;
    previousObjective: number | null;
    evalNll: number | null;
    approvalStatus: string | null;
  };
  spend: SpendRow[];
  actualSpendUsd: number;
  estimatedMaxSpendUsd: number;
  overspendFactor: number;
  overspent: boolean;
  priceTableDate: string;
  /** What could not be read (a job gone, a log missing): the report says so instead of failing. */
  notes: string[];
}

/** Log lines read per job at most (SageMaker's trainer prints a metric line per evaluation, a few hundred a job). */
const MAX_LOG_EVENTS = 5000;
const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

function stepResult(run: RunHistory, step: PipelineStepName): Record<string, unknown> | undefined {
  return latestStepRecord(run, step, 'Completed')?.result;
}

/**
 * Metric values per log line: each MetricDefinition's regex on each line (its first group is the value, as SageMaker
 * reads it). A `step` metric on the same line places the others on the step axis; otherwise the line's ordinal does.
 */
export function parseMetricLines(
  trial: string,
  lines: string[],
  definitions: { Name?: string; Regex?: string }[],
): CurvePoint[] {
  const compiled = definitions
    .filter((d) => d.Name && d.Regex)
    .map((d) => ({ name: d.Name as string, re: new RegExp(d.Regex as string) }));
  const points: CurvePoint[] = [];
  let ordinal = 0;
  for (const line of lines) {
    const found: Record<string, number> = {};
    for (const { name, re } of compiled) {
      const m = re.exec(line);
      const v = m?.[1] !== undefined ? Number(m[1]) : NaN;
      if (Number.isFinite(v)) found[name] = v;
    }
    const names = Object.keys(found).filter((n) => n !== 'step');
    if (names.length === 0) continue;
    ordinal += 1;
    const step = found.step ?? ordinal;
    for (const metric of names) points.push({ trial, metric, step, value: found[metric] as number });
  }
  return points;
}

/** The first host's log lines of a training job (the host that prints the metrics), oldest first. */
async function jobLogLines(logs: ReportClients['logs'], jobName: string): Promise<string[]> {
  const streams = await logs.send(
    new DescribeLogStreamsCommand({ logGroupName: TRAINING_LOG_GROUP, logStreamNamePrefix: `${jobName}/` }),
  );
  const names = (streams.logStreams ?? [])
    .map((s) => s.logStreamName ?? '')
    .filter(Boolean)
    .sort();
  const first = names.find((n) => n.includes('/algo-1')) ?? names[0];
  if (!first) return [];
  const lines: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await logs.send(
      new GetLogEventsCommand({
        logGroupName: TRAINING_LOG_GROUP,
        logStreamName: first,
        startFromHead: true,
        ...(token ? { nextToken: token } : {}),
      }),
    );
    for (const e of page.events ?? []) lines.push(...(e.message ?? '').split('\n').filter(Boolean));
    // GetLogEvents returns the same forward token once the end of the stream is reached.
    if (!page.nextForwardToken || page.nextForwardToken === token || lines.length >= MAX_LOG_EVENTS) break;
    token = page.nextForwardToken;
  }
  return lines;
}

function priceOf(type: string | undefined): number {
  return (type && PRICE_USD_PER_HOUR[type]) || 0;
}

function trialOf(
  d: DescribeTrainingJobCommandOutput,
  source: TrialInfo['source'],
  tuned: Record<string, string>,
  objective: number | null,
): TrialInfo {
  const type = d.ResourceConfig?.InstanceType ?? '';
  const count = d.ResourceConfig?.InstanceCount ?? 1;
  const billable = d.BillableTimeInSeconds ?? null;
  return {
    name: d.TrainingJobName ?? '',
    source,
    status: d.TrainingJobStatus ?? 'Unknown',
    tuned,
    objective,
    billableSeconds: billable,
    instanceType: type,
    instanceCount: count,
    // DescribeTrainingJob: compute time billed is BillableTimeInSeconds × InstanceCount.
    actualUsd: billable === null ? 0 : billedUsd(billable, count, priceOf(type)),
  };
}

const seconds = (a?: Date, b?: Date): number | null =>
  a && b ? Math.max(0, (b.getTime() - a.getTime()) / 1000) : null;

/** Gathers the report of a run; `summary` stands in for the result of a run that has not closed yet. */
export async function gatherRunReport(
  run: RunHistory,
  clients: ReportClients,
  options: { overspendFactor?: number; summary?: Record<string, unknown>; curves?: boolean } = {},
): Promise<RunReportData> {
  const notes: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (err) {
      // Throttling and AWS's own faults are worth a retry (the activity's); anything else is shown as a gap.
      const e = err as { name?: string; $fault?: string };
      if (/Throttl/.test(e.name ?? '') || e.$fault === 'server') throw err;
      notes.push(`${what}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const parsed = validateSpec(run.spec, { legacy: true });
  const spec: PipelineSpec | undefined = parsed.ok ? parsed.spec : undefined;
  if (!spec) notes.push('the run’s spec did not validate; the estimate is left out');
  const summary = (run.result ?? options.summary ?? {}) as Record<string, unknown>;
  const sm = clients.sagemaker;

  const trials: TrialInfo[] = [];
  const definitionsOf = new Map<string, { Name?: string; Regex?: string }[]>();
  const trained = stepResult(run, 'trainModel');
  if (typeof trained?.trainingJobName === 'string') {
    const name = trained.trainingJobName;
    const d = await attempt(`training job ${name}`, () =>
      sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
    );
    if (d) {
      trials.push(trialOf(d, 'training', {}, (trained.objectiveValue as number | null) ?? null));
      definitionsOf.set(name, d.AlgorithmSpecification?.MetricDefinitions ?? []);
    }
  }

  let objective: RunReportData['objective'] = spec
    ? { metric: spec.objective.metricName, type: spec.objective.type }
    : null;
  const tunedParameters: RunReportData['tunedParameters'] = [];
  let bestTrial: string | null = null;
  const tuned = stepResult(run, 'tuneModel');
  if (typeof tuned?.tuningJobName === 'string') {
    const name = tuned.tuningJobName;
    const d = await attempt(`tuning job ${name}`, () =>
      sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
    );
    const config = d?.HyperParameterTuningJobConfig;
    const o = config?.HyperParameterTuningJobObjective;
    if (o?.MetricName && o.Type) objective = { metric: o.MetricName, type: o.Type };
    const ranges = config?.ParameterRanges;
    for (const r of ranges?.ContinuousParameterRanges ?? [])
      tunedParameters.push({ name: r.Name ?? '', kind: 'continuous', scale: r.ScalingType });
    for (const r of ranges?.IntegerParameterRanges ?? [])
      tunedParameters.push({ name: r.Name ?? '', kind: 'integer', scale: r.ScalingType });
    for (const r of ranges?.CategoricalParameterRanges ?? [])
      tunedParameters.push({ name: r.Name ?? '', kind: 'categorical' });
    bestTrial = d?.BestTrainingJob?.TrainingJobName ?? (tuned.bestTrainingJobName as string | undefined) ?? null;
    const definitions = d?.TrainingJobDefinition?.AlgorithmSpecification?.MetricDefinitions ?? [];
    let token: string | undefined;
    do {
      const page = await attempt(`trials of ${name}`, () =>
        sm.send(
          new ListTrainingJobsForHyperParameterTuningJobCommand({
            HyperParameterTuningJobName: name,
            MaxResults: 100,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const s of page?.TrainingJobSummaries ?? []) {
        const jobName = s.TrainingJobName ?? '';
        const job = await attempt(`trial ${jobName}`, () =>
          sm.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName })),
        );
        if (!job) continue;
        trials.push(
          trialOf(
            job,
            'tuning',
            s.TunedHyperParameters ?? {},
            s.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? null,
          ),
        );
        definitionsOf.set(jobName, definitions);
      }
      token = page?.NextToken;
    } while (token);
  }

  const curves: CurvePoint[] = [];
  for (const t of options.curves === false ? [] : trials) {
    const lines = await attempt(`log of ${t.name}`, () => jobLogLines(clients.logs, t.name));
    if (lines) curves.push(...parseMetricLines(t.name, lines, definitionsOf.get(t.name) ?? []));
  }

  // Spend: the trainModel job and the trials from BillableTimeInSeconds; Processing and Batch Transform (which
  // report no billable time) from their start and end times × instances.
  const actual: Partial<Record<CostLine['item'], number>> = {};
  const add = (item: CostLine['item'], usd: number): void => {
    actual[item] = Math.round(((actual[item] ?? 0) + usd) * 10000) / 10000;
  };
  for (const t of trials) add(t.source === 'training' ? 'training' : 'tuning', t.actualUsd);
  const prepared = stepResult(run, 'prepareData');
  if (typeof prepared?.processingJobName === 'string') {
    const name = prepared.processingJobName;
    const d = await attempt(`processing job ${name}`, () =>
      sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })),
    );
    const c = d?.ProcessingResources?.ClusterConfig;
    const s = seconds(d?.ProcessingStartTime, d?.ProcessingEndTime);
    if (c && s !== null) add('prepare-data', billedUsd(s, c.InstanceCount ?? 1, priceOf(c.InstanceType)));
  }
  const evaluated = stepResult(run, 'evaluateModel');
  if (typeof evaluated?.transformJobName === 'string') {
    const name = evaluated.transformJobName;
    const d = await attempt(`transform job ${name}`, () =>
      sm.send(new DescribeTransformJobCommand({ TransformJobName: name })),
    );
    const r = d?.TransformResources;
    const s = seconds(d?.TransformStartTime, d?.TransformEndTime);
    if (r && s !== null) add('evaluation', billedUsd(s, r.InstanceCount ?? 1, priceOf(r.InstanceType)));
  }
  const estimate = spec ? estimateWorstCaseSpend(spec) : undefined;
  const estimatedMaxSpendUsd =
    typeof summary.estimatedMaxSpendUsd === 'number' ? summary.estimatedMaxSpendUsd : (estimate?.totalUsd ?? 0);
  const spend: SpendRow[] = (estimate?.lines ?? []).map((l) => ({
    item: l.item,
    // The endpoint keeps serving after the run: its hours are not the run's to count, so no actual is shown.
    actualUsd: l.item.startsWith('endpoint') ? null : (actual[l.item] ?? 0),
    estimateUsd: l.usd,
    basis: l.basis,
  }));
  const actualSpendUsd = Math.round(Object.values(actual).reduce((a, b) => a + (b ?? 0), 0) * 10000) / 10000;
  const overspendFactor = options.overspendFactor ?? spec?.costGuard.overspendFactor ?? DEFAULT_OVERSPEND_FACTOR;

  const registered = stepResult(run, 'registerModel');
  const champion = registered?.champion as { trainingJobName?: string; objectiveValue?: number | null } | undefined;
  const previous = registered?.previousApproved as { modelPackageArn?: string; objectiveValue?: number | null } | null;

  return {
    workflowId: run.workflowId,
    runId: run.runId,
    workflowType: run.workflowType,
    startedAt: run.startedAt.toISOString(),
    closedAt: iso(run.closedAt),
    outcome: typeof summary.outcome === 'string' ? summary.outcome : undefined,
    message: typeof summary.message === 'string' ? summary.message : undefined,
    objective,
    steps: run.steps.map((s) => ({
      step: s.step,
      state: s.state,
      startedAt: s.startedAt.toISOString(),
      closedAt: iso(s.closedAt),
    })),
    trials,
    curves,
    tunedParameters,
    bestTrial,
    evaluation: {
      champion: champion?.trainingJobName ?? null,
      championObjective: champion?.objectiveValue ?? null,
      previousChampion: previous?.modelPackageArn ?? null,
      previousObjective: previous?.objectiveValue ?? null,
      evalNll: typeof evaluated?.evalNll === 'number' ? evaluated.evalNll : null,
      approvalStatus: typeof registered?.approvalStatus === 'string' ? registered.approvalStatus : null,
    },
    spend,
    actualSpendUsd,
    estimatedMaxSpendUsd,
    overspendFactor,
    overspent: isOverspent(actualSpendUsd, estimatedMaxSpendUsd, overspendFactor),
    priceTableDate: estimate?.priceTableDate ?? '',
    notes,
  };
}
