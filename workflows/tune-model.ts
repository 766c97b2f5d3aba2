/** Step 5: one hyperparameter tuning job, created once, waited on without history growth, stopped on cancel. */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import {
  TERMINAL_TUNING_STATUSES,
  TuneModelInput,
  type TuneModelOutput,
  type TuningJobSnapshot,
} from '../contracts/tune-model';
import { quickActivities, waitingActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { reportStopped, trackStatus } from './step-status';

type ParsedTuning = ReturnType<typeof TuneModelInput.parse>['tuning'];

/** Trials the sweep runs at most: maxJobs, or every grid point for Grid (SageMaker derives that count itself). */
function maxTrials(t: ParsedTuning): number {
  if (t.strategy !== 'Grid') return t.maxJobs;
  const categorical = t.ranges.categorical.reduce((n, r) => n * r.values.length, 1);
  return t.ranges.integer.reduce((n, r) => n * (r.max - r.min + 1), categorical);
}

/** An activity's failure of `type` as this workflow's own failure (same type, message and details), else `err`. */
function asStepFailure(err: unknown, type: string): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type) {
    return ApplicationFailure.create({
      type,
      message: err.cause.message,
      nonRetryable: true,
      details: err.cause.details ?? undefined,
      cause: err,
    });
  }
  return err;
}

/** Runs the tuning job named in the input to a terminal state and returns its best trial. */
export async function tuneModel(rawInput: TuneModelInput): Promise<TuneModelOutput> {
  const input = parseStepInput(TuneModelInput, rawInput, 'tuneModel input');
  const name = input.tuningJobName;
  const t = input.tuning;
  const status = trackStatus('tuneModel');
  const quick = quickActivities();

  status.phase = 'creating tuning job';
  // A cancel while the create is in flight waits for it to land, so the handler below stops a job that exists.
  const create = () =>
    quick.createTuningJob.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: `Create tuning job ${name} (${t.strategy}, ${t.maxJobs} trials, ${t.maxParallelJobs} at a time, ${t.objective.type} ${t.objective.metricName})`,
      },
      [{ tuningJobName: name, workflowId: workflowInfo().workflowId, definition: input.definition, tuning: t }],
    );

  // Worst case: the trials run in waves of maxParallelJobs, each wave as long as one trial may run (or wait for spot).
  const trialSeconds = t.maxRuntimeSeconds ?? input.definition.maxRuntimeSeconds;
  const perTrial = input.definition.spot.enabled
    ? Math.max(trialSeconds, input.definition.spot.maxWaitSeconds ?? 0)
    : trialSeconds;
  const maxWait = Math.ceil(maxTrials(t) / t.maxParallelJobs) * perTrial;
  const wait = waitingActivities(maxWait);
  const follow = async (): Promise<TuningJobSnapshot> => {
    let last: { status: string } | null = null;
    for (;;) {
      const seen: TuningJobSnapshot = await wait.waitForTuningJob.executeWithOptions(
        {
          startToCloseTimeout: `${maxWait + 6 * 3600}s`,
          summary: `Wait for tuning job ${name} to leave ${last ? last.status : 'its first state'} (trial counts are in the heartbeat)`,
        },
        [{ tuningJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
      );
      const c = seen.counters;
      status.phase = `${seen.status}: ${c.completed} completed, ${c.inProgress} in progress, ${c.nonRetryableError + c.retryableError} failed, ${c.stopped} stopped`;
      status.lastObserved = {
        status: seen.status,
        trainingJobStatusCounters: { ...c },
        bestObjective: seen.bestObjective,
        bestTrainingJobName: seen.bestTrainingJobName,
        ...(seen.failureReason ? { failureReason: seen.failureReason } : {}),
      };
      if (seen.bestObjective !== null)
        status.metrics = { ...status.metrics, [t.objective.metricName]: seen.bestObjective };
      if (TERMINAL_TUNING_STATUSES.includes(seen.status)) return seen;
      last = { status: seen.status };
    }
  };
  let snapshot: TuningJobSnapshot;
  let created: Awaited<ReturnType<typeof create>>;
  try {
    created = await create();
    status.resources.tuningJobArn = created.tuningJobArn;
    status.resources.tuningJobName = name;
    snapshot = await follow();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        const stop = await quick.stopTuningJob({ tuningJobName: name });
        await reportStopped(status, stop.stopped ? `tuning job ${name}` : null);
      });
    }
    throw err;
  }

  if (snapshot.status === 'Stopped') {
    throw ApplicationFailure.nonRetryable(
      `Tuning job ${name} was stopped outside this workflow`,
      ErrorType.JobStopped,
      { tuningJobName: name, counters: snapshot.counters },
    );
  }
  if (snapshot.status !== 'Completed' && snapshot.status !== 'Failed') {
    throw ApplicationFailure.nonRetryable(
      `Tuning job ${name} ended as ${snapshot.status}: ${snapshot.failureReason ?? 'no FailureReason'}`,
      ErrorType.JobFailed,
      {
        tuningJobName: name,
        failureReason: snapshot.failureReason ?? null,
      },
    );
  }

  // No successful trial: describeTuningResult fails with TuningFailed, listing the trials' failure reasons.
  status.phase = 'reading best trial';
  const result = await quick.describeTuningResult
    .executeWithOptions({ startToCloseTimeout: '2m', summary: `Read the best trial of tuning job ${name}` }, [
      { tuningJobName: name, staticHyperparameters: input.definition.hyperparameters },
    ])
    .catch((err: unknown) => {
      throw asStepFailure(err, ErrorType.TuningFailed);
    });
  if (snapshot.status === 'Failed') {
    throw ApplicationFailure.nonRetryable(
      `Tuning job ${name} failed: ${snapshot.failureReason ?? 'no FailureReason'} (best trial ${result.bestTrainingJobName} reached ${result.objectiveMetric}=${result.objectiveValue})`,
      ErrorType.TuningFailed,
      {
        tuningJobName: name,
        failureReason: snapshot.failureReason ?? null,
        counters: result.counters,
        bestTrainingJobName: result.bestTrainingJobName,
      },
    );
  }
  status.phase = `completed: best ${result.bestTrainingJobName} ${result.objectiveMetric}=${result.objectiveValue}`;
  status.resources.bestTrainingJobName = result.bestTrainingJobName;
  status.metrics = { ...status.metrics, [result.objectiveMetric]: result.objectiveValue };
  status.lastObserved = {
    ...status.lastObserved,
    trainingJobStatusCounters: { ...result.counters },
    bestObjective: result.objectiveValue,
    bestTrainingJobName: result.bestTrainingJobName,
  };
  return { ...result, tuningJobArn: created.tuningJobArn, reattached: created.reattached };
}
