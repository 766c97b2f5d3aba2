/**
 * A worker killed during a quick AWS call: the server must notice within the liveness heartbeat timeout
 * (contracts/liveness.ts) and give the call to another worker, instead of waiting out the 2-minute start-to-close;
 * and the waits' heartbeat timeout must not grow with the poll interval.
 * The first worker is a real process, SIGKILLed while createTrainingJob is in flight.
 */
import { decodeTimeoutType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LIVENESS_HEARTBEAT_TIMEOUT_S, WAIT_HEARTBEAT_TIMEOUT_S } from '../../contracts';
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

it(
  'a createTrainingJob lost with its worker is retried on ' + 'another worker after the liveness timeout, once',
  async () => {
    const taskQueue = uniqueTaskQueue('liveness');
    const { child, started } = spawnFixtureWorker('hanging-worker.ts', env.address, taskQueue);
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
        return createdTrainingJob('wf-train-liveness', true);
      },
      waitForTrainingJob: async () => completedTrainingJob('wf-train-liveness'),
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
        return createdTrainingJob('wf-train-slow');
      },
      waitForTrainingJob: async () => completedTrainingJob('wf-train-slow'),
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
