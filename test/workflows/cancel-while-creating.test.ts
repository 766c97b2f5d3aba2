/**
 * A cancel that arrives while a step's create call is in flight (found reading the steps for the chaos cancellation
 * campaign): the create still lands on AWS, so the step must wait for it and then stop what it created, instead of
 * returning at once and leaving a training job, tuning job or CodeBuild build running and billing.
 */
import { type WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BuildImageInput, TrainModelInput, TuneModelInput } from '../../contracts';
import { buildImage, trainModel, tuneModel } from '../../workflows';
import { createFakeActivities } from '../../testing/scripted-activities';
import { trainingDefinition } from '../../testing/training-definition';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const definition = trainingDefinition();
const train: TrainModelInput = { trainingJobName: 'wf-train-0123abcd', pollIntervalSeconds: 60, definition };
const tune: TuneModelInput = {
  tuningJobName: 'wf-tune-0123abcd',
  pollIntervalSeconds: 60,
  definition,
  tuning: {
    strategy: 'Random',
    ranges: { continuous: [{ name: 'learning_rate', min: 1e-5, max: 1e-2, scaling: 'Logarithmic' }] },
    objective: { metricName: 'val_loss', type: 'Minimize' },
    maxJobs: 4,
    maxParallelJobs: 2,
    resources: { instanceType: 'ml.g5.2xlarge', instanceCount: 1 },
  },
};
const build: BuildImageInput = {
  pipelineName: 'demo',
  bucket: 'pipeline-bucket',
  repository: 'jax-lm',
  contextDir: 'container',
  codeBuild: { computeType: 'BUILD_GENERAL1_LARGE', image: 'aws/codebuild/standard:7.0', timeoutMinutes: 60 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A create activity that blocks until released (as a slow or retried AWS call does), then "creates" the resource:
 * `created` says whether it landed, `entered` whether the workflow called it.
 */
function slowCreate<T>(value: T) {
  const state = { entered: false, created: false, release: () => undefined as void };
  const released = new Promise<void>((r) => (state.release = r));
  const fn = async (): Promise<T> => {
    state.entered = true;
    await released;
    state.created = true;
    return value;
  };
  return { state, fn };
}

/** Starts `run`, cancels it while the create is in flight, lets the create land, and returns the workflow's error. */
async function cancelDuringCreate(
  impl: object,
  state: { entered: boolean; release: () => void },
  start: (taskQueue: string) => Promise<{ cancel(): Promise<unknown>; result(): Promise<unknown> }>,
): Promise<unknown> {
  const taskQueue = uniqueTaskQueue('cancel-create');
  const worker = await createTestWorker(env, taskQueue, impl);
  return worker.runUntil(async () => {
    const handle = await start(taskQueue);
    while (!state.entered) await sleep(20);
    await handle.cancel();
    await sleep(300);
    state.release();
    return handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
  });
}

describe('a cancel while the create call is in flight stops what the create made', () => {
  it('trainModel stops the training job whose CreateTrainingJob landed after the cancel', async () => {
    const fakes = createFakeActivities();
    const create = slowCreate({
      trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/wf-train-0123abcd',
      reattached: false,
    });
    fakes.impl.createTrainingJob = create.fn;
    const err = await cancelDuringCreate(fakes.impl, create.state, (taskQueue) =>
      env.client.workflow.start(trainModel, { taskQueue, workflowId: 'cancel-create-train', args: [train] }),
    );
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(create.state.created).toBe(true);
    expect(fakes.calls.stopTrainingJob).toEqual([{ trainingJobName: train.trainingJobName }]);
  });

  it('tuneModel stops the tuning job whose CreateHyperParameterTuningJob landed after the cancel', async () => {
    const fakes = createFakeActivities();
    const create = slowCreate({
      tuningJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/wf-tune-0123abcd',
      reattached: false,
    });
    fakes.impl.createTuningJob = create.fn;
    const err = await cancelDuringCreate(fakes.impl, create.state, (taskQueue) =>
      env.client.workflow.start(tuneModel, { taskQueue, workflowId: 'cancel-create-tune', args: [tune] }),
    );
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(create.state.created).toBe(true);
    expect(fakes.calls.stopTuningJob).toEqual([{ tuningJobName: tune.tuningJobName }]);
  });

  it('buildImage stops the CodeBuild build whose StartBuild landed after the cancel', async () => {
    const fakes = createFakeActivities();
    const create = slowCreate({ buildId: 'demo-image-build:1', reattached: false });
    fakes.impl.startImageBuild = create.fn;
    const err = await cancelDuringCreate(fakes.impl, create.state, (taskQueue) =>
      env.client.workflow.start(buildImage, { taskQueue, workflowId: 'cancel-create-build', args: [build] }),
    );
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(create.state.created).toBe(true);
    expect(fakes.calls.stopImageBuild).toEqual([{ buildId: 'demo-image-build:1' }]);
  });
});
