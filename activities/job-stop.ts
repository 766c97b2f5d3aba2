/**
 * The stop every SageMaker job kind shares (training, processing, transform): stop unless the job already ended, a
 * job already Stopping counts as stopped (a retried stop), and a job that ended between Describe and Stop is not a
 * failure to stop.
 */
import type { StopTrainingJobOutput as StopJobOutput } from '../contracts/train-model';
import { toFailure } from './aws-errors';
import { isNotFound } from './sagemaker-owner';

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);

/** Stops one job: `status` describes it (rejecting with NotFound when it does not exist), `stop` asks SageMaker. */
export async function stopSageMakerJob(
  action: string,
  status: () => Promise<string | undefined>,
  stop: () => Promise<unknown>,
): Promise<StopJobOutput> {
  let before: string;
  try {
    before = (await status()) ?? 'Unknown';
  } catch (err) {
    // A workflow cancelled before its create ran has no job to stop.
    if (isNotFound(err)) return { stopped: false, status: 'NotFound' };
    throw err;
  }
  if (TERMINAL.has(before)) return { stopped: false, status: before };
  if (before === 'Stopping') return { stopped: true, status: before };
  try {
    await stop();
    return { stopped: true, status: 'Stopping' };
  } catch (err) {
    const after = (await status()) ?? 'Unknown';
    if (TERMINAL.has(after)) return { stopped: false, status: after };
    if (after === 'Stopping') return { stopped: true, status: after };
    throw toFailure(err, action);
  }
}
