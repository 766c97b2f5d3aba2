import { Context } from '@temporalio/activity';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { EvaluateModelInput, Evaluation, TransformJobSnapshot } from '../../contracts';
import { statusQuery } from '../../contracts/workflow-api';
import { evaluateModel } from '../../workflows';
import { cancelAndReport } from '../../worker/pipeline-client';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const BASE = 's3://b/pipelines/p/evaluations/wf-evaluate-0123abcd/';
const input: EvaluateModelInput = {
  transformJobName: 'wf-evaluate-0123abcd',
  modelName: 'wf-eval-model-0123abcd',
  candidate: { trainingJobName: 'wf-train-0123abcd', modelArtifactS3Uri: 's3://b/models/wf-train/output/model.tar.gz' },
  imageUri: '1.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + 'a'.repeat(64),
  roleArn: 'arn:aws:iam::123456789012:role/SageMakerExecutionRole',
  inputS3Uri: 's3://b/pipelines/p/prepared/x/eval/',
  outputS3Uri: `${BASE}output/`,
  evaluationS3Uri: `${BASE}evaluation.json`,
  instanceType: 'ml.m5.xlarge',
  instanceCount: 1,
  maxRuntimeSeconds: 3600,
  pollIntervalSeconds: 60,
};
const evaluation: Evaluation = {
  evalNll: 1.8,
  evalPerplexity: Math.exp(1.8),
  records: 3,
  tokens: 50,
  trainingJobName: input.candidate.trainingJobName,
  transformJobName: input.transformJobName,
  modelDataUrl: input.candidate.modelArtifactS3Uri,
  inputS3Uri: input.inputS3Uri,
  s3Uri: input.evaluationS3Uri,
};
const snap = (status: TransformJobSnapshot['status'], extra: Partial<TransformJobSnapshot> = {}) => ({
  transformJobName: input.transformJobName,
  status,
  ...extra,
});

function activities(sequence: TransformJobSnapshot[], overrides: Record<string, unknown> = {}) {
  const calls: Record<string, unknown[]> = {};
  const order: string[] = [];
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
    order.push(name);
  };
  let i = 0;
  const fake =
    (name: string, result: unknown) =>
    async (a: unknown): Promise<unknown> => {
      record(name, a);
      return result;
    };
  return {
    calls,
    order,
    impl: {
      repackModel: fake('repackModel', { modelDataUrl: 's3://b/repacked/abc/model.tar.gz', reused: false }),
      createModel: fake('createModel', { modelArn: 'arn:aws:sagemaker:us-east-1:1:model/m', reattached: false }),
      createTransformJob: fake('createTransformJob', {
        transformJobArn: 'arn:aws:sagemaker:us-east-1:1:transform-job/t',
        reattached: false,
      }),
      waitForTransformJob: async (a: unknown) => {
        record('waitForTransformJob', a);
        return sequence[Math.min(i++, sequence.length - 1)];
      },
      stopTransformJob: fake('stopTransformJob', { stopped: true, status: 'Stopping' }),
      readJobLogTail: fake('readJobLogTail', { lines: ['[i-1] model_fn failed: KeyError params'] }),
      scoreTransformOutput: fake('scoreTransformOutput', evaluation),
      deleteEvaluationModel: fake('deleteEvaluationModel', { deleted: true }),
      ...overrides,
    },
  };
}

async function execute(workflowId: string, acts: ReturnType<typeof activities>, args: EvaluateModelInput = input) {
  const taskQueue = uniqueTaskQueue();
  const worker = await createTestWorker(env, taskQueue, acts.impl);
  return worker.runUntil(
    env.client.workflow.execute(evaluateModel, { taskQueue, workflowId, args: [args] }).catch((e: unknown) => e),
  );
}

