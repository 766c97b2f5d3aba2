import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Evaluation, PipelineSpecInput } from '../../contracts';
import { migrationPipeline } from '../../workflows';
import { reject } from '../../worker/pipeline-client';
import { createFakeActivities } from '../../testing/scripted-activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { loadLocalSpec, withoutOptionalSteps } from '../../testing/tiny-spec';

let env: TestWorkflowEnvironment;
// The dev server, not the time-skipping one: the pipeline upserts typed search attributes, which must be registered.
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const spec = withoutOptionalSteps(loadLocalSpec()) as PipelineSpecInput;
const withSteps: PipelineSpecInput = {
  ...spec,
  prepareData: { enabled: true, arguments: ['--source', 'builtin'] },
  evaluation: { enabled: true, maxRegression: 0.05 },
};
const STEP_ACTIVITIES = [
  'createProcessingJob',
  'waitForProcessingJob',
  'createTransformJob',
  'waitForTransformJob',
  'scoreTransformOutput',
  'createModel',
];

/** The fake pipeline activities (their Processing and Transform jobs complete at once) with a chosen score. */
function activities(evalNll: number, approvedEvalNll: number | null) {
  const fakes = createFakeActivities({ approvedObjective: 2.5 });
  const record = (name: string, a: unknown) => (fakes.calls[name] ??= []).push(a);
  const recorded =
    <T>(name: string, answer: (a: never) => T) =>
    async (a: never): Promise<T> => (record(name, a), answer(a));
  const findApproved = fakes.impl.findApprovedModelPackage as (i: never) => Promise<object | null>;
  const impl = {
    ...fakes.impl,
    findApprovedModelPackage: async (i: never) => {
      const found = await findApproved(i);
      return found && { ...found, evalNll: approvedEvalNll };
    },
    scoreTransformOutput: recorded(
      'scoreTransformOutput',
      (a: {
        trainingJobName: string;
        transformJobName: string;
        modelDataUrl: string;
        inputS3Uri: string;
        evaluationS3Uri: string;
      }): Evaluation => ({
        evalNll,
        evalPerplexity: Math.exp(evalNll),
        records: 10,
        tokens: 400,
        trainingJobName: a.trainingJobName,
        transformJobName: a.transformJobName,
        modelDataUrl: a.modelDataUrl,
        inputS3Uri: a.inputS3Uri,
        s3Uri: a.evaluationS3Uri,
      }),
    ),
    uploadEvaluationRecords: recorded('uploadEvaluationRecords', (a: { bucket: string; keyPrefix: string }) => ({
      s3Uri: `s3://${a.bucket}/${a.keyPrefix}${'e'.repeat(64)}/records.jsonl`,
      uploaded: true,
    })),
  };
  return { impl, calls: fakes.calls };
}

async function run(workflowId: string, input: PipelineSpecInput, evalNll = 2.0, approvedEvalNll: number | null = 2.1) {
  const acts = activities(evalNll, approvedEvalNll);
  const taskQueue = uniqueTaskQueue('pipeline');
  const worker = await createTestWorker(env, taskQueue, acts.impl);
  const result = await worker.runUntil(
    env.client.workflow.execute(migrationPipeline, { taskQueue, workflowId, args: [input] }),
  );
  return { result, calls: acts.calls };
}

describe('optional pipeline steps', () => {
  it('runs no Processing or Transform call when the spec leaves them off (the default)', async () => {
    const { result, calls } = await run('steps-off', spec);
    expect(result.outcome).toBe('deployed');
    for (const name of [...STEP_ACTIVITIES.slice(0, -1), 'deleteEvaluationModel']) expect(calls[name]).toBeUndefined();
    expect(result.prepared).toBeUndefined();
    expect(result.evaluation).toBeUndefined();
  });

  it('prepares the data, trains on its outputs, evaluates the champion and registers it with eval_nll', async () => {
    const { result, calls } = await run('steps-on', withSteps);
    expect(result.outcome).toBe('deployed');
    const prepare = calls.createProcessingJob?.[0] as {
      processingJobName: string;
      workflowId: string;
      definition: { inputS3Uri: unknown; outputS3Uri: string };
    };
    expect(prepare.workflowId).toBe('steps-on/prepareData');
    expect(prepare.definition.inputS3Uri).toBeNull(); // --source builtin reads no input
    const out = prepare.definition.outputS3Uri;
    expect(out).toBe(`s3://acme-ml-pipelines/pipelines/demo/prepared/${prepare.processingJobName}/`);
    expect(calls.createTrainingJob?.[0]).toMatchObject({
      definition: { channels: { train: `${out}train/`, val: `${out}val/` } },
    });
    expect(calls.createTransformJob?.[0]).toMatchObject({
      workflowId: 'steps-on/evaluateModel',
      inputS3Uri: `${out}eval/`,
    });
    expect(result.evaluation).toMatchObject({ evalNll: 2.0, records: 10, tokens: 400 });
    expect(result.evaluation?.candidate).toBe(result.registry?.champion);
    expect(calls.createModelPackage?.[0]).toMatchObject({
      approvalStatus: 'Approved',
      metrics: { eval_nll: 2.0 },
      evaluation: { evalNll: 2.0 },
    });
    expect(calls.deleteEvaluationModel).toHaveLength(1);
  });

  it('uploads a local evaluation file and scores it when prepareData is off', async () => {
    const { result, calls } = await run('steps-local-eval', {
      ...spec,
      evaluation: { enabled: true, input: { localPath: '/data/held-out.jsonl' } },
    });
    expect(result.outcome).toBe('deployed');
    expect(calls.createProcessingJob).toBeUndefined();
    expect(calls.uploadEvaluationRecords).toEqual([
      {
        localPath: '/data/held-out.jsonl',
        bucket: 'acme-ml-pipelines',
        keyPrefix: 'pipelines/demo/evaluation-records/',
      },
    ]);
    expect(calls.createTransformJob?.[0]).toMatchObject({
      inputS3Uri: `s3://acme-ml-pipelines/pipelines/demo/evaluation-records/${'e'.repeat(64)}/records.jsonl`,
    });
  });

  it('holds a candidate whose eval_nll is worse than the approved champion’s for a reviewer', async () => {
    const acts = activities(2.5, 2.1);
    const taskQueue = uniqueTaskQueue('pipeline');
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(migrationPipeline, {
        taskQueue,
        workflowId: 'steps-worse',
        args: [withSteps],
      });
      for (;;) {
        const update = await reject(env.client, 'steps-worse', { reviewer: 'ana', reason: 'eval regressed' }).catch(
          (e: Error) => e,
        );
        if (!(update instanceof Error)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return handle.result();
    });
    expect(result.outcome).toBe('not-approved');
    expect(acts.calls.createModelPackage?.[0]).toMatchObject({
      approvalStatus: 'PendingManualApproval',
      approvalDescription: expect.stringMatching(
        /worse than the approved champion: eval_nll 2\.5 vs approved champion's 2\.1/,
      ),
    });
    expect(acts.calls.createEndpoint).toBeUndefined();
  });
});
