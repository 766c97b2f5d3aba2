import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { loadConfig, workerCapacityOptions } from '../../worker/config';
import { trainModel } from '../../workflows';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';
import { createdTrainingJob, completedTrainingJob } from './job-fakes';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

// More waiting jobs than the Temporal SDK's default of 100 activity slots per worker.
const JOBS = 120;

const definition = trainingDefinition({
  channels: { train: 's3://b/train/' },
  outputS3Uri: 's3://b/out/',
  maxRuntimeSeconds: 3 * 86400,
  hyperparameters: {},
});

/** Training jobs that run until the test releases them: the wait heartbeats like the real one and records who waits. */
function heldJobs(valLoss: number) {
  const held = { waiting: new Set<string>(), released: false };
  const activities = {
    createTrainingJob: async (i: { trainingJobName: string }) => createdTrainingJob(i.trainingJobName),
    waitForTrainingJob: async (i: { trainingJobName: string }) => {
      held.waiting.add(i.trainingJobName);
      const ctx = Context.current();
      while (!held.released) {
        ctx.heartbeat();
        await ctx.sleep(500);
      }
      return completedTrainingJob(i.trainingJobName, { val_loss: valLoss });
    },
  };
  return { held, activities };
}

/** Starts `count` trainModel steps on `taskQueue`, IDs and job names from `prefix`. */
function startSteps(taskQueue: string, prefix: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, (_, n) =>
      env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: `${prefix}-${n}`,
        args: [
          { trainingJobName: `${prefix}-job-${n}`, pollIntervalSeconds: 60, objectiveMetric: 'val_loss', definition },
        ],
      }),
    ),
  );
}

describe('a worker with the production settings', () => {
  it(`follows ${JOBS} training jobs at once: every wait is polling, none is queued behind the others`, async () => {
    const { held, activities } = heldJobs(2);
    const taskQueue = uniqueTaskQueue('capacity');
    const worker = await createTestWorker(
      env,
      taskQueue,
      activities,
      workerCapacityOptions(loadConfig({ AWS_REGION: 'us-east-1' })),
    );
    const results = await worker.runUntil(async () => {
      const handles = await startSteps(taskQueue, 'capacity', JOBS);
      // With the SDK's default slots this stays at 100 and the test times out here.
      while (held.waiting.size < JOBS) await new Promise((r) => setTimeout(r, 200));
      held.released = true;
      return Promise.all(handles.map((h) => h.result()));
    });
    expect(held.waiting.size).toBe(JOBS);
    expect(results.every((r) => r.objectiveValue === 2)).toBe(true);
  }, 180_000);

  it('keeps only the cache size of waiting runs in memory, and an evicted step still acts on its job ending', async () => {
    // Production caches fewer runs than 1,000 waiting pipelines hold (worker/config.ts); here 4 for 12 steps.
    const cached = 4;
    const steps = 12;
    const { held, activities } = heldJobs(3);
    const taskQueue = uniqueTaskQueue('capacity-cache');
    const worker = await createTestWorker(
      env,
      taskQueue,
      activities,
      workerCapacityOptions(loadConfig({ AWS_REGION: 'us-east-1', WORKER_MAX_CACHED_WORKFLOWS: String(cached) })),
    );
    const { results, cachedWhileWaiting } = await worker.runUntil(async () => {
      const handles = await startSteps(taskQueue, 'capacity-cache', steps);
      while (held.waiting.size < steps) await new Promise((r) => setTimeout(r, 200));
      const cachedNow = worker.getStatus().numCachedWorkflows;
      // Every job ends: the evicted steps' next task replays their history and completes them.
      held.released = true;
      return { results: await Promise.all(handles.map((h) => h.result())), cachedWhileWaiting: cachedNow };
    });
    expect(cachedWhileWaiting).toBeLessThanOrEqual(cached);
    expect(results.map((r) => r.objectiveValue)).toEqual(Array.from({ length: steps }, () => 3));
  }, 180_000);
});
