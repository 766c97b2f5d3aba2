/** Step 5: one hyperparameter tuning job, created once, waited on without history growth, stopped on cancel. */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import {
  TERMINAL_TUNING_STATUSES,
  TuneModelInput,
  type TuneModelOutput,
  type TuningJobSnapshot,
} from '../contracts/tune-model';
import { quickActivities, waitingActivities } from './activity-options';
import { createOptions, runJobStep } from './job-step';
import { asStepFailure } from './step-failure';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

type ParsedTuning = ReturnType<typeof TuneModelInput.parse>['tuning'];

/** Trials the sweep runs at most: maxJobs, or every grid point for Grid (SageMaker derives that count itself). */
function maxTrials(t: ParsedTuning): number {
  if (t.strategy !== 'Grid') return t.maxJobs;
  const categorical = t.ranges.categorical.reduce((n, r) => n * r.values.length, 1);
  return t.ranges.integer.reduce((n, r) => n * (r.max - r.min + 1), categorical);
}

/** Runs the tuning job named in the input to a terminal state and returns its best trial. */
export async function tuneModel(rawInput: TuneModelInput): Promise<TuneModelOutput> {
  const input = parseStepInput(TuneModelInput, rawInput, 'tuneModel input');
  const name = input.tuningJobName;
  const t = input.tuning;
  const status = trackStatus('tuneModel');
  const quick = quickActivities();

  // Worst case: the trials run in waves of maxParallelJobs, each wave as long as one trial may run (or wait for spot).
  const trialSeconds = t.maxRuntimeSeconds ?? input.definition.maxRuntimeSeconds;
  const perTrial = input.definition.spot.enabled
    ? Math.max(trialSeconds, input.definition.spot.maxWaitSeconds ?? 0)
    : trialSeconds;
  const wait = waitingActivities(Math.ceil(maxTrials(t) / t.maxParallelJobs) * perTrial);

  const { created, final: snapshot } = await runJobStep({
    status,
    creating: 'creating tuning job',
    create: () =>
      quick.createTuningJob.executeWithOptions(
        createOptions(
          `Create tuning job ${name} (${t.strategy}, ${t.maxJobs} trials, ${t.maxParallelJobs} at a time, ` +
            `${t.objective.type} ${t.objective.metricName})`,
        ),
        [{ tuningJobName: name, workflowId: workflowInfo().workflowId, definition: input.definition, tuning: t }],
      ),
    created: (job) => {
      status.resources.tuningJobArn = job.tuningJobArn;
      status.resources.tuningJobName = name;
    },
    wait: (last: { status: string } | null) =>
      wait.waitForTuningJob.executeWithOptions(
        {
          summary:
            `Wait for tuning job ${name} to leave ${last ? last.status : 'its first state'} ` +
            '(trial counts are in the heartbeat)',
        },
        [{ tuningJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
      ),
    observe: (seen: TuningJobSnapshot) => {
      const c = seen.counters;
      status.phase =
        `${seen.status}: ${c.completed} completed, ${c.inProgress} in progress, ` +
        `${c.nonRetryableError + c.retryableError} failed, ${c.stopped} stopped`;
      status.lastObserved = {
        status: seen.status,
        trainingJobStatusCounters: { ...c },
        bestObjective: seen.bestObjective,
        bestTrainingJobName: seen.bestTrainingJobName,
        ...(seen.failureReason ? { failureReason: seen.failureReason } : {}),
      };
      if (seen.bestObjective !== null)
        status.metrics = { ...status.metrics, [t.objective.metricName]: seen.bestObjective };
      return TERMINAL_TUNING_STATUSES.includes(seen.status);
    },
    position: (seen) => ({ status: seen.status }),
    stop: async () => ((await quick.stopTuningJob({ tuningJobName: name })).stopped ? `tuning job ${name}` : null),
  });

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
    .executeWithOptions({ summary: `Read the best trial of tuning job ${name}` }, [
      { tuningJobName: name, staticHyperparameters: input.definition.hyperparameters },
    ])
    .catch((err: unknown) => {
      throw asStepFailure(err, [ErrorType.TuningFailed]);
    });
  if (snapshot.status === 'Failed') {
    throw ApplicationFailure.nonRetryable(
      `Tuning job ${name} failed: ${snapshot.failureReason ?? 'no FailureReason'} (best trial ` +
        `${result.bestTrainingJobName} reached ${result.objectiveMetric}=${result.objectiveValue})`,
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
