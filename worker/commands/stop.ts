/**
 * `npm run cli -- stop <run>`: cancels a pipeline run the way that cleans up (each step stops the job, build or
 * endpoint update it started, in a non-cancellable scope) and prints what was stopped. Terminating is not the way to
 * stop a run: docs/operations.md, "Stopping a run", says what terminate does.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { CancelledFailure, type ApplicationFailure } from '@temporalio/common';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { CommandFailure } from '../command-line';
import { cancelAndReport, memoSummary } from '../pipeline-client';

/** What `stop` found and did, as lines to print; `exitCode` 0 when the run is now stopped with its cleanup done. */
export interface StopReport {
  lines: string[];
  exitCode: number;
}

function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = (e as ApplicationFailure).cause) parts.push(e.message);
  return parts.join(': ');
}

/** Cancels `workflowId` and waits up to `timeoutSeconds` for its report. */
export async function stopRun(client: Client, workflowId: string, timeoutSeconds: number): Promise<StopReport> {
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CommandFailure(`stop: no run ${workflowId} in namespace ${client.options.namespace}`);
    throw err;
  }
  const status = description.status.name;
  if (status !== 'RUNNING') {
    // Say how the run ended, not only that it did: a completed run's summary is its result; a run stopped since v5
    // closed as Canceled with its summary in the memo (before v5 a stopped run completed with outcome "cancelled").
    const said = (r: Partial<PipelineSummary> | undefined) => (r?.outcome ? `: ${r.outcome}. ${r.message ?? ''}` : '');
    const ended =
      status === 'COMPLETED'
        ? await client.workflow
            .getHandle(workflowId)
            .result()
            .then(said)
            .catch(() => '')
        : status === 'CANCELLED'
          ? said(await memoSummary(client, workflowId))
          : '';
    throw new CommandFailure(
      `stop: ${workflowId} is not running (${status} at ${description.closeTime?.toISOString() ?? 'unknown time'}${ended}); nothing to stop`,
    );
  }
  const lines = [
    `stop: cancellation requested for ${workflowId} (${description.type}); waiting up to ${timeoutSeconds} s for its steps to clean up`,
  ];
  const report = await cancelAndReport(client, workflowId, timeoutSeconds * 1000);
  if ('timedOut' in report) {
    lines.push(
      `stop: ${workflowId} is still cleaning up after ${timeoutSeconds} s; follow it with \`npm run cli -- status ${workflowId}\` (do not terminate: that skips the cleanup)`,
    );
    return { lines, exitCode: 1 };
  }
  if ('summary' in report) {
    const s = report.summary;
    if (s.outcome !== 'cancelled') {
      lines.push(`stop: ${workflowId} finished before the cancel reached it: ${s.outcome}. ${s.message}`);
      return { lines, exitCode: 1 };
    }
    lines.push(`stopped ${workflowId}: ${s.message}`);
    for (const what of s.stopped) lines.push(`  stopped ${what}`);
    if (s.stopped.length === 0) lines.push('  nothing was running that needed stopping');
    return { lines, exitCode: 0 };
  }
  // A step workflow stopped directly closes as cancelled (its cleanup ran); anything else is how the run ended.
  const failure = report.failure as { cause?: unknown };
  if (failure.cause instanceof CancelledFailure) {
    lines.push(`stopped ${workflowId}: cancelled; its cleanup ran (see its status query for what it stopped)`);
    return { lines, exitCode: 0 };
  }
  lines.push(`stop: ${workflowId} ended with a failure while stopping: ${causeChain(report.failure)}`);
  return { lines, exitCode: 1 };
}
