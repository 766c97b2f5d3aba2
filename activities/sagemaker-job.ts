/**
 * The skeleton every SageMaker job kind shares (training, processing, transform): create once (a retried create
 * re-attaches to the job our workflow ID tag proves is ours), wait from a heartbeating loop that returns on every
 * status change, and stop unless the job already ended. Each kind supplies its request, its Describe and its
 * snapshot; the create-or-reattach, wait and stop rules live only here.
 */
import type { StopTrainingJobOutput as StopJobOutput } from '../contracts/train-model';
import { toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { pollUntil } from './polling';
import { assertOwned, isAlreadyExists, isNotFound } from './sagemaker-owner';

/** The statuses after which a SageMaker job never changes again. */
const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);

/**
 * Creates a job, or re-attaches to it: a taken name is ours only when the job carries our workflow ID tag (then this
 * is a retried create); otherwise it is a conflict nobody should retry. `create` returns the new job's ARN,
 * `existingArn` describes the job that holds the name. `action` names the call in errors ("CreateTrainingJob x"),
 * `what` the job in the ownership error ("training job x").
 */
export async function createOrReattach(
  deps: ActivityDeps,
  job: { action: string; what: string; workflowId: string },
  create: () => Promise<string | undefined>,
  existingArn: () => Promise<string | undefined>,
): Promise<{ arn: string; reattached: boolean }> {
  try {
    return { arn: (await create()) ?? '', reattached: false };
  } catch (err) {
    if (!isAlreadyExists(err)) throw toFailure(err, job.action);
  }
  const arn = (await existingArn()) ?? '';
  await assertOwned(deps, arn, job.workflowId, job.what);
  return { arn, reattached: true };
}

/**
 * Polls a job until its snapshot differs from `last` (per `changed`) or it is terminal, heartbeating each snapshot
 * so the UI shows it; a retried attempt simply polls again. Knowing `last`, the first Describe comes one interval
 * in (the previous wait just described the job), so a job costs one Describe per interval.
 */
export async function waitForJobChange<S extends Last, Last extends { status: string }>(
  deps: ActivityDeps,
  input: { pollIntervalSeconds: number; last?: Last | null },
  snapshot: () => Promise<S>,
  changed: (last: Last, now: S) => boolean = (last, now) => last.status !== now.status,
): Promise<S> {
  return pollUntil<S>(
    deps,
    input.pollIntervalSeconds,
    async () => {
      const now = await snapshot();
      return !input.last || changed(input.last, now) || TERMINAL.has(now.status)
        ? { done: true, value: now }
        : { done: false, details: now };
    },
    { pauseFirst: input.last },
  );
}

/**
 * Stops one job: `status` describes it (rejecting with NotFound when it does not exist), `stop` asks SageMaker.
 * A job already Stopping counts as stopped (a retried stop), and a job that ended between Describe and Stop is not
 * a failure to stop.
 */
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
