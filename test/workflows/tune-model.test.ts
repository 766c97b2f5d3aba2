import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TuneModelInput, TuningJobSnapshot, TuningResult } from '../../contracts';
import { tuneModel } from '../../workflows';
import { statusQuery } from '../../contracts/workflow-api';
import { cancelAndReport } from '../../worker/pipeline-client';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const input: TuneModelInput = {
  tuningJobName: 'wf-tune-0123abcd',
  pollIntervalSeconds: 60,
  definition: trainingDefinition(),
  tuning: {
    strategy: 'Bayesian',
    ranges: { continuous: [{ name: 'learning_rate', min: 1e-5, max: 1e-2, scaling: 'Logarithmic' }] },
    objective: { metricName: 'val_loss', type: 'Minimize' },
    maxJobs: 8,
    maxParallelJobs: 2,
    resources: { instanceType: 'ml.g5.2xlarge', instanceCount: 1 },
  },
};
const counters = (completed: number, inProgress: number, failed = 0) => ({
  completed,
  inProgress,
  retryableError: 0,
  nonRetryableError: failed,
  stopped: 0,
});
const snap = (status: TuningJobSnapshot['status'], extra: Partial<TuningJobSnapshot> = {}): TuningJobSnapshot => ({
  tuningJobName: input.tuningJobName,
  status,
  counters: counters(0, 0),
  bestObjective: null,
  bestTrainingJobName: null,
  ...extra,
});
const best: TuningResult = {
  tuningJobName: input.tuningJobName,
  bestTrainingJobName: 'wf-tune-0123abcd-005-abcdef12',
  tunedHyperparameters: { learning_rate: '0.0003' },
  hyperparameters: { max_steps: '100', learning_rate: '0.0003' },
  objectiveMetric: 'val_loss',
  objectiveValue: 1.7,
  modelArtifactS3Uri: 's3://b/output/wf-tune-0123abcd-005-abcdef12/output/model.tar.gz',
  counters: counters(8, 0),
};

/** Heartbeats until `until()` holds (or forever), like the real wait activity during a long sweep. */
async function heartbeatUntil(until: () => boolean = () => false): Promise<void> {
  const ctx = Context.current();
  while (!until()) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
}

function activities(
  sequence: Array<TuningJobSnapshot | (() => Promise<TuningJobSnapshot>)>,
  overrides: Record<string, unknown> = {},
) {
  const calls: Record<string, unknown[]> = {};
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
  };
  let i = 0;
  return {
    calls,
    impl: {
      createTuningJob: async (a: unknown) => {
        record('createTuningJob', a);
        return {
          tuningJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/wf-tune-0123abcd',
          reattached: false,
        };
      },
      waitForTuningJob: async (a: unknown) => {
        record('waitForTuningJob', a);
        const next = sequence[Math.min(i++, sequence.length - 1)];
        return typeof next === 'function' ? next() : next;
      },
      describeTuningResult: async (a: unknown) => {
        record('describeTuningResult', a);
        return best;
      },
      stopTuningJob: async (a: unknown) => {
        record('stopTuningJob', a);
        return { stopped: true, status: 'Stopping' };
      },
      ...overrides,
    },
  };
}

