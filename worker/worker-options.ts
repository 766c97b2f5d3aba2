/**
 * The Worker.create options every worker of this project shares, so production, the tests, the histories recorder and
 * the benches run the same workflow layout and the same activity interceptors.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { livenessHeartbeats } from './liveness-heartbeat';
import { workflowSource } from './workflow-bundle';

/** Workflow code (the prebuilt bundle when given, else the source) and the liveness heartbeats for quick activities. */
export function projectWorkerOptions(
  bundlePath?: string,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions' | 'interceptors'> {
  return { ...workflowSource(bundlePath), interceptors: { activity: [livenessHeartbeats] } };
}
