/** Holds a step's live status, answers the `status` query, and tells the parent pipeline what a cancel stopped. */
import { type defineSignal, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { StepStatus } from '../contracts/status';
import { statusQuery, stepStoppedSignal } from '../contracts/workflow-api';

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
  const status: StepStatus = {
    step,
    phase: 'starting',
    resources: {},
    metrics: {},
    stopped: [],
    awaitingApproval: false,
  };
  setHandler(statusQuery, () => status);
  return status;
}

/** After a cancellation cleanup: record what was stopped and tell the parent pipeline, if any. */
export async function reportStopped(status: StepStatus, what: string | null): Promise<void> {
  if (what) status.stopped.push(what);
  status.phase = 'cancelled';
  if (status.stopped.length > 0) await tellParent(stepStoppedSignal, { step: status.step, stopped: status.stopped });
}
