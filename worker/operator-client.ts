/**
 * What the operator commands ask of a run: its status query, the reviewer's updates, and a cancel that waits for the
 * run's report. A stand-in with the signatures of the typed client (worker/pipeline-client.ts, another branch); the
 * commands switch to it when it is on main.
 */
import type { Client } from '@temporalio/client';
import { childWorkflowId } from '../contracts/names';
import type { PipelineSummary } from '../contracts/pipeline-plan';
import type { UpdateModelPackageApprovalOutput } from '../contracts/register-model';
import { STATUS_QUERY, type StepStatus } from '../contracts/status';
import type { ReviewerDecision } from '../workflows/register-model';

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

/** A workflow's live status, or undefined while it cannot answer (unknown, no worker, or no answer in time). */
export async function queryStatus(
  client: Client,
  workflowId: string,
  timeoutMs?: number,
  runId?: string,
): Promise<StepStatus | undefined> {
  const answer = client.workflow
    .getHandle(workflowId, runId)
    .query<StepStatus>(STATUS_QUERY)
    .catch(() => undefined);
  return timeoutMs === undefined ? answer : within(answer, timeoutMs, undefined);
}

/** The registerModel step a decision goes to: a pipeline run's child (`<run>/registerModel`), or that ID itself. */
export function registerModelId(workflowId: string): string {
  return workflowId.endsWith('/registerModel') ? workflowId : childWorkflowId(workflowId, 'registerModel');
}

/** Approves the version the run's registerModel step waits on; resolves once it is written to the registry. */
export async function approve(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
): Promise<UpdateModelPackageApprovalOutput> {
  return client.workflow
    .getHandle(registerModelId(workflowId))
    .executeUpdate<UpdateModelPackageApprovalOutput, [ReviewerDecision]>('approveModel', { args: [decision] });
}

/** Rejects the version the run's registerModel step waits on; the run then ends without deploying. */
export async function reject(
  client: Client,
  workflowId: string,
  decision: ReviewerDecision,
): Promise<UpdateModelPackageApprovalOutput> {
  return client.workflow
    .getHandle(registerModelId(workflowId))
    .executeUpdate<UpdateModelPackageApprovalOutput, [ReviewerDecision]>('rejectModel', { args: [decision] });
}

/** What a cancelled run reported: its summary, the error it closed with, or nothing in time. */
export type CancelReport = { summary: PipelineSummary } | { failure: unknown } | { timedOut: true };

/** Requests cancellation of a run and waits up to `timeoutMs` for its report (each step stops what it created). */
export async function cancelAndReport(client: Client, workflowId: string, timeoutMs: number): Promise<CancelReport> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.cancel().catch(() => undefined);
  const report: Promise<CancelReport> = handle.result().then(
    (summary: PipelineSummary) => ({ summary }),
    (failure: unknown) => ({ failure }),
  );
  return within(report, timeoutMs, { timedOut: true });
}
