/**
 * The typed client of the pipeline workflows: their `status` query, the reviewer's approve/reject updates and a
 * cancel that reports what it stopped. The CLI, the demo, the history recorder, the benches, the chaos campaigns and
 * the tests talk to the workflows through these functions and the definitions in contracts/workflow-api.ts, never
 * through bare query or update names.
 */
import type { Client } from '@temporalio/client';
import { childWorkflowId } from '../contracts/names';
import { CancelledFailure } from '@temporalio/common';
import { type PipelineSummary, SUMMARY_MEMO } from '../contracts/pipeline-plan';
import type { UpdateModelPackageApprovalOutput } from '../contracts/register-model';
import type { StepStatus } from '../contracts/status';
import { approveModelUpdate, type ReviewerDecision, rejectModelUpdate, statusQuery } from '../contracts/workflow-api';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `work`'s value, or `onTimeout` once `ms` have passed first (the timer does not keep the process alive after). */
async function within<T>(work: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A workflow's live status, or undefined while it cannot answer: not started yet, unknown to the server, no worker
 * to run the query, or no answer within `timeoutMs` (default: as long as the server takes).
 */
export async function queryStatus(
  client: Client,
  workflowId: string,
  timeoutMs?: number,
): Promise<StepStatus | undefined> {
  const answer = client.workflow
    .getHandle(workflowId)
    .query(statusQuery)
    .catch(() => undefined);
  return timeoutMs === undefined ? answer : within(answer, timeoutMs, undefined);
}

/** The registerModel step a decision goes to: a pipeline run's child (`<run>/registerModel`), or that ID itself. */
export function registerModelId(workflowId: string): string {
  return workflowId.endsWith('/registerModel') ? workflowId : childWorkflowId(workflowId, 'registerModel');
}

/**
 * Approves the version the run's registerModel step waits on, as `decision.reviewer`; resolves once the approval is
 * written to the model registry. Refused (rejects with the reason) when the step is not waiting or already decided.
 */
export async function approve(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
): Promise<UpdateModelPackageApprovalOutput> {
  return client.workflow.getHandle(registerModelId(workflowId)).executeUpdate(approveModelUpdate, { args: [decision] });
}

/** Rejects the version the run's registerModel step waits on; the run then ends without deploying. */
export async function reject(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
): Promise<UpdateModelPackageApprovalOutput> {
  return client.workflow.getHandle(registerModelId(workflowId)).executeUpdate(rejectModelUpdate, { args: [decision] });
}

/**
 * Approves if the run's registerModel step waits for a reviewer now: true once approved, false while it does not
 * wait (not there yet, or decided by policy). Rejects when the step refuses the decision.
 */
export async function approveIfWaiting(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
): Promise<boolean> {
  if (!(await queryStatus(client, registerModelId(workflowId)))?.awaitingApproval) return false;
  await approve(client, workflowId, decision);
  return true;
}

/**
 * Checks every `intervalMs` whether the run's registerModel step waits for a reviewer and approves it then: true once
 * approved, false when `stop()` (typically: the run closed) came first.
 */
export async function approveWhenWaiting(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
  opts: { stop: () => boolean; intervalMs?: number },
): Promise<boolean> {
  while (!opts.stop()) {
    if (await approveIfWaiting(client, workflowId, decision)) return true;
    await sleep(opts.intervalMs ?? 500);
  }
  return false;
}

/**
 * What a cancelled run reported: its summary (outcome `cancelled` and what its steps stopped), the error it closed
 * with (a step workflow closes as cancelled: WorkflowFailedError caused by a CancelledFailure), or nothing in time.
 */
export type CancelReport = { summary: PipelineSummary } | { failure: unknown } | { timedOut: true };

/**
 * The summary a closed run kept in its memo: a pipeline cancelled since v5 closes as Canceled and leaves its summary
 * (outcome `cancelled`, what its steps stopped) there. Undefined for runs without one.
 */
export async function memoSummary(client: Client, workflowId: string): Promise<PipelineSummary | undefined> {
  const d = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined);
  const summary = d?.memo?.[SUMMARY_MEMO] as PipelineSummary | undefined;
  return summary && typeof summary === 'object' && 'outcome' in summary ? summary : undefined;
}

/**
 * Requests cancellation of a run and waits up to `timeoutMs` for its report: each step stops what it created, and a
 * pipeline returns a summary that lists it. A run that closed before the cancel reports as it ended.
 */
export async function cancelAndReport(client: Client, workflowId: string, timeoutMs: number): Promise<CancelReport> {
  const handle = client.workflow.getHandle(workflowId);
  // Refused only when the run is already closed (or unknown): its result then says how it ended.
  await handle.cancel().catch(() => undefined);
  const report: Promise<CancelReport> = handle.result().then(
    (summary: PipelineSummary) => ({ summary }),
    // A pipeline closes as Canceled since v5; its summary is in the memo. A step workflow has none: its failure.
    async (failure: unknown): Promise<CancelReport> => {
      const cancelled = (failure as { cause?: unknown }).cause instanceof CancelledFailure;
      const summary = cancelled ? await memoSummary(client, workflowId) : undefined;
      return summary ? { summary } : { failure };
    },
  );
  return within(report, timeoutMs, { timedOut: true });
}

/** Every message in a failure's cause chain (a workflow's, its step's, the activity's), joined with ` <- `. */
export function failureChain(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = (e as { cause?: unknown }).cause) parts.push(e.message);
  return parts.join(' <- ');
}
