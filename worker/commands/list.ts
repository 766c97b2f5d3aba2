/**
 * `npm run cli -- list`: pipeline runs with their step, version, endpoint and approval state, all from search
 * attributes (one visibility query, no per-run calls), and the open runs counted by version: what says how long an
 * old build must keep serving.
 */
import type { Client } from '@temporalio/client';
import { REPORT_MEMO, type RunReportRef } from '../../contracts/run-report';
import { CommandFailure } from '../command-line';
import { buildIds, runVersion, searchAttribute } from './run-attributes';
import { listExecutions } from './visibility';

/** Options of `list`. */
export interface ListOptions {
  status: 'running' | 'closed' | 'all';
  limit: number;
  /** A build ID, or a Worker Deployment Version `<deployment>:<build ID>`. */
  buildId?: string;
  /** The worker deployment a bare build ID belongs to (TEMPORAL_WORKER_DEPLOYMENT), when Worker Versioning is on. */
  deployment?: string;
  query?: string;
}

const PIPELINE_TYPES = ['migrationPipeline', 'retrainPipeline'];

/**
 * The filter for runs that ran on a build. Without Worker Versioning the server records `unversioned:<build>` in
 * BuildIds; under it, the versions a run used go to TemporalUsedWorkerDeploymentVersions as `<deployment>:<build>`,
 * and a pinned run also gets `pinned:<deployment>:<build>` in BuildIds (Temporal server's worker_versioning package;
 * the 1.32 dev server still adds `unversioned:<build>` to versioned runs as well, which later servers need not do).
 * So the filter asks for all of them: a run is found in either mode.
 */
export function buildFilter(buildId: string, deployment?: string): string {
  if (/['\\]/.test(buildId) || (deployment !== undefined && /['\\]/.test(deployment)))
    throw new CommandFailure(`list: --build-id must not contain quotes or backslashes, got "${buildId}"`, 2);
  const cut = buildId.lastIndexOf(':');
  const build = cut >= 0 ? buildId.slice(cut + 1) : buildId;
  const dep = cut >= 0 ? buildId.slice(0, cut) : deployment;
  if (!build || dep === '')
    throw new CommandFailure(`list: --build-id must be <build ID> or <deployment>:<build ID>, got "${buildId}"`, 2);
  const terms = [`BuildIds = 'unversioned:${build}'`];
  if (dep)
    terms.push(`BuildIds = 'pinned:${dep}:${build}'`, `TemporalUsedWorkerDeploymentVersions = '${dep}:${build}'`);
  return `(${terms.join(' OR ')})`;
}

/** The visibility query `list` sends. */
export function listQuery(o: Pick<ListOptions, 'status' | 'buildId' | 'deployment' | 'query'>): string {
  const parts = [`WorkflowType IN (${PIPELINE_TYPES.map((t) => `'${t}'`).join(', ')})`];
  if (o.status === 'running') parts.push(`ExecutionStatus = 'Running'`);
  if (o.status === 'closed') parts.push(`ExecutionStatus != 'Running'`);
  if (o.buildId) parts.push(buildFilter(o.buildId, o.deployment));
  if (o.query) parts.push(`(${o.query})`);
  return parts.join(' AND ');
}

/**
 * A run's actual spend against its worst-case estimate, from the report its pipeline wrote at the end (v6, kept in
 * its memo, so no per-run call); `-` for a run that has not written one (open, failed, or from before v6).
 */
export function spendCell(report: RunReportRef | undefined): string {
  if (!report) return '-';
  const cell = `$${report.actualSpendUsd.toFixed(2)} of $${report.estimatedMaxSpendUsd.toFixed(2)}`;
  return report.overspent ? `${cell} OVERSPENT` : cell;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
}

/** Lists the runs; returns the lines to print. */
export async function listRuns(client: Client, o: ListOptions): Promise<string[]> {
  const query = listQuery(o);
  const { runs, more } = await listExecutions(client, 'list', query, o.limit);
  if (runs.length === 0) return [`no pipeline runs match: ${query}`];
  const head = ['WORKFLOW ID', 'TYPE', 'STATUS', 'STEP', 'VERSION', 'ENDPOINT', 'APPROVAL', 'STARTED', 'SPEND'];
  const table = runs.map((w) => [
    w.workflowId,
    w.type,
    w.status.name,
    searchAttribute(w.searchAttributes, 'PipelineStep') ?? '-',
    runVersion(w.searchAttributes),
    searchAttribute(w.searchAttributes, 'EndpointName') ?? '-',
    searchAttribute(w.searchAttributes, 'ApprovalStatus') ?? '-',
    w.startTime.toISOString(),
    spendCell(w.memo?.[REPORT_MEMO] as RunReportRef | undefined),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] as string).length)));
  const lines = [row(head, widths), ...table.map((r) => row(r, widths))];
  if (more) lines.push(`(first ${o.limit} shown; raise --limit for more)`);

  const open = new Map<string, number>();
  for (const w of runs.filter((r) => r.status.name === 'RUNNING')) {
    const b = buildIds(w.searchAttributes);
    const current =
      searchAttribute(w.searchAttributes, 'TemporalWorkerDeploymentVersion')?.split(':').pop() ?? b[b.length - 1];
    open.set(current ?? 'no task yet', (open.get(current ?? 'no task yet') ?? 0) + 1);
  }
  lines.push(
    open.size
      ? `open runs by version: ${[...open].map(([v, n]) => `${v}: ${n}`).join(', ')}`
      : 'open runs by version: none open',
  );
  return lines;
}

/** Throws unless the status option is one of the three. */
export function listStatus(value: string): ListOptions['status'] {
  if (value === 'running' || value === 'closed' || value === 'all') return value;
  throw new CommandFailure(`list: --status must be running, closed or all, got "${value}"`, 2);
}
