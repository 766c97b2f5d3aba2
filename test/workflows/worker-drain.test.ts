/**
 * SIGTERM (what ECS, Kubernetes and `podman stop` send) drains a worker: it stops polling, lets the activity in flight
 * finish and report its result, then exits 0; the run goes on on another worker without calling AWS again.
 * The first worker is a real process with production's shutdown settings (worker/config.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { trainModel } from '../../workflows';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../local/harness/temporal-test-env';
import { trainingDefinition } from '../../local/harness/training-definition';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const DRAINING_WORKER = join(__dirname, '../fixtures/workers/draining-worker.ts');

it('a worker sent SIGTERM lets its in-flight createTrainingJob finish, reports it, and exits 0', async () => {
  const taskQueue = uniqueTaskQueue('drain');
  const child = spawn(process.execPath, ['--import', 'tsx', DRAINING_WORKER, env.address, taskQueue], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('createTrainingJob started') && resolve());
    void exited.then((code) => reject(new Error(`the worker exited (${code}) before the call started:\n${out}`)));
  });
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
  expect(out).toContain('createTrainingJob finished');
  expect(out).not.toContain('createTrainingJob cancelled');

  const creates: string[] = [];
  const worker = await createTestWorker(env, taskQueue, {
    createTrainingJob: async () => {
      creates.push('again');
      return {
        trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/wf-train-drain',
        reattached: true,
      };
    },
    waitForTrainingJob: async () => ({
      trainingJobName: 'wf-train-drain',
      status: 'Completed',
      secondaryStatus: 'Completed',
      finalMetrics: {},
      billableSeconds: 1,
      modelArtifactS3Uri: 's3://b/m.tar.gz',
    }),
  });
  await worker.runUntil(handle.result());
  // The drained worker's result was recorded: nobody created the job a second time.
  expect(creates).toEqual([]);
});
