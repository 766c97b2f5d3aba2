/** Holds a step's live status, answers the `status` query, and tells the parent pipeline what a cancel stopped. */
import { defineQuery, defineSignal, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { STATUS_QUERY, type StepStatus } from '../contracts/status';

/** The `status` query, answered by every workflow in this project. */
export const statusQuery = defineQuery<StepStatus>(STATUS_QUERY);

/** Sent by a cancelled step to its parent pipeline: what its cleanup stopped. */
export const stepStoppedSignal = defineSignal<[{ step: string; stopped: string[] }]>('stepStopped');

/** Sent by registerModel to its parent pipeline when the version's approval state changes (waiting for a reviewer). */
export const approvalStateSignal = defineSignal<[{ approvalStatus: string; modelPackageArn: string }]>('approvalState');

/**
 * Signals the parent pipeline, if this workflow has one. A parent that has already closed (a terminated pipeline whose
 * steps were asked to cancel) cannot be told: that is not this step's failure, so the error is dropped.
 */
export async function tellParent<A extends unknown[]>(
  signal: ReturnType<typeof defineSignal<A>>,
  ...args: A
): Promise<boolean> {
  const parent = workflowInfo().parent;
  if (!parent) return false;
  try {
    await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(signal, ...args);
    return true;
  } catch {
    return false;
  }
}

/** Creates the step's status object and registers the query handler for it. */
export function trackStatus(step: string): StepStatus {
  const status: StepStatus = { step, phase: 'starting', resources: {}, metrics: {}, stopped: [] };
  setHandler(statusQuery, () => status);
  return status;
}

/** After a cancellation cleanup: record what was stopped and tell the parent pipeline, if any. */
export async function reportStopped(status: StepStatus, what: string | null): Promise<void> {
  if (what) status.stopped.push(what);
  status.phase = 'cancelled';
  if (status.stopped.length > 0) await tellParent(stepStoppedSignal, { step: status.step, stopped: status.stopped });
}
