/**
 * Optional step after syncData: the image's `prepare` as one SageMaker Processing job, created once, waited on without
 * history growth, stopped on cancel. Its `train` and `val` outputs become the training channels, `eval` the scoring
 * records of evaluateModel.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import { PrepareDataInput, type PrepareDataOutput, type ProcessingJobSnapshot } from '../contracts/prepare-data';
import { quickActivities, waitingActivities } from './activity-options';
import { createOptions, runJobStep } from './job-step';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const LOG_TAIL_LINES = 30;

/** Runs `prepare` as a Processing job and returns the channels it wrote. */
export async function prepareData(rawInput: PrepareDataInput): Promise<PrepareDataOutput> {
  const input = parseStepInput(PrepareDataInput, rawInput, 'prepareData input');
  const name = input.processingJobName;
  const d = input.definition;
  const status = trackStatus('prepareData');
  const quick = quickActivities();
  const wait = waitingActivities(d.maxRuntimeSeconds);

  const { created, final } = await runJobStep({
    status,
    creating: 'creating processing job',
    create: () =>
      quick.createProcessingJob.executeWithOptions(
        createOptions(
          `Create processing job ${name} (prepare ${d.arguments.join(' ')} on ${d.resources.instanceType})`,
        ),
        [{ processingJobName: name, workflowId: workflowInfo().workflowId, definition: d }],
      ),
    created: (job) => {
      status.resources.processingJobArn = job.processingJobArn;
      status.resources.processingJobName = name;
    },
    wait: (last: { status: string } | null) =>
      wait.waitForProcessingJob.executeWithOptions(
        { summary: `Wait for processing job ${name} to leave ${last ? last.status : 'its first state'}` },
        [{ processingJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
      ),
    observe: (seen: ProcessingJobSnapshot) => {
      status.phase = seen.status;
      status.lastObserved = { status: seen.status, ...(seen.exitMessage ? { exitMessage: seen.exitMessage } : {}) };
      return TERMINAL.has(seen.status);
    },
    position: (seen) => ({ status: seen.status }),
    stop: async () =>
      (await quick.stopProcessingJob({ processingJobName: name })).stopped ? `processing job ${name}` : null,
  });

  if (final.status === 'Failed') {
    const tail = await quick.readJobLogTail({
      logGroup: '/aws/sagemaker/ProcessingJobs',
      streamPrefix: `${name}/`,
      lines: LOG_TAIL_LINES,
    });
    const exit = final.exitMessage ? `\nExitMessage: ${final.exitMessage}` : '';
    const logs = tail.lines.length ? `\nLast log lines:\n${tail.lines.join('\n')}` : '';
    throw ApplicationFailure.nonRetryable(
      `Processing job ${name} failed: ${final.failureReason ?? 'no FailureReason'}${exit}${logs}`,
      ErrorType.JobFailed,
      {
        processingJobName: name,
        failureReason: final.failureReason ?? null,
        exitMessage: final.exitMessage ?? null,
        logTail: tail.lines,
      },
    );
  }
  if (final.status === 'Stopped')
    throw ApplicationFailure.nonRetryable(
      `Processing job ${name} was stopped outside this workflow`,
      ErrorType.JobStopped,
    );
  const out = d.outputS3Uri;
  return {
    processingJobName: name,
    processingJobArn: created.processingJobArn,
    channels: { train: `${out}train/`, val: `${out}val/` },
    evalS3Uri: `${out}eval/`,
    reattached: created.reattached,
  };
}
