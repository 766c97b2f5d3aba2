/** Holds a step's live status and answers the `status` query with it. */
import { defineQuery, setHandler } from '@temporalio/workflow';
import { STATUS_QUERY, type StepStatus } from '../contracts/status';

/** The `status` query, answered by every workflow in this project. */
export const statusQuery = defineQuery<StepStatus>(STATUS_QUERY);

/** Creates the step's status object and registers the query handler for it. */
export function trackStatus(step: string): StepStatus {
  const status: StepStatus = { step, phase: 'starting', resources: {}, metrics: {}, stopped: [] };
  setHandler(statusQuery, () => status);
  return status;
}
