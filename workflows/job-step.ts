/**
 * The skeleton of a step that runs one AWS job: create it, follow it to a terminal state without growing the history,
 * stop it if the workflow is cancelled, and tell the parent pipeline what the cancel stopped. The image build,
 * training, tuning and both deployment paths are written on it; another job kind (a processing job, a batch transform)
 * supplies its create, wait and stop activities and what to record from each snapshot.
 *
 * Since v6 a `jobStateChanged` signal (an EventBridge state-change event, relayed by worker/event-relay.ts) cuts the
 * current wait short: the step describes the job once and goes on from what the Describe says (docs/events.md).
 * Since v7 the signal is first read as a hint: only one whose status is news to the step's wait cuts it short; one
 * that repeats it (a secondary-status change) is only shown on the step's phase.
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type { JobStateChanged } from '../contracts/job-events';
import type { StepStatus } from '../contracts/status';
import { jobStateChangedSignal } from '../contracts/workflow-api';
import { PATCH } from './patches';
import { asStepFailure } from './step-failure';
import { reportStopped } from './step-status';

/**
 * Per-call options of a job's create: a cancel that arrives while the create is in flight waits for it to land, so
 * the stop that follows finds the job instead of leaving it running (and billing).
 */
export function createOptions(summary: string): ActivityOptions {
  return { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED, summary };
}

/** One job as a step runs it. `Created`: what the create returns; `Snapshot`: what one wait returns. */
export interface JobStep<Created, Snapshot, Position> {
  /** The step's status (trackStatus): its phase is `creating` during the create; stops are reported on it. */
  status: StepStatus;
  /** The phase shown while the create runs. */
  creating: string;
  /** Creates the job, idempotently (re-attaches to the one this workflow created); usually with createOptions(). */
  create(): Promise<Created>;
  /** Records what the create returned (ARNs and names on status.resources). */
  created(created: Created): void;
  /**
   * One wait: a heartbeating activity (waitingActivities) that returns once the job leaves `last` (null: whatever
   * its first state is), so the history grows by one activity per state change, not per poll.
   */
  wait(last: Position | null, created: Created): Promise<Snapshot>;
  /** Records a snapshot on the status; true once the job is over. Throws for a state the job cannot move on from. */
  observe(seen: Snapshot, last: Position | null): boolean;
  /** What the next wait must see change. */
  position(seen: Snapshot): Position;
  /**
   * v7: the primary status the wait from `last` is waiting to leave, which an event hint is compared with (an equal
   * hint says nothing the step acts on: no Describe). Null when the step knows none (every hint is then described).
   * By default `last.status` where the position has one (every SageMaker step's does), else null.
   */
  waitingOn?(last: Position | null): string | null;
  /** v7: shows a hint that is not described (e.g. a training job's secondary status), marked as from the event. */
  showHint?(change: JobStateChanged): void;
  /** Failure types of the wait activity that the step fails with as its own (asStepFailure). */
  stepFailures?: readonly string[];
  /**
   * After a cancel, in a non-cancellable scope: stops the job (`created` is undefined when the create never
   * returned) and says what was stopped, for the status and the parent pipeline; null when nothing was running.
   */
  stop(created: Created | undefined): Promise<string | null>;
  /** After any other failure, in a non-cancellable scope: puts back what the step changed before the create. */
  restore?(): Promise<void>;
}

/** What a job ended with: the create's result and the terminal snapshot. */
export interface JobOutcome<Created, Snapshot> {
  created: Created;
  final: Snapshot;
}

