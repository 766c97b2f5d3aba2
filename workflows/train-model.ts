/** Step 4: one SageMaker training job, created once, waited on without history growth, stopped on cancel. */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import { TrainModelInput, type TrainModelOutput, type TrainingJobSnapshot } from '../contracts/train-model';
import { quickActivities, waitingActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { reportStopped, trackStatus } from './step-status';

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const LOG_TAIL_LINES = 30;

/** Runs the training job named in the input to a terminal state and returns its artefact and metrics. */
export async function trainModel(rawInput: TrainModelInput): Promise<TrainModelOutput> {
  const input = parseStepInput(TrainModelInput, rawInput, 'trainModel input');
  const name = input.trainingJobName;
  const status = trackStatus('trainModel');
  const quick = quickActivities();

  status.phase = 'creating training job';
  // A cancel while the create is in flight waits for it to land, so the handler below stops a job that exists.
  const create = () =>
    quick.createTrainingJob.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: `Create training job ${name} (${input.definition.resources.instanceCount} x ${input.definition.resources.instanceType})`,
      },
      [{ trainingJobName: name, workflowId: workflowInfo().workflowId, definition: input.definition }],
    );

  const maxWait = input.definition.spot.enabled
    ? (input.definition.spot.maxWaitSeconds ?? input.definition.maxRuntimeSeconds)
    : input.definition.maxRuntimeSeconds;
  const wait = waitingActivities(maxWait);
  const follow = async (): Promise<TrainingJobSnapshot> => {
    let last: { status: string; secondaryStatus: string } | null = null;
    for (;;) {
      const seen: TrainingJobSnapshot = await wait.waitForTrainingJob.executeWithOptions(
        {
          startToCloseTimeout: `${maxWait + 6 * 3600}s`,
          summary: `Wait for training job ${name} to leave ${last ? `${last.status}/${last.secondaryStatus}` : 'its first state'}`,
        },
        [{ trainingJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
      );
      status.phase = `${seen.status} / ${seen.secondaryStatus}`;
      status.lastObserved = {
        status: seen.status,
        secondaryStatus: seen.secondaryStatus,
        statusMessage: seen.statusMessage,
      };
      status.metrics = { ...seen.finalMetrics };
      if (TERMINAL.has(seen.status)) return seen;
      last = { status: seen.status, secondaryStatus: seen.secondaryStatus };
    }
  };
  let snapshot: TrainingJobSnapshot;
  let created: Awaited<ReturnType<typeof create>>;
  try {
    created = await create();
    status.resources.trainingJobArn = created.trainingJobArn;
    status.resources.trainingJobName = name;
    snapshot = await follow();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        const stop = await quick.stopTrainingJob({ trainingJobName: name });
        await reportStopped(status, stop.stopped ? `training job ${name}` : null);
      });
    }
    throw err;
  }

  if (snapshot.status === 'Failed') {
    const tail = await quick.readJobLogTail({
      logGroup: '/aws/sagemaker/TrainingJobs',
      streamPrefix: `${name}/`,
      lines: LOG_TAIL_LINES,
    });
    const logs = tail.lines.length ? `\nLast log lines:\n${tail.lines.join('\n')}` : '';
    throw ApplicationFailure.nonRetryable(
      `Training job ${name} failed: ${snapshot.failureReason ?? 'no FailureReason'}${logs}`,
      ErrorType.JobFailed,
      {
        trainingJobName: name,
        failureReason: snapshot.failureReason ?? null,
        logTail: tail.lines,
      },
    );
  }
  if (snapshot.status === 'Stopped') {
    throw ApplicationFailure.nonRetryable(
      `Training job ${name} was stopped outside this workflow (${snapshot.statusMessage ?? 'no message'})`,
      ErrorType.JobStopped,
    );
  }
  return {
    trainingJobName: name,
    trainingJobArn: created.trainingJobArn,
    modelArtifactS3Uri:
      snapshot.modelArtifactS3Uri ?? `${input.definition.outputS3Uri.replace(/\/$/, '')}/${name}/output/model.tar.gz`,
    finalMetrics: snapshot.finalMetrics,
    objectiveValue: snapshot.finalMetrics[input.objectiveMetric] ?? null,
    billableSeconds: snapshot.billableSeconds,
    reattached: created.reattached,
  };
}
