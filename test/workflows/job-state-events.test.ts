/**
 * State-change events wake a waiting step (workflows/job-step.ts, docs/events.md): a `jobStateChanged` signal cuts the
 * wait short and the step describes the job once; a lost event is caught by the wait's own polling (the net); a
 * duplicate signal costs one Describe and changes nothing.
 */
import { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TrainModelInput, TrainingJobSnapshot } from '../../contracts';
import { jobStateChangedSignal, statusQuery } from '../../contracts/workflow-api';
import { trainModel } from '../../workflows';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { trainingDefinition } from '../../testing/training-definition';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const input: TrainModelInput = {
  trainingJobName: 'wf-events-0123abcd',
  pollIntervalSeconds: 60,
  definition: trainingDefinition(),
};
const snap = (status: TrainingJobSnapshot['status'], secondaryStatus: string): TrainingJobSnapshot => ({
  trainingJobName: input.trainingJobName,
  status,
  secondaryStatus,
  finalMetrics: {},
  billableSeconds: null,
  ...(status === 'Completed' ? { modelArtifactS3Uri: 's3://b/output/x/model.tar.gz' } : {}),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A fake training job and a wait activity that behaves like the real one: from "no last state" it returns what it
 * describes at once; otherwise it heartbeats and describes only every `netMs` (the polling net), until the job leaves
 * `last` or the wait is cancelled.
 */
function fakeJob(netMs: number) {
  const job = { state: snap('InProgress', 'Starting') };
  const waits: { last: unknown; outcome?: 'returned' | 'cancelled' }[] = [];
  const impl = {
    createTrainingJob: async () => ({
      trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/x',
      reattached: false,
    }),
    waitForTrainingJob: async (a: { last: { status: string; secondaryStatus: string } | null }) => {
      const w: (typeof waits)[number] = { last: a.last };
      waits.push(w);
      if (!a.last) {
        w.outcome = 'returned';
        return job.state;
      }
      const ctx = Context.current();
      let since = 0;
      for (;;) {
        if (since >= netMs) {
          since = 0;
          const s = job.state;
          if (s.status !== a.last.status || s.secondaryStatus !== a.last.secondaryStatus) {
            w.outcome = 'returned';
            return s;
          }
        }
        ctx.heartbeat();
        try {
          await Promise.race([sleep(100), ctx.cancelled]);
        } catch (err) {
          w.outcome = 'cancelled';
          throw err;
        }
        since += 100;
      }
    },
    stopTrainingJob: async () => ({ stopped: true, status: 'Stopping' }),
    readJobLogTail: async () => ({ lines: [] }),
  };
  return { job, waits, impl };
}

/** Resolves once the step waits on its job from `status` (its status query says so). */
async function untilWaitingFrom(workflowId: string, phase: string): Promise<void> {
  const handle = env.client.workflow.getHandle(workflowId);
  for (let i = 0; i < 300; i++) {
    if ((await handle.query(statusQuery)).phase === phase) return;
    await sleep(100);
  }
  throw new Error(`${workflowId} never reached phase ${phase}`);
}

describe('job state-change events', () => {
  it('a signal wakes the waiting step, which describes once and finishes without waiting for the net', async () => {
    const fake = fakeJob(3_600_000); // the net would take an hour: only the signal can end this wait
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fake.impl);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'events-wake',
        args: [input],
      });
      await untilWaitingFrom('events-wake', 'InProgress / Starting');
      fake.job.state = snap('Completed', 'Completed');
      await handle.signal(jobStateChangedSignal, {
        detailType: 'SageMaker Training Job State Change',
        resource: input.trainingJobName,
        status: 'Completed',
        time: new Date().toISOString(),
      });
      const result = await Promise.race([
        handle.result(),
        sleep(60_000).then(() => {
          throw new Error('the signal did not wake the step');
        }),
      ]);
      expect(result).toMatchObject({ modelArtifactS3Uri: 's3://b/output/x/model.tar.gz' });
    });
    // First state, the wait the signal cut short (it never returned: its cancel reaches it at a heartbeat), then
    // the one Describe the signal asked for.
    expect(fake.waits.map((w) => w.last)).toEqual([null, { status: 'InProgress', secondaryStatus: 'Starting' }, null]);
    expect(fake.waits.map((w) => w.outcome)).toEqual(['returned', expect.not.stringMatching('returned'), 'returned']);
  });

  it('a duplicate signal (nothing changed) costs one Describe and the step waits on', async () => {
    const fake = fakeJob(3_600_000);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fake.impl);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'events-duplicate',
        args: [input],
      });
      await untilWaitingFrom('events-duplicate', 'InProgress / Starting');
      const hint = {
        detailType: 'SageMaker Training Job State Change',
        resource: input.trainingJobName,
        status: 'InProgress',
        time: new Date().toISOString(),
      };
      await handle.signal(jobStateChangedSignal, hint);
      // The step is waiting again (a fourth wait, from the same last state) before the job changes.
      for (let i = 0; i < 300 && fake.waits.length < 4; i++) await sleep(100);
      const starting = { status: 'InProgress', secondaryStatus: 'Starting' };
      expect(fake.waits.map((w) => w.last)).toEqual([null, starting, null, starting]);
      fake.job.state = snap('Completed', 'Completed');
      await handle.signal(jobStateChangedSignal, { ...hint, status: 'Completed' });
      await handle.result();
    });
  });

  it('a lost event is caught by the net: the step still moves on when its wait next describes', async () => {
    const fake = fakeJob(1_000); // a net of one second stands in for the ten minutes
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fake.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'events-lost',
        args: [input],
      });
      await untilWaitingFrom('events-lost', 'InProgress / Starting');
      fake.job.state = snap('Completed', 'Completed'); // and no signal
      return handle.result();
    });
    expect(result).toMatchObject({ modelArtifactS3Uri: 's3://b/output/x/model.tar.gz' });
    expect(fake.waits.map((w) => w.outcome)).toEqual(['returned', 'returned']);
  });
});
