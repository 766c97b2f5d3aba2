/**
 * What the local service holds, read from its persisted state (<stateDir>/sagemaker/state/*.json) and its call
 * counters (GET /_local/stats): counts of every resource kind a pipeline creates, successful create/update calls,
 * injected faults, and what is still running. Campaigns take a snapshot before and after each run; runs on one
 * harness are sequential, so the difference is exactly what that run created.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OpCounts } from '../../../local/service/core/call-stats';
import type { LocalHarness } from '../../../testing/local-harness';

/** Counts of one moment; `diff` of two is one run's share. */
export interface Ledger {
  builds: number;
  trainingJobs: number;
  tuningJobs: number;
  trials: number;
  packageVersions: number;
  models: number;
  endpointConfigs: number;
  /** Successful CreateEndpoint / UpdateEndpoint calls (the service's counters). */
  endpointCreates: number;
  endpointUpdates: number;
  /** Faults injected by LOCAL_FAULTS, all operations together. */
  throttled: number;
  error500: number;
  calls: number;
}

/** A record of the local service's persisted state (a training job, an endpoint, ...). */
export type Rec = Record<string, unknown>;

/** The records of one kind (`training-jobs`, `endpoints`, `codebuild-builds`, ...) from the service's state dir. */
export function readKind(h: LocalHarness, kind: string): Rec[] {
  const file = path.join(h.cfg.stateDir, 'sagemaker', 'state', `${kind}.json`);
  if (!fs.existsSync(file)) return [];
  return Object.values(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Rec>);
}

/** The service's per-operation counters (saved in its state dir twice a second, so they survive restarts). */
export function callStats(h: LocalHarness): Record<string, OpCounts> {
  const file = path.join(h.cfg.stateDir, 'sagemaker', 'state', 'call-stats.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, OpCounts>) : {};
}

/** Counts what the local service holds now. */
export function ledger(h: LocalHarness): Ledger {
  const jobs = readKind(h, 'training-jobs');
  const all = callStats(h);
  const stats = Object.values(all);
  const op = (name: string): number => all[name]?.ok ?? 0;
  return {
    builds: readKind(h, 'codebuild-builds').length,
    trainingJobs: jobs.filter((j) => !j.TuningJobArn).length,
    tuningJobs: readKind(h, 'tuning-jobs').length,
    trials: jobs.filter((j) => j.TuningJobArn).length,
    packageVersions: readKind(h, 'model-packages').length,
    models: readKind(h, 'models').length,
    endpointConfigs: readKind(h, 'endpoint-configs').length,
    endpointCreates: op('SageMaker.CreateEndpoint'),
    endpointUpdates: op('SageMaker.UpdateEndpoint'),
    throttled: stats.reduce((n, c) => n + c.throttled, 0),
    error500: stats.reduce((n, c) => n + c.error500, 0),
    calls: stats.reduce((n, c) => n + c.calls, 0),
  };
}

/** The ledger once the service's counters (saved twice a second) have caught up with the calls just made. */
export async function ledgerAfter(h: LocalHarness): Promise<Ledger> {
  await new Promise((r) => setTimeout(r, 1_200));
  return ledger(h);
}

/** `after - before`, field by field. */
export function diff(before: Ledger, after: Ledger): Ledger {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof Ledger)[]) out[k] = after[k] - before[k];
  return out;
}

/** Injected faults per operation between two call-stat snapshots (only operations that got any). */
export function faultsByOp(
  before: Record<string, OpCounts>,
  after: Record<string, OpCounts>,
): Record<string, { calls: number; faults: number }> {
  const out: Record<string, { calls: number; faults: number }> = {};
  for (const [op, c] of Object.entries(after)) {
    const b = before[op] ?? { calls: 0, ok: 0, errors: 0, throttled: 0, error500: 0 };
    const faults = c.throttled + c.error500 - b.throttled - b.error500;
    if (faults > 0) out[op] = { calls: c.calls - b.calls, faults };
  }
  return out;
}

/** What is still running or billing in the local service: the "nothing left behind" check after a cancel. */
export interface Leftovers {
  trainingJobs: string[];
  tuningJobs: string[];
  builds: string[];
  updatingEndpoints: string[];
  /**
   * Live processes (hosts, builds) whose working directory lies in the service's state dir, endpoint instances apart.
   */
  processes: { pid: number; cwd: string }[];
  /** Pid files in the service's pid dir whose process is alive, endpoint instances apart. */
  pidFiles: string[];
  /** Endpoint fleets (`<endpoint>/<fleet id>`) with a live instance process: one per endpoint once an update ended. */
  fleets: string[];
}