describe('evaluateModel workflow', () => {
  it('serves the candidate, runs one transform, scores it and deletes the evaluation model', async () => {
    const acts = activities([snap('InProgress'), snap('Completed')]);
    expect(await execute('eval-ok', acts)).toEqual(evaluation);
    expect(acts.order).toEqual([
      'createModel',
      'createTransformJob',
      'waitForTransformJob',
      'waitForTransformJob',
      'scoreTransformOutput',
      'deleteEvaluationModel',
    ]);
    expect(acts.calls.createModel?.[0]).toMatchObject({
      modelName: input.modelName,
      workflowId: 'eval-ok',
      modelDataUrl: input.candidate.modelArtifactS3Uri,
      environment: {},
    });
    expect(acts.calls.createTransformJob?.[0]).toMatchObject({
      transformJobName: input.transformJobName,
      modelName: input.modelName,
      inputS3Uri: input.inputS3Uri,
      outputS3Uri: input.outputS3Uri,
    });
    expect(acts.calls.deleteEvaluationModel).toEqual([{ modelName: input.modelName, workflowId: 'eval-ok' }]);
  });

  it('repacks the model with the inference code and serves it with the script-mode environment', async () => {
    const acts = activities([snap('Completed')]);
    const code = { s3Uri: 's3://b/code/x/sourcedir.tar.gz', entryPoint: 'inference.py', sha256: 'c'.repeat(64) };
    const got = await execute('eval-code', acts, {
      ...input,
      inferenceCode: {
        code: { ...code, fileCount: 2, bytes: 100, uploaded: false },
        bucket: 'bucket',
        keyPrefix: 'pipelines/p/repacked-models/',
      },
    });
    expect(got).toEqual(evaluation);
    expect(acts.calls.repackModel?.[0]).toMatchObject({ modelDataUrl: input.candidate.modelArtifactS3Uri });
    expect(acts.calls.createModel?.[0]).toMatchObject({
      modelDataUrl: 's3://b/repacked/abc/model.tar.gz',
      environment: { SAGEMAKER_PROGRAM: 'inference.py', SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code' },
    });
    expect(acts.calls.scoreTransformOutput?.[0]).toMatchObject({ modelDataUrl: 's3://b/repacked/abc/model.tar.gz' });
  });

  it('fails with FailureReason and the log tail when the transform fails, and still deletes the model', async () => {
    const acts = activities([snap('Failed', { failureReason: 'ClientError: model_fn failed' })]);
    const err = await execute('eval-fail', acts);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('JobFailed');
    expect(cause.message).toContain('ClientError: model_fn failed');
    expect(cause.message).toContain('KeyError params');
    expect(acts.calls.readJobLogTail?.[0]).toMatchObject({ logGroup: '/aws/sagemaker/TransformJobs' });
    expect(acts.calls.scoreTransformOutput).toBeUndefined();
    expect(acts.calls.deleteEvaluationModel).toHaveLength(1);
  });

  it("fails with the scorer's named error on a malformed answer", async () => {
    const acts = activities([snap('Completed')], {
      scoreTransformOutput: async () => {
        throw ApplicationFailure.nonRetryable(
          'records.jsonl.out line 2: a non-finite number',
          'EvaluationOutputInvalid',
        );
      },
    });
    const err = await execute('eval-bad-line', acts);
    const cause = (err as WorkflowFailedError).cause as { cause?: ApplicationFailure };
    expect(cause.cause?.type).toBe('EvaluationOutputInvalid');
    expect(acts.calls.deleteEvaluationModel).toHaveLength(1);
  });

  it('stops the transform job and fails once it runs past evaluation.maxRuntimeSeconds', async () => {
    const acts = activities([], {
      waitForTransformJob: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      },
    });
    const err = await execute('eval-too-long', acts, { ...input, maxRuntimeSeconds: 2 });
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('JobFailed');
    expect(cause.message).toMatch(/ran longer than 2 s \(evaluation\.maxRuntimeSeconds\) and was stopped/);
    expect(acts.calls.stopTransformJob).toEqual([{ transformJobName: input.transformJobName }]);
    expect(acts.calls.deleteEvaluationModel).toHaveLength(1);
  });

  it('stops the transform job when cancelled, reports it, and deletes the model', async () => {
    const acts = activities([], {
      waitForTransformJob: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      },
    });
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(evaluateModel, {
        taskQueue,
        workflowId: 'eval-cancel',
        args: [input],
      });
      while (!(await handle.query(statusQuery)).resources.transformJobArn) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.stopTransformJob).toEqual([{ transformJobName: input.transformJobName }]);
    expect(result.status.stopped).toEqual([`transform job ${input.transformJobName}`]);
    expect(acts.calls.deleteEvaluationModel).toHaveLength(1);
  });
});