describe('tuneModel workflow', () => {
  it(
    'creates the job once, shows trial counters and the best ' + 'objective in status, and returns the best trial',
    async () => {
      let release = false;
      const acts = activities([
        snap('InProgress', {
          counters: counters(3, 2, 1),
          bestObjective: 1.9,
          bestTrainingJobName: 'wf-tune-0123abcd-002-abcdef12',
        }),
        async () => {
          await heartbeatUntil(() => release);
          return snap('Completed', {
            counters: counters(7, 0, 1),
            bestObjective: 1.7,
            bestTrainingJobName: best.bestTrainingJobName,
          });
        },
      ]);
      const taskQueue = uniqueTaskQueue();
      const worker = await createTestWorker(env, taskQueue, acts.impl);
      const { result, during } = await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(tuneModel, { taskQueue, workflowId: 'tune-ok', args: [input] });
        while ((acts.calls.waitForTuningJob?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 50));
        const during = await handle.query(statusQuery);
        release = true;
        return { result: await handle.result(), during };
      });
      expect(during.lastObserved).toMatchObject({
        status: 'InProgress',
        trainingJobStatusCounters: counters(3, 2, 1),
        bestObjective: 1.9,
      });
      expect(during.metrics).toEqual({ val_loss: 1.9 });
      expect(during.phase).toContain('3 completed, 2 in progress, 1 failed');
      expect(result).toMatchObject({
        bestTrainingJobName: best.bestTrainingJobName,
        tunedHyperparameters: { learning_rate: '0.0003' },
        objectiveValue: 1.7,
        modelArtifactS3Uri: best.modelArtifactS3Uri,
        tuningJobArn: expect.stringContaining('hyper-parameter-tuning-job'),
        reattached: false,
      });
      expect(acts.calls.createTuningJob).toHaveLength(1);
      expect(acts.calls.createTuningJob?.[0]).toMatchObject({
        tuningJobName: input.tuningJobName,
        workflowId: 'tune-ok',
        tuning: { maxJobs: 8 },
      });
      expect(acts.calls.waitForTuningJob?.[1]).toMatchObject({ last: { status: 'InProgress' } });
      expect(acts.calls.describeTuningResult).toEqual([
        { tuningJobName: input.tuningJobName, staticHyperparameters: { max_steps: '100' } },
      ]);
    },
  );

  it('fails with TuningFailed summarising the trials’ failure reasons when no trial succeeds', async () => {
    const message =
      'Tuning job wf-tune-0123abcd (Completed): no trial succeeded (completed 0, failed 8, stopped 0). Trial ' +
      'failures: 6× AlgorithmError: CUDA out of memory; 2× ClientError: bad channel';
    const acts = activities([snap('Completed', { counters: counters(0, 0, 8) })], {
      describeTuningResult: async () => {
        throw ApplicationFailure.create({
          type: 'TuningFailed',
          nonRetryable: true,
          message,
          details: [{ reasons: { 'AlgorithmError: CUDA out of memory': 6 } }],
        });
      },
    });
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(tuneModel, { taskQueue, workflowId: 'tune-no-trial', args: [input] })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('TuningFailed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('6× AlgorithmError: CUDA out of memory');
    expect(cause.message).toContain('2× ClientError: bad channel');
    expect(acts.calls.stopTuningJob).toBeUndefined();
  });

  it('fails with TuningFailed and FailureReason verbatim when the tuning job itself failed', async () => {
    const acts = activities([
      snap('Failed', { counters: counters(1, 0, 7), failureReason: 'Too many training jobs failed' }),
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(tuneModel, { taskQueue, workflowId: 'tune-failed', args: [input] })
        .catch((e: unknown) => e),
    );
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('TuningFailed');
    expect(cause.message).toContain('Too many training jobs failed');
  });

  it('stops the tuning job when the workflow is cancelled', async () => {
    const acts = activities([
      snap('InProgress', { counters: counters(0, 2) }),
      () => heartbeatUntil().then(() => snap('Completed')),
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(tuneModel, {
        taskQueue,
        workflowId: 'tune-cancel',
        args: [input],
      });
      while ((acts.calls.waitForTuningJob?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.stopTuningJob).toEqual([{ tuningJobName: input.tuningJobName }]);
    expect(result.status.stopped).toEqual([`tuning job ${input.tuningJobName}`]);
    expect(acts.calls.describeTuningResult).toBeUndefined();
  });

  it('rejects a tuning job name over 32 characters before any activity runs', async () => {
    const acts = activities([]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(tuneModel, { taskQueue, workflowId: 'tune-bad', args: [{ ...input, tuningJobName: 'x'.repeat(33) }] })
        .catch((e: unknown) => e),
    );
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('SpecInvalid');
    expect(cause.message).toMatch(/\$\.tuningJobName/);
    expect(acts.calls.createTuningJob).toBeUndefined();
  });
});
