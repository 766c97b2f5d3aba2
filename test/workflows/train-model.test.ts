import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TrainModelInput, TrainingJobSnapshot } from '../../contracts';
import { trainModel } from '../../workflows';
import { statusQuery } from '../../contracts/workflow-api';
import { cancelAndReport } from '../../worker/pipeline-client';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';
import { createdTrainingJob } from './job-fakes';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const input: TrainModelInput = {
  trainingJobName: 'wf-train-0123abcd',
  pollIntervalSeconds: 60,
  definition: trainingDefinition(),
};
const snap = (
  status: TrainingJobSnapshot['status'],
  secondaryStatus: string,
  extra: Partial<TrainingJobSnapshot> = {},
): TrainingJobSnapshot => ({
  trainingJobName: input.trainingJobName,
  status,
  secondaryStatus,
  finalMetrics: {},
  billableSeconds: null,
  ...extra,
});

function activities(sequence: TrainingJobSnapshot[], overrides: Record<string, unknown> = {}) {
  const calls: Record<string, unknown[]> = {};
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
  };
  let i = 0;
  return {
    calls,
    impl: {
      createTrainingJob: async (a: unknown) => {
        record('createTrainingJob', a);
        return createdTrainingJob('x');
      },
      waitForTrainingJob: async (a: unknown) => {
        record('waitForTrainingJob', a);
        return sequence[Math.min(i++, sequence.length - 1)];
      },
      stopTrainingJob: async (a: unknown) => {
        record('stopTrainingJob', a);
        return { stopped: true, status: 'Stopping' };
      },
      readJobLogTail: async (a: unknown) => {
        record('readJobLogTail', a);
        return { lines: ['[algo-1] Traceback (most recent call last):', '[algo-1] ValueError: boom'] };
      },
      ...overrides,
    },
  };
}

describe('trainModel workflow', () => {
  it('creates the job once, follows its status changes and returns the artefact and metrics', async () => {
    const acts = activities([
      snap('InProgress', 'Starting'),
      snap('InProgress', 'Downloading'),
      snap('InProgress', 'Training'),
      snap('Completed', 'Completed', {
        modelArtifactS3Uri: 's3://b/output/x/model.tar.gz',
        finalMetrics: { val_loss: 2.1, train_loss: 2.0 },
        billableSeconds: 3600,
      }),
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(trainModel, { taskQueue, workflowId: 'train-ok', args: [input] }),
    );
    expect(result).toMatchObject({
      modelArtifactS3Uri: 's3://b/output/x/model.tar.gz',
      objectiveValue: 2.1,
      billableSeconds: 3600,
      reattached: false,
    });
    expect(acts.calls.createTrainingJob).toHaveLength(1);
    expect(acts.calls.createTrainingJob?.[0]).toMatchObject({
      trainingJobName: input.trainingJobName,
      workflowId: 'train-ok',
    });
    expect(acts.calls.waitForTrainingJob?.[1]).toMatchObject({
      last: { status: 'InProgress', secondaryStatus: 'Starting' },
    });
  });

  it('fails non-retryably with FailureReason verbatim and the log tail', async () => {
    const reason = 'AlgorithmError: hyperparameter learning_rate=-1 is out of range (0, 1]';
    const acts = activities([snap('InProgress', 'Training'), snap('Failed', 'Failed', { failureReason: reason })]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(trainModel, { taskQueue, workflowId: 'train-fail', args: [input] })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('JobFailed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain(reason);
    expect(cause.message).toContain('ValueError: boom');
    expect(acts.calls.readJobLogTail?.[0]).toMatchObject({
      logGroup: '/aws/sagemaker/TrainingJobs',
      streamPrefix: `${input.trainingJobName}/`,
    });
  });

  it('reports a job stopped by someone else as stopped', async () => {
    const acts = activities([snap('Stopped', 'Stopped', { statusMessage: 'stopped by user' })]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(trainModel, { taskQueue, workflowId: 'train-stopped', args: [input] })
        .catch((e: unknown) => e),
    );
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('JobStopped');
  });

  it('stops the training job when the workflow is cancelled', async () => {
    const acts = activities([], {
      waitForTrainingJob: async () => {
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
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'train-cancel',
        args: [input],
      });
      while (!(await handle.query(statusQuery)).resources.trainingJobArn) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.stopTrainingJob).toEqual([{ trainingJobName: input.trainingJobName }]);
    expect(result.status.stopped).toEqual([`training job ${input.trainingJobName}`]);
  });

  it('does not stop the job when the worker shuts down; a new worker resumes the wait', async () => {
    let release = false;
    const acts = activities([], {
      waitForTrainingJob: async () => {
        const ctx = Context.current();
        while (!release) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
        return snap('Completed', 'Completed', { finalMetrics: { val_loss: 1.5 } });
      },
    });
    const taskQueue = uniqueTaskQueue();
    // No sticky cache: the time-skipping server does not move sticky tasks off a worker that has shut down.
    const first = await createTestWorker(env, taskQueue, acts.impl, { maxCachedWorkflows: 0 });
    const handle = await first.runUntil(async () => {
      // A 1 s poll gives the minimum heartbeat timeout (30 s), which the server waits out in real time.
      const h = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'train-shutdown',
        args: [{ ...input, pollIntervalSeconds: 1 }],
      });
      while (!acts.calls.createTrainingJob) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      return h;
    });
    expect(acts.calls.stopTrainingJob).toBeUndefined();
    release = true;
    const second = await createTestWorker(env, taskQueue, acts.impl, { maxCachedWorkflows: 0 });
    const result = await second.runUntil(handle.result());
    expect(result.objectiveValue).toBe(1.5);
    expect(acts.calls.createTrainingJob).toHaveLength(1);
    expect(acts.calls.stopTrainingJob).toBeUndefined();
  });

  it('rejects an invalid input before any activity runs', async () => {
    const acts = activities([]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const bad = { ...input, trainingJobName: 'x'.repeat(64) };
    const err = await worker.runUntil(
      env.client.workflow
        .execute(trainModel, { taskQueue, workflowId: 'train-bad', args: [bad] })
        .catch((e: unknown) => e),
    );
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('SpecInvalid');
    expect(cause.message).toMatch(/\$\.trainingJobName/);
    expect(acts.calls.createTrainingJob).toBeUndefined();
  });
});
