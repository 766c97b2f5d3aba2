/**
 * `npm run cli -- replay`: the gate before rolling out workers. Fetches the histories of the open and recently closed
 * executions on a cluster (a visibility query, a limit) and replays them against this checkout's workflow code (or a
 * prebuilt bundle), one line per execution and a summary; any failure means the new code would break a run that is
 * in flight, and the command exits 1.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { codecFromEnv } from '../payload-codec';
import { type NamedHistory, replayHistories } from '../replay';
import { workflowSource } from '../workflow-bundle';
import { bundleSourceHash, workflowSourceHash } from '../workflow-version';
import type { Env } from './session';
import { listExecutions } from './visibility';

/** Options of `replay`. */
export interface ReplayOptions {
  query?: string;
  /** Closed executions count when they closed within this many seconds. */
  sinceSeconds: number;
  limit: number;
  workflowBundle?: string;
}

/** The default selection: every execution on the task queue that is open or closed within the window. */
export function replayQuery(taskQueue: string, sinceSeconds: number, now = new Date()): string {
  const since = new Date(now.getTime() - sinceSeconds * 1000).toISOString();
  return `TaskQueue = '${taskQueue}' AND (ExecutionStatus = 'Running' OR CloseTime > '${since}')`;
}

const FETCH_CONCURRENCY = 5;

async function fetchHistories(client: Client, runs: WorkflowExecutionInfo[]): Promise<NamedHistory[]> {
  const out: NamedHistory[] = new Array(runs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < runs.length; i = next++) {
      const w = runs[i] as WorkflowExecutionInfo;
      const history: temporal.api.history.v1.IHistory = await client.workflow
        .getHandle(w.workflowId, w.runId)
        .fetchHistory();
      out[i] = { name: `${w.workflowId} ${w.runId}`, workflowId: w.workflowId, history };
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, runs.length) }, worker));
  return out;
}

/** Replays the selected executions; prints as it goes; returns the exit status. */
export async function replayCluster(
  client: Client,
  taskQueue: string,
  o: ReplayOptions,
  env: Env,
  print: (line: string) => void,
): Promise<number> {
  const query = o.query ?? replayQuery(taskQueue, o.sinceSeconds);
  const { runs, more } = await listExecutions(client, 'replay', query, o.limit);
  const code = o.workflowBundle
    ? `bundle ${o.workflowBundle} (build ${bundleSourceHash(o.workflowBundle) ?? 'unknown'})`
    : `this checkout's workflow code (build ${workflowSourceHash()})`;
  print(`replay: ${runs.length} execution(s) in namespace ${client.options.namespace} matching ${query}`);
  if (more) print(`replay: only the first ${o.limit} are replayed; raise --limit to replay more`);
  if (runs.length === 0) {
    print(`replay: nothing to replay against ${code}`);
    return 0;
  }
  const histories = await fetchHistories(client, runs);
  const codec = codecFromEnv(env);
  let failed = 0;
  let i = 0;
  for await (const r of replayHistories(
    histories,
    { ...workflowSource(o.workflowBundle), dataConverter: codec ? { payloadCodecs: [codec] } : undefined },
    'cluster-replay',
  )) {
    const w = runs[i++] as WorkflowExecutionInfo;
    if (r.ok) print(`ok    ${w.workflowId} ${w.runId} ${w.type} ${w.status.name}`);
    else {
      failed += 1;
      print(`FAIL  ${w.workflowId} ${w.runId} ${w.type} ${w.status.name}: ${r.error}`);
    }
  }
  print(
    `replay: ${runs.length} replayed against ${code}: ${runs.length - failed} ok, ${failed} failed${failed ? ' — do not roll out this code: the failed runs would break on it' : ''}`,
  );
  return failed ? 1 : 0;
}
