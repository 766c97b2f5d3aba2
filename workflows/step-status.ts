/** Holds a step's live status, answers the `status` query, and tells the parent pipeline what a cancel stopped. */
import { getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { StepStatus } from '../contracts/status';
import { statusQuery, stepStoppedSignal } from '../contracts/workflow-api';

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
  const parent = workflowInfo().parent;
  if (parent && status.stopped.length > 0) {
    await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(stepStoppedSignal, {
      step: status.step,
      stopped: status.stopped,
    });
  }
}
