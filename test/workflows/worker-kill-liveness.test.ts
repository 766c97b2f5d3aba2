/**
 * A worker killed during a quick AWS call: the server must notice within the liveness heartbeat timeout
 * (contracts/liveness.ts) and give the call to another worker, instead of waiting out the 2-minute start-to-close;
 * and the waits' heartbeat timeout must not grow with the poll interval.
 * The first worker is a real process, SIGKILLed while createTrainingJob is in flight.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { decodeTimeoutType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LIVENESS_HEARTBEAT_TIMEOUT_S, WAIT_HEARTBEAT_TIMEOUT_S } from '../../contracts';
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

const HANGING_WORKER = join(__dirname, '../fixtures/workers/hanging-worker.ts');

it(
  'a createTrainingJob lost with its worker is retried on ' + 'another worker after the liveness timeout, once',
  async () => {
    const taskQueue = uniqueTaskQueue('liveness');
    const child = spawn(process.execPath, ['--import', 'tsx', HANGING_WORKER, env.address, taskQueue], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const started = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('createTrainingJob started')) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`the hanging worker exited (${code}) before the call started:\n${out}`)),
      );
    });
    const handle = await env.client.workflow.start(trainModel, {
      taskQueue,
      workflowId: `liveness-${taskQueue}`,
      args: [{ trainingJobName: 'wf-train-liveness', pollIntervalSeconds: 60, definition: trainingDefinition() }],
    });
    try {
      await started;
    } finally {
      child.kill('SIGKILL');
    }
    const killedAt = Date.now();

    const creates: number[] = [];
    const worker = await createTestWorker(env, taskQueue, {
      createTrainingJob: async () => {
        creates.push(Date.now() - killedAt);
        return {
          trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/wf-train-liveness',
          reattached: true,
        };
      },
      waitForTrainingJob: async () => ({
        trainingJobName: 'wf-train-liveness',
        status: 'Completed',
        secondaryStatus: 'Completed',
        finalMetrics: {},
        billableSeconds: 1,
        modelArtifactS3Uri: 's3://b/m.tar.gz',
      }),
    });
    await worker.runUntil(handle.result());

    expect(creates).toHaveLength(1);
    const history = await handle.fetchHistory();
    const startedEvent = history.events?.find(
      (e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === 2,
    );
    // The lost attempt ended by the heartbeat timeout, not start-to-close: that is what makes the retry quick.
    expect(
      decodeTimeoutType(startedEvent?.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType),
    ).toBe('HEARTBEAT');
    const scheduled = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createTrainingJob',
    );
    expect(Number(scheduled?.activityTaskScheduledEventAttributes?.heartbeatTimeout?.seconds)).toBe(
      LIVENESS_HEARTBEAT_TIMEOUT_S,
    );
    // The wait heartbeats every 10 s whatever the poll interval, so at the production 60 s interval a wait lost with
    // its worker also resumes within 30 s (it was 3 poll intervals, 180 s).
    const wait = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForTrainingJob',
    );
    expect(Number(wait?.activityTaskScheduledEventAttributes?.heartbeatTimeout?.seconds)).toBe(
      WAIT_HEARTBEAT_TIMEOUT_S,
    );
  },
);

it(
  'a quick call slower than the liveness timeout on a live ' + 'worker is not timed out: the worker heartbeats for it',
  async () => {
    const taskQueue = uniqueTaskQueue('liveness-slow');
    let creates = 0;
    const worker = await createTestWorker(env, taskQueue, {
      createTrainingJob: async () => {
        creates += 1;
        await new Promise((r) => setTimeout(r, (LIVENESS_HEARTBEAT_TIMEOUT_S + 5) * 1000));
        return {
          trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/wf-train-slow',
          reattached: false,
        };
      },
      waitForTrainingJob: async () => ({
        trainingJobName: 'wf-train-slow',
        status: 'Completed',
        secondaryStatus: 'Completed',
        finalMetrics: {},
        billableSeconds: 1,
        modelArtifactS3Uri: 's3://b/m.tar.gz',
      }),
    });
    const handle = await env.client.workflow.start(trainModel, {
      taskQueue,
      workflowId: `liveness-${taskQueue}`,
      args: [{ trainingJobName: 'wf-train-slow', pollIntervalSeconds: 60, definition: trainingDefinition() }],
    });
    // Without the heartbeats each attempt would time out at 20 s and be retried forever; give up well before that.
    const bounded = Promise.race([
      handle.result(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`not done after 90 s: ${creates} createTrainingJob attempts`)), 90_000),
      ),
    ]);
    await worker.runUntil(bounded);
    expect(creates).toBe(1);
  },
);