function cwdOf(pid: number | string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Running jobs, builds, updates, processes and endpoint fleets under the stack's state dir. */
export function leftovers(h: LocalHarness): Leftovers {
  const root = path.join(h.cfg.stateDir, 'sagemaker');
  const endpointsDir = path.join(root, 'endpoints');
  const processes: { pid: number; cwd: string }[] = [];
  const fleets = new Set<string>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cwd = cwdOf(p);
    if (!cwd?.startsWith(root)) continue;
    if (cwd.startsWith(endpointsDir))
      fleets.add(path.relative(endpointsDir, cwd).split(path.sep).slice(0, 2).join('/'));
    else processes.push({ pid: Number(p), cwd: path.relative(root, cwd) });
  }
  const pidDir = path.join(root, 'pids');
  const pidFiles = (fs.existsSync(pidDir) ? fs.readdirSync(pidDir) : []).filter((f) => {
    const cwd = cwdOf(fs.readFileSync(path.join(pidDir, f), 'utf8').trim());
    return cwd !== undefined && !cwd.startsWith(endpointsDir);
  });
  return {
    trainingJobs: readKind(h, 'training-jobs')
      .filter((j) => j.TrainingJobStatus === 'InProgress' || j.TrainingJobStatus === 'Stopping')
      .map((j) => `${String(j.TrainingJobName)} (${String(j.TrainingJobStatus)})`),
    tuningJobs: readKind(h, 'tuning-jobs')
      .filter((j) => j.HyperParameterTuningJobStatus === 'InProgress' || j.HyperParameterTuningJobStatus === 'Stopping')
      .map((j) => `${String(j.HyperParameterTuningJobName)} (${String(j.HyperParameterTuningJobStatus)})`),
    builds: readKind(h, 'codebuild-builds')
      .filter((b) => b.buildStatus === 'IN_PROGRESS')
      .map((b) => String(b.id)),
    updatingEndpoints: readKind(h, 'endpoints')
      .filter((e) => e.EndpointStatus !== 'InService' && e.EndpointStatus !== 'Failed')
      .map((e) => `${String(e.EndpointName)} (${String(e.EndpointStatus)})`),
    processes,
    pidFiles,
    fleets: [...fleets].sort(),
  };
}

/** True when nothing but one serving fleet per endpoint is left. */
export function clean(l: Leftovers): boolean {
  const perEndpoint = new Map<string, number>();
  for (const f of l.fleets)
    perEndpoint.set(f.split('/')[0] as string, (perEndpoint.get(f.split('/')[0] as string) ?? 0) + 1);
  return (
    !l.trainingJobs.length &&
    !l.tuningJobs.length &&
    !l.builds.length &&
    !l.updatingEndpoints.length &&
    !l.processes.length &&
    !l.pidFiles.length &&
    [...perEndpoint.values()].every((n) => n <= 1)
  );
}

/** A short text of what is left (for a table cell), or "nothing". */
export function describeLeftovers(l: Leftovers): string {
  const parts = [
    ...l.trainingJobs.map((j) => `training job ${j}`),
    ...l.tuningJobs.map((j) => `tuning job ${j}`),
    ...l.builds.map((b) => `build ${b}`),
    ...l.updatingEndpoints.map((e) => `endpoint ${e}`),
    ...(l.processes.length
      ? [
          `${l.processes.length} process(es) in ` +
            `${[...new Set(l.processes.map((p) => p.cwd.split('/').slice(0, 2).join('/')))].join(', ')}`,
        ]
      : []),
    ...(l.pidFiles.length ? [`${l.pidFiles.length} live pid file(s)`] : []),
  ];
  return parts.length ? parts.join('; ') : 'nothing';
}

/** Endpoint records as the service holds them (name → status, config). */
export function endpoints(h: LocalHarness): { name: string; status: string; config: string }[] {
  return readKind(h, 'endpoints').map((e) => ({
    name: String(e.EndpointName),
    status: String(e.EndpointStatus),
    config: String(e.EndpointConfigName),
  }));
}

/**
 * The "nothing duplicated" target of a full run (4 trials): deployed, one of each resource, the image built only by
 * the first run, and exactly one CreateEndpoint (first run) or UpdateEndpoint (later runs) matching the summary.
 */
export function exactlyOnePerStep(
  got: Ledger,
  deployed: { outcome?: string; endpointAction?: string },
  firstRun: boolean,
): boolean {
  return (
    deployed.outcome === 'deployed' &&
    deployed.endpointAction === (firstRun ? 'created' : 'updated') &&
    got.builds === (firstRun ? 1 : 0) &&
    got.trainingJobs === 1 &&
    got.tuningJobs === 1 &&
    got.trials === 4 &&
    got.packageVersions === 1 &&
    got.endpointConfigs === 1 &&
    got.endpointCreates === (firstRun ? 1 : 0) &&
    got.endpointUpdates === (firstRun ? 0 : 1)
  );
}

/** The headings of the resourceCells columns. */
export const RESOURCE_COLUMNS = [
  'CodeBuild builds',
  'training jobs',
  'tuning jobs / trials',
  'package versions',
  'endpoint configs / CreateEndpoint / UpdateEndpoint',
];

/**
 * The table cells of a run's resources: builds (against what the run should build), training jobs, tuning jobs /
 * trials, package versions, endpoint configs / creates / updates.
 */
export function resourceCells(got: Ledger, firstRun: boolean): (string | number)[] {
  return [
    `${got.builds} (want ${firstRun ? 1 : 0})`,
    got.trainingJobs,
    `${got.tuningJobs} / ${got.trials}`,
    got.packageVersions,
    `${got.endpointConfigs} / ${got.endpointCreates} / ${got.endpointUpdates}`,
  ];
}
