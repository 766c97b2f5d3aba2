/**
 * State-change events wake a waiting step (workflows/job-step.ts, docs/events.md): a `jobStateChanged` signal cuts the
 * wait short and the step describes the job once; a lost event is caught by the wait's own polling (the net). Since
 * v7 (PATCH.describeOnStatusChange) a signal is read as a hint first: one that repeats the status the wait is waiting
 * to leave (a duplicate, a training job's secondary-status change) is only shown on the step's phase, with no
 * Describe.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TrainModelInput, TrainingJobSnapshot } from '../../contracts';
import { jobStateChangedSignal, statusQuery } from '../../contracts/workflow-api';
import { buildImage, trainModel } from '../../workflows';
import { createFakeActivities } from '../../testing/scripted-activities';
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
  // `gate`: while set, a Describe from "no last state" waits for it (a test holds one in flight).
  const job: { state: TrainingJobSnapshot; gate?: Promise<void> } = { state: snap('InProgress', 'Starting') };
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
        await job.gate;
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

/** The Describe calls of a fake job's waits that a test counts: one per wait from "no last state". */
const describes = (waits: { last: unknown }[]) => waits.filter((w) => w.last === null).length;

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

  it('a duplicate signal (nothing changed) costs no Describe and the step waits on (v7; one Describe on v6)', async () => {
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
      // A query sees the state after every event already in the history: the duplicate has been handled.
      expect((await handle.query(statusQuery)).phase).toBe('InProgress / Starting');
      fake.job.state = snap('Completed', 'Completed');
      await handle.signal(jobStateChangedSignal, { ...hint, status: 'Completed' });
      await handle.result();
    });
    // Signals are handled in order: the duplicate left the wait from Starting running (v6 cancelled it and described,
    // then waited again from Starting); only the terminal event cut it short.
    const starting = { status: 'InProgress', secondaryStatus: 'Starting' };
    expect(fake.waits.map((w) => w.last)).toEqual([null, starting, null]);
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

  it('a secondary-status event describes nothing: the step shows it and keeps its wait (v7)', async () => {
    const fake = fakeJob(3_600_000);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fake.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: 'events-secondary',
        args: [input],
      });
      await untilWaitingFrom('events-secondary', 'InProgress / Starting');
      const hint = (status: string, secondaryStatus: string) => ({
        detailType: 'SageMaker Training Job State Change',
        resource: input.trainingJobName,
        status,
        secondaryStatus,
        time: new Date().toISOString(),
      });
      for (const secondary of ['Downloading', 'Training', 'Uploading']) {
        fake.job.state = snap('InProgress', secondary);
        await handle.signal(jobStateChangedSignal, hint('InProgress', secondary));
        // The status query shows what the event said, marked as from the event.
        await untilWaitingFrom('events-secondary', `InProgress / ${secondary} (event)`);
      }
      fake.job.state = snap('Completed', 'Completed');
      await handle.signal(jobStateChangedSignal, hint('Completed', 'Completed'));
      return handle.result();
    });
    expect(result).toMatchObject({ modelArtifactS3Uri: 's3://b/output/x/model.tar.gz' });
    // The first state, then one wait from Starting that only the terminal event cut short, then its one Describe:
    // three secondary-status events cost no Describe (v6 described at each: 5 waits, 4 of them Describes).
    const starting = { status: 'InProgress', secondaryStatus: 'Starting' };
    expect(fake.waits.map((w) => w.last)).toEqual([null, starting, null]);
    expect(describes(fake.waits)).toBe(2);
  });

  it('a primary-status event costs exactly one Describe; a duplicate terminal event is harmless (v7)', async () => {
    const fake = fakeJob(3_600_000);
    let open = () => {};
    fake.job.gate = new Promise<void>((r) => (open = r));
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fake.impl);
    const workflowId = 'events-terminal-duplicate';
    const terminal = {
      detailType: 'SageMaker Training Job State Change',
      resource: input.trainingJobName,
      status: 'Completed',
      secondaryStatus: 'Completed',
      time: new Date().toISOString(),
    };
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(trainModel, { taskQueue, workflowId, args: [input] });
      open(); // the first Describe (from no state) goes through
      await untilWaitingFrom(workflowId, 'InProgress / Starting');
      fake.job.gate = new Promise<void>((r) => (open = r));
      fake.job.state = snap('Completed', 'Completed');
      // AWS may send several events for one change: the second arrives while the first one's Describe is in flight.
      await handle.signal(jobStateChangedSignal, terminal);
      for (let i = 0; i < 300 && fake.waits.length < 3; i++) await sleep(100);
      await handle.signal(jobStateChangedSignal, terminal);
      open();
      const done = await handle.result();
      // A third copy after the step closed: Temporal refuses it (the relay then deletes the message).
      await expect(handle.signal(jobStateChangedSignal, terminal)).rejects.toThrow(WorkflowNotFoundError);
      return done;
    });
    expect(result).toMatchObject({ modelArtifactS3Uri: 's3://b/output/x/model.tar.gz' });
    expect(describes(fake.waits)).toBe(2); // the first state and the one the terminal event asked for
  });

  it("an IN_PROGRESS build event describes nothing, and the build's end is acted on at its event (v7)", async () => {
    const fakes = createFakeActivities();
    let done = false;
    // Like the real wait: describes at once, then only at the net (an hour: never here) until the build is over.
    fakes.impl.waitForImageBuild = async () => {
      const ctx = Context.current();
      // The Describe at once; after it only the net would describe again, and it never comes here.
      if (!done)
        for (;;) {
          ctx.heartbeat();
          await Promise.race([sleep(100), ctx.cancelled]);
        }
      return { buildId: 'demo-image-build:1', status: 'SUCCEEDED', logTail: [] };
    };
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    const workflowId = 'events-build-in-progress';
    const hint = (status: string) => ({
      detailType: 'CodeBuild Build State Change',
      resource: 'arn:aws:codebuild:us-east-1:123456789012:build/demo-image-build:1',
      status,
      time: new Date().toISOString(),
    });
    const scheduled = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(buildImage, {
        taskQueue,
        workflowId,
        args: [
          {
            pipelineName: 'demo',
            bucket: 'pipeline-bucket',
            repository: 'jax-lm',
            contextDir: 'container',
            codeBuild: { computeType: 'BUILD_GENERAL1_LARGE', image: 'aws/codebuild/standard:7.0', timeoutMinutes: 60 },
          },
        ],
      });
      await untilWaitingFrom(workflowId, 'building');
      await handle.signal(jobStateChangedSignal, hint('IN_PROGRESS'));
      await handle.query(statusQuery); // the signal has been handled (v6 started its one Describe here)
      done = true;
      await handle.signal(jobStateChangedSignal, hint('SUCCEEDED'));
      await Promise.race([
        handle.result(),
        sleep(30_000).then(async () => {
          await handle.terminate();
          throw new Error('the SUCCEEDED event did not end the build step');
        }),
      ]);
      const events = (await handle.fetchHistory()).events ?? [];
      return events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForImageBuild');
    });
    // The first wait, cut short by the SUCCEEDED event only, then the one Describe it asked for. v6 cut the first
    // short at IN_PROGRESS, and its second wait (from no state, not raced with signals) missed the SUCCEEDED event
    // until the net.
    expect(scheduled).toHaveLength(2);
  });
});
