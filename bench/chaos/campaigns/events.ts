/**
 * State-change events under faults (docs/events.md): trainModel workflows with the real activities against the
 * SageMaker stub, the real event relay, and a queue that drops, duplicates, delays and reorders the documented events,
 * becomes unreachable for a while, and whose relay is killed and restarted mid-run. Every job must be created once
 * and its workflow complete once; a change whose event was lost must be acted on within the polling net.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Command } from 'commander';
import { createActivities, type AwsClients } from '../../../activities';
import { jobStateChangedSignal } from '../../../contracts/workflow-api';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../../testing/temporal-test-env';
import { trainingDefinition } from '../../../testing/training-definition';
import { trainModel } from '../../../workflows';
import { sleep } from '../../../local/shared/procs';
import { positiveInt } from '../../../worker/command-line';
import { startEventRelay, type EventRelay } from '../../../worker/event-relay';
import { writeResult } from '../../lib/results';
import { MemoryQueue } from '../../suite/lib/memory-queue';
import { startSageMakerStub } from '../../suite/lib/sagemaker-stub-server';

export const about =
  'state-change events dropped, duplicated, delayed, reordered, the queue unreachable and the relay killed: every ' +
  'job created once and acted on, a lost event costing at most the polling net';

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--jobs <n>', 'training jobs', positiveInt, 12)
    .option('--net <seconds>', "the polling net's interval (production: 600)", positiveInt, 30)
    .option('--delay <seconds>', 'how long a delayed event is held', positiveInt, 45);
}

const definition = trainingDefinition({
  channels: { train: 's3://b/train/' },
  outputS3Uri: 's3://b/out/',
  maxRuntimeSeconds: 3 * 86400,
  hyperparameters: {},
});

type Fate = 'delivered' | 'dropped' | 'duplicated' | 'delayed' | 'reordered';

export async function run(opts: { jobs: number; net: number; delay: number }): Promise<void> {
  const stub = await startSageMakerStub();
  const env = await createDevServerEnv();
  const queue = new MemoryQueue();
  let unreachableUntil = 0;
  const base = queue.client();
  // The queue as the relay sees it: unreachable (a network error on every call) until `unreachableUntil`.
  const sqs = {
    send: async (cmd: unknown) => {
      if (Date.now() < unreachableUntil) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
      return base.send(cmd as never);
    },
  } as unknown as ReturnType<MemoryQueue['client']>;
  const fates: Record<Fate, number> = { delivered: 0, dropped: 0, duplicated: 0, delayed: 0, reordered: 0 };
  let held: string | undefined;
  const rows: { job: string; change: string; fate: Fate; actedS: number }[] = [];
  let creates = 0;
  let relayKills = 0;
  try {
    const sagemaker = new SageMakerClient({
      region: 'us-east-1',
      endpoint: stub.endpoint,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      maxAttempts: 3,
    });
    const acts = createActivities({
      clients: { sagemaker } as unknown as AwsClients,
      eventNetIntervalSeconds: opts.net,
    });
    const taskQueue = uniqueTaskQueue('chaos-events');
    const worker = await createTestWorker(env, taskQueue, {
      createTrainingJob: async (a: Parameters<typeof acts.createTrainingJob>[0]) => {
        creates++;
        return acts.createTrainingJob(a);
      },
      waitForTrainingJob: acts.waitForTrainingJob,
      stopTrainingJob: acts.stopTrainingJob,
    });
    let relay: EventRelay = startEventRelay({
      sqs,
      queueUrl: 'memory://state-changes',
      waitTimeSeconds: 1,
      retryDelayMs: 1000,
      signal: (id, change) => env.client.workflow.getHandle(id).signal(jobStateChangedSignal, change),
    });
    // Faults on the queue and the relay while the jobs run: unreachable for 20 s, the relay killed for 15 s.
    const disruptions = (async () => {
      await sleep(10_000);
      unreachableUntil = Date.now() + 20_000;
      await sleep(30_000);
      await relay.stop();
      relayKills++;
      await sleep(15_000);
      relay = startEventRelay({
        sqs,
        queueUrl: 'memory://state-changes',
        waitTimeSeconds: 1,
        retryDelayMs: 1000,
        signal: (id, change) => env.client.workflow.getHandle(id).signal(jobStateChangedSignal, change),
      });
    })();
    // Each event's fate in turn: the five fates round-robin, so every kind is exercised on every run.
    const order: Fate[] = ['delivered', 'dropped', 'duplicated', 'delayed', 'reordered'];
    let n = 0;
    const publish = (body: string): Fate => {
      const fate = order[n++ % order.length] as Fate;
      fates[fate]++;
      const release = () => {
        if (held) {
          queue.enqueue(held);
          held = undefined;
        }
      };
      if (fate === 'dropped') return fate;
      if (fate === 'reordered') {
        release();
        held = body; // goes out behind the next event
        return fate;
      }
      if (fate === 'delayed') {
        setTimeout(() => queue.enqueue(body), opts.delay * 1000).unref();
        return fate;
      }
      queue.enqueue(body);
      if (fate === 'duplicated') queue.enqueue(body);
      release();
      return fate;
    };
    const event = (name: string, workflowId: string, status: string, secondary: string) =>
      JSON.stringify({
        version: '0',
        id: `${name}-${status}-${secondary}`,
        'detail-type': 'SageMaker Training Job State Change',
        source: 'aws.sagemaker',
        account: '123456789012',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [`arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`],
        detail: {
          TrainingJobName: name,
          TrainingJobStatus: status,
          SecondaryStatus: secondary,
          Tags: { 'pipeline:workflow-id': workflowId },
        },
      });
    const follow = async (i: number) => {
      const name = `chaos-events-${i}`;
      const workflowId = `chaos-events-${process.pid}-${i}`;
      await sleep(i * 2000);
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId,
        // The spec's interval below the net: the net alone decides when a wait describes without an event.
        args: [{ trainingJobName: name, pollIntervalSeconds: 1, definition }],
      });
      while (!stub.jobs.get(name)?.describes.length) await sleep(100);
      for (const [status, secondary] of [
        ['InProgress', 'Training'],
        ['Completed', 'Completed'],
      ] as const) {
        await sleep(3000 + Math.random() * 5000);
        const job = stub.jobs.get(name);
        const before = job?.describes.length ?? 0;
        const t = stub.set(name, status, secondary);
        const fate = publish(event(name, workflowId, status, secondary));
        // Acted on: the first Describe after the flip (the step describes only when woken or at the net).
        while ((stub.jobs.get(name)?.describes.length ?? 0) <= before) await sleep(50);
        const seenAt = stub.jobs.get(name)?.describes.find((d) => d >= t) ?? Date.now();
        rows.push({ job: name, change: `-> ${status}/${secondary}`, fate, actedS: (seenAt - t) / 1000 });
      }
      await handle.result();
    };
    const results = await worker.runUntil(Promise.allSettled(Array.from({ length: opts.jobs }, (_, i) => follow(i))));
    await disruptions;
    await relay.stop();
    const failed = results.filter((r) => r.status === 'rejected');
    const lost = rows.filter((r) => r.fate === 'dropped');
    const worstLost = Math.max(0, ...lost.map((r) => r.actedS));
    const byFate = (f: Fate) => rows.filter((r) => r.fate === f).map((r) => r.actedS);
    const fmt = (xs: number[]) => (xs.length ? Math.max(...xs).toFixed(1) : '-');
    const ok = failed.length === 0 && creates === opts.jobs && worstLost <= opts.net + 5;
    writeResult({
      name: 'chaos-events',
      title: 'Chaos: state-change events dropped, duplicated, delayed, reordered; queue unreachable; relay killed',
      command: `npm run chaos -- events --jobs ${opts.jobs} --net ${opts.net} --delay ${opts.delay}`,
      columns: ['event fate', 'changes', 'worst change -> Describe that saw it (s)'],
      rows: (Object.keys(fates) as Fate[]).map((f) => [f, byFate(f).length, fmt(byFate(f))]),
      notes: [
        `**Outcome: ${ok ? 'passed' : 'FAILED'}.** ${opts.jobs - failed.length} of ${opts.jobs} workflows ` +
          `completed (${failed.map((f) => String((f as PromiseRejectedResult).reason)).join('; ') || 'none failed'}); ` +
          `${creates} CreateTrainingJob calls for ${opts.jobs} jobs (one each: nothing duplicated); ` +
          `a lost event cost at most ${worstLost.toFixed(1)} s against a net of ${opts.net} s (+5 s slack).`,
        `**Faults.** Events in turn delivered, dropped, duplicated, delayed ${opts.delay} s, and held back behind ` +
          `the next one; the queue unreachable for 20 s from 10 s in; the relay killed ${relayKills} time(s) for ` +
          `15 s from 40 s in. The net is ${opts.net} s here (production ${600} s) so the campaign stays short; a ` +
          `delayed or reordered event that arrives after the net already moved the step on costs one Describe.`,
        '**How.** trainModel workflows on a Temporal dev server with the real createTrainingJob and ' +
          'waitForTrainingJob activities against the HTTP SageMaker stub (bench/suite/lib/sagemaker-stub-server.ts), ' +
          'the real relay (worker/event-relay.ts) reading an in-process queue (bench/suite/lib/memory-queue.ts). ' +
          'The pipeline-level "deploys exactly once" is not exercised here (one step kind, no endpoint).',
      ],
    });
    if (!ok) process.exitCode = 1;
  } finally {
    await env.teardown();
    await stub.close();
  }
}