/** Runs `job`: create, follow to a terminal snapshot, and on cancel stop it and report what was stopped. */
export async function runJobStep<Created, Snapshot, Position>(
  job: JobStep<Created, Snapshot, Position>,
): Promise<JobOutcome<Created, Snapshot>> {
  job.status.phase = job.creating;
  let last: Position | null = null;
  const wake = listenForJobEvents({
    actsOn: (change) => {
      if (change.status === null) return true;
      const on = job.waitingOn ? job.waitingOn(last) : statusOf(last);
      return on === null || change.status !== on;
    },
    show: (change) => job.showHint?.(change),
  });
  let created: Created | undefined;
  try {
    const made = await job.create();
    created = made;
    job.created(made);
    for (;;) {
      const step = (wait: Promise<Snapshot>) =>
        wait.catch((err: unknown) => {
          throw job.stepFailures ? asStepFailure(err, job.stepFailures) : err;
        });
      let seen: Snapshot;
      if (wake.pending) {
        // Woken: describe once (a wait from "no last state" returns at its first Describe).
        wake.pending = false;
        seen = await step(job.wait(null, made));
        // The event told nothing new (a duplicate, or a change the last wait already saw): wait on.
        if (last !== null && samePosition(job.position(seen), last)) continue;
      } else {
        const waited = await untilWoken(() => step(job.wait(last, made)), wake);
        if (waited === WOKEN) continue;
        seen = waited;
      }
      if (job.observe(seen, last)) return { created: made, final: seen };
      last = job.position(seen);
    }
  } catch (err) {
    if (isCancellation(err)) {
      const made = created;
      await CancellationScope.nonCancellable(async () => reportStopped(job.status, await job.stop(made)));
    } else if (job.restore) {
      const restore = job.restore.bind(job);
      await CancellationScope.nonCancellable(restore);
    }
    throw err;
  }
}

/** Whether a `jobStateChanged` signal arrived that the step has not acted on yet. */
interface Wake {
  pending: boolean;
}

const WOKEN: unique symbol = Symbol('woken');

/** How the step reads a hint (v7): whether it must describe the job, and how to show one it need not. */
interface HintReader {
  actsOn(change: JobStateChanged): boolean;
  show(change: JobStateChanged): void;
}

/**
 * Registers the `jobStateChanged` handler. The patches are asked at the first signal, not before: a run recorded
 * before v6 (which had no handler) replays as it ran, and a run in flight when v6 shipped is woken by its next event.
 * A step whose first signal came on v6 (jobStateEvents without describeOnStatusChange) describes on every signal to
 * its end, as it did; from v7 a hint that repeats the status the wait is waiting to leave emits no command at all.
 */
function listenForJobEvents(hints: HintReader): Wake {
  const wake: Wake = { pending: false };
  let handled: boolean | undefined;
  let readsHints: boolean | undefined;
  let shownAt = '';
  setHandler(jobStateChangedSignal, (change: JobStateChanged) => {
    handled ??= patched(PATCH.jobStateEvents);
    if (!handled) return;
    readsHints ??= patched(PATCH.describeOnStatusChange);
    if (readsHints && !hints.actsOn(change)) {
      // Nothing to act on: show it, unless an event shown already is newer (events may come out of order).
      if (change.time >= shownAt) {
        shownAt = change.time;
        hints.show(change);
      }
      return;
    }
    wake.pending = true;
  });
  return wake;
}

/** A position's `status` when it has one (the SageMaker steps' positions), else null. */
function statusOf(position: unknown): string | null {
  if (typeof position !== 'object' || position === null || !('status' in position)) return null;
  return typeof position.status === 'string' ? position.status : null;
}

/**
 * Runs one wait until it returns or a signal wakes the step, whichever comes first; a woken wait's activity is
 * cancelled (it stops at its next heartbeat, within seconds). A cancellation of the step itself goes through.
 */
async function untilWoken<T>(wait: () => Promise<T>, wake: Wake): Promise<T | typeof WOKEN> {
  return CancellationScope.cancellable(async () => {
    const scope = CancellationScope.current();
    try {
      return await Promise.race([wait(), condition(() => wake.pending).then((): typeof WOKEN => WOKEN)]);
    } finally {
      // Ends whichever lost: the wait's activity (when woken) or the condition (when the wait returned).
      scope.cancel();
    }
  });
}

/** Positions are plain data (statuses): equal when their JSON is. */
function samePosition(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
