/**
 * Re-running a pipeline under the same workflow ID (CI's `lm-migration-$GIT_SHA` after a failure): the new run must
 * not re-attach to what the earlier run left (a Failed training job has the same deterministic name), so it names its
 * resources with a run key. A retry inside one run (an activity or child retried, a worker restarted) keeps the key.
 */
import { z } from 'zod';

/** Input of findEarlierRuns: the run asking, and the first run of its own chain (workflow retries keep that one). */
export const FindEarlierRunsInput = z.strictObject({
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  firstExecutionRunId: z.string().min(1),
});
export type FindEarlierRunsInput = z.infer<typeof FindEarlierRunsInput>;

/** An earlier, closed execution with the same workflow ID. */
export const EarlierRun = z.strictObject({
  runId: z.string(),
  status: z.string(),
  startTime: z.string(),
  closeTime: z.string().nullable(),
});
export type EarlierRun = z.infer<typeof EarlierRun>;

/** Earlier runs, newest first (at most MAX_EARLIER_RUNS). */
export const FindEarlierRunsOutput = z.strictObject({ runs: z.array(EarlierRun) });
export type FindEarlierRunsOutput = z.infer<typeof FindEarlierRunsOutput>;

/** How many earlier runs findEarlierRuns reports. */
export const MAX_EARLIER_RUNS = 10;

/** What a re-run says about itself in its status and summary. */
export const RerunNote = z.strictObject({
  /** The key the run's resource names are derived with (its first execution's run ID). */
  runKey: z.string(),
  earlierRuns: z.array(EarlierRun),
  message: z.string(),
});
export type RerunNote = z.infer<typeof RerunNote>;
