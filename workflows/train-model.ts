/** Step 4: one SageMaker training job, created once, waited on without history growth, stopped on cancel. */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import { TrainModelInput, type TrainModelOutput, type TrainingJobSnapshot } from '../contracts/train-model';
import { quickActivities, waitingActivities } from './activity-options';
import { createOptions, runJobStep } from './job-step';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const LOG_TAIL_LINES = 30;

/** Runs the training job named in the input to a terminal state and returns its artefact and metrics. */
export async function trainModel(rawInput: TrainModelInput): Promise<TrainModelOutput> {
  const input = parseStepInput(TrainModelInput, rawInput, 'trainModel input');
  const name = input.trainingJobName;
  const { resources, spot, maxRuntimeSeconds } = input.definition;
  const status = trackStatus('trainModel');
  const quick = quickActivities();
  const wait = waitingActivities(spot.enabled ? (spot.maxWaitSeconds ?? maxRuntimeSeconds) : maxRuntimeSeconds);

  const { created, final: snapshot } = await runJobStep({
    status,
    creating: 'creating training job',
    create: () =>
      quick.createTrainingJob.executeWithOptions(
        createOptions(`Create training job ${name} (${resources.instanceCount} x ${resources.instanceType})`),
        [{ trainingJobName: name, workflowId: workflowInfo().workflowId, definition: input.definition }],
      ),
    created: (job) => {
      status.resources.trainingJobArn = job.trainingJobArn;
      status.resources.trainingJobName = name;
    },
    wait: (last: { status: string; secondaryStatus: string } | null) =>
      wait.waitForTrainingJob.executeWithOptions(
        {
          summary:
            `Wait for training job ${name} to leave ` +
            (last ? `${last.status}/${last.secondaryStatus}` : 'its first state'),
        },
        [{ trainingJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
      ),
    observe: (seen: TrainingJobSnapshot) => {
      status.phase = `${seen.status} / ${seen.secondaryStatus}`;
      status.lastObserved = {
        status: seen.status,
        secondaryStatus: seen.secondaryStatus,
        statusMessage: seen.statusMessage,
      };
      status.metrics = { ...seen.finalMetrics };
      return TERMINAL.has(seen.status);
    },
    position: (seen) => ({ status: seen.status, secondaryStatus: seen.secondaryStatus }),
    // v7: a secondary-status event is shown, not described; the next Describe (the net's) replaces it.
    showHint: (change) => {
      if (change.secondaryStatus) status.phase = `${change.status} / ${change.secondaryStatus} (event)`;
    },
    stop: async () =>
      (await quick.stopTrainingJob({ trainingJobName: name })).stopped ? `training job ${name}` : null,
  });

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
