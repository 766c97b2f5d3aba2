/**
 * SIGTERM (what ECS, Kubernetes and `podman stop` send) drains a worker: it stops polling, lets the activity in flight
 * finish and report its result, then exits 0; the run goes on on another worker without calling AWS again.
 * The first worker is a real process with production's shutdown settings (worker/config.ts).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { trainModel } from '../../workflows';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';
import { spawnFixtureWorker } from './fixture-worker';
import { completedTrainingJob, createdTrainingJob } from './job-fakes';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

it('a worker sent SIGTERM lets its in-flight createTrainingJob finish, reports it, and exits 0', async () => {
  const taskQueue = uniqueTaskQueue('drain');
  const { child, output, started, exited } = spawnFixtureWorker('draining-worker.ts', env.address, taskQueue);
  const handle = await env.client.workflow.start(trainModel, {
    taskQueue,
    workflowId: `drain-${taskQueue}`,
    args: [{ trainingJobName: 'wf-train-drain', pollIntervalSeconds: 60, definition: trainingDefinition() }],
  });
  try {
    await started;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
  expect(output()).toContain('createTrainingJob finished');
  expect(output()).not.toContain('createTrainingJob cancelled');

  const creates: string[] = [];
  const worker = await createTestWorker(env, taskQueue, {
    createTrainingJob: async () => {
      creates.push('again');
      return createdTrainingJob('wf-train-drain', true);
    },
    waitForTrainingJob: async () => completedTrainingJob('wf-train-drain'),
  });
  await worker.runUntil(handle.result());
  // The drained worker's result was recorded: nobody created the job a second time.
  expect(creates).toEqual([]);
});
