/**
 * Optional step between tuning and registration: serve the candidate as deployment would (its model repacked with
 * the team's inference code when there is some), score the held-out records with one Batch Transform job, and return
 * the token-weighted eval_nll. The job is created once, waited on without history growth and stopped on cancel; the
 * evaluation Model is deleted afterwards, whatever the outcome.
 */
import { ApplicationFailure, CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import { EvaluateModelInput, type Evaluation, type TransformJobSnapshot } from '../contracts/evaluate-model';
import { scriptModeModelEnvironment } from '../contracts/user-code';
import { longActivities, quickActivities, waitingActivities } from './activity-options';
import { createOptions, runJobStep } from './job-step';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const LOG_TAIL_LINES = 30;

/** Scores the candidate over the evaluation records and returns (and stores) the evaluation. */
export async function evaluateModel(rawInput: EvaluateModelInput): Promise<Evaluation> {
  const input = parseStepInput(EvaluateModelInput, rawInput, 'evaluateModel input');
  const { transformJobName: name, modelName } = input;
  const { workflowId } = workflowInfo();
  const status = trackStatus('evaluateModel');
  const quick = quickActivities();
  status.resources.candidateTrainingJob = input.candidate.trainingJobName;

  // The same model registerModel will register and deployModel serve: repacked with the inference code (the repack
  // is content-addressed, so registerModel's own repack finds this one in place).
  let modelDataUrl = input.candidate.modelArtifactS3Uri;
  let environment: Record<string, string> = {};
  if (input.inferenceCode) {
    const ic = input.inferenceCode;
    status.phase = 'repacking the model with the inference code';
    modelDataUrl = (
      await longActivities('2h').repackModel.executeWithOptions(
        {
          startToCloseTimeout: '2h',
          heartbeatTimeout: '2m',
          summary: `Repack ${modelDataUrl} with ${ic.code.entryPoint} (${ic.code.sha256.slice(0, 12)}) under code/`,
        },
        [{ modelDataUrl, code: ic.code, bucket: ic.bucket, keyPrefix: ic.keyPrefix }],
      )
    ).modelDataUrl;
    environment = scriptModeModelEnvironment(ic.code, ic.region);
  }

  let modelCreated = false;
  try {
    // Batch Transform has no runtime limit of its own: past evaluation.maxRuntimeSeconds the job is stopped (as on a
    // cancel) and the step fails, so the cost guard's bound holds.
    const { final } = await CancellationScope.withTimeout(input.maxRuntimeSeconds * 1000, () =>
      runJobStep({
        status,
        creating: 'creating evaluation model and transform job',
        create: async () => {
          const model = await quick.createModel.executeWithOptions(
            createOptions(`Create evaluation model ${modelName}`),
            [
              {
                modelName,
                workflowId,
                imageUri: input.imageUri,
                modelDataUrl,
                roleArn: input.roleArn,
                environment,
                tags: input.tags,
              },
            ],
          );
          modelCreated = true;
          status.resources.evaluationModelArn = model.modelArn;
          return quick.createTransformJob.executeWithOptions(
            createOptions(`Create transform job ${name} (${input.instanceCount} x ${input.instanceType})`),
            [
              {
                transformJobName: name,
                workflowId,
                modelName,
                inputS3Uri: input.inputS3Uri,
                outputS3Uri: input.outputS3Uri,
                instanceType: input.instanceType,
                instanceCount: input.instanceCount,
                maxPayloadMb: input.maxPayloadMb,
                // An activity input field, not a command: old histories replay unchanged.
                secondsPerRecord: input.secondsPerRecord,
                tags: input.tags,
              },
            ],
          );
        },
        created: (job) => {
          status.resources.transformJobArn = job.transformJobArn;
          status.resources.transformJobName = name;
        },
        wait: (last: { status: string } | null) =>
          waitingActivities(input.maxRuntimeSeconds).waitForTransformJob.executeWithOptions(
            { summary: `Wait for transform job ${name} to leave ${last ? last.status : 'its first state'}` },
            [{ transformJobName: name, last, pollIntervalSeconds: input.pollIntervalSeconds }],
          ),
        observe: (seen: TransformJobSnapshot) => {
          status.phase = seen.status;
          status.lastObserved = { status: seen.status };
          return TERMINAL.has(seen.status);
        },
        position: (seen) => ({ status: seen.status }),
        stop: async () =>
          (await quick.stopTransformJob({ transformJobName: name })).stopped ? `transform job ${name}` : null,
      }),
    ).catch((err: unknown) => {
      if (!isCancellation(err) || CancellationScope.current().consideredCancelled) throw err;
      throw ApplicationFailure.nonRetryable(
        `Transform job ${name} ran longer than ${input.maxRuntimeSeconds} s (evaluation.maxRuntimeSeconds) and was stopped`,
        ErrorType.JobFailed,
        { transformJobName: name, maxRuntimeSeconds: input.maxRuntimeSeconds },
      );
    });

    if (final.status === 'Failed') {
      const tail = await quick.readJobLogTail({
        logGroup: '/aws/sagemaker/TransformJobs',
        streamPrefix: `${name}/`,
        lines: LOG_TAIL_LINES,
      });
      const logs = tail.lines.length ? `\nLast log lines:\n${tail.lines.join('\n')}` : '';
      throw ApplicationFailure.nonRetryable(
        `Transform job ${name} failed: ${final.failureReason ?? 'no FailureReason'}${logs}`,
        ErrorType.JobFailed,
        { transformJobName: name, failureReason: final.failureReason ?? null, logTail: tail.lines },
      );
    }
    if (final.status === 'Stopped')
      throw ApplicationFailure.nonRetryable(
        `Transform job ${name} was stopped outside this workflow`,
        ErrorType.JobStopped,
      );

    status.phase = 'scoring the transform output';
    const evaluation = await longActivities('1h').scoreTransformOutput.executeWithOptions(
      { summary: `Score ${input.outputS3Uri} (token-weighted eval_nll)` },
      [
        {
          inputS3Uri: input.inputS3Uri,
          outputS3Uri: input.outputS3Uri,
          evaluationS3Uri: input.evaluationS3Uri,
          trainingJobName: input.candidate.trainingJobName,
          transformJobName: name,
          modelDataUrl,
        },
      ],
    );
    status.metrics = {
      eval_nll: evaluation.evalNll,
      eval_perplexity: evaluation.evalPerplexity,
      eval_records: evaluation.records,
      eval_tokens: evaluation.tokens,
    };
    status.phase = `eval_nll ${evaluation.evalNll} over ${evaluation.records} records`;
    return evaluation;
  } finally {
    // The Model is free but clutters the account: removed once the transform no longer needs it (after a stop too).
    if (modelCreated)
      await CancellationScope.nonCancellable(() => quick.deleteEvaluationModel({ modelName, workflowId }));
  }
}
