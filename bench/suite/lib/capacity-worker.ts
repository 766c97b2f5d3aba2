/**
 * The worker process the capacity bench measures (started with `node --import tsx`, so /proc/<pid> is this worker
 * alone): production's Worker settings (worker/config.ts) and workflows, the real SageMaker training activities with
 * the SDK client pointed at the bench's stub (AWS_ENDPOINT_URL_SAGEMAKER), the scripted fakes for the other steps.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../../activities';
import { createFakeActivities } from '../../../testing/scripted-activities';
import { createAwsClients } from '../../../worker/aws-clients';
import { loadConfig, workerCapacityOptions } from '../../../worker/config';
import { startWorkerEventRelay } from '../../../worker/event-relay-main';
import { connectionOptions } from '../../../worker/temporal-connection';
import { projectWorkerOptions } from '../../../worker/worker-options';

Runtime.install({ logger: new DefaultLogger('WARN') });

/**
 * The fakes record every input for the tests; keep the last two per activity so the recorder's memory is not measured.
 */
function withoutRecording(): Record<string, (input: never) => Promise<unknown>> {
  const fakes = createFakeActivities();
  const out: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(fakes.impl)) {
    out[name] = async (input: never) => {
      const result = await fn(input);
      const calls = fakes.calls[name];
      if (calls && calls.length > 2) calls.splice(0, calls.length - 2);
      return result;
    };
  }
  return out;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await NativeConnection.connect(connectionOptions(config));
  const real = createActivities({
    clients: createAwsClients({ region: config.awsRegion }),
    eventNetIntervalSeconds: config.events?.netIntervalSeconds,
  });
  // Like production (worker/main.ts): with PIPELINE_EVENTS_QUEUE_URL the relay runs in the worker process.
  const relay = config.events ? await startWorkerEventRelay(config, config.events.queueUrl) : undefined;
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: {
      ...withoutRecording(),
      createTrainingJob: real.createTrainingJob,
      waitForTrainingJob: real.waitForTrainingJob,
      stopTrainingJob: real.stopTrainingJob,
    },
    // Like production: the prebuilt bundle (WORKFLOW_BUNDLE_PATH) when given, so bundling's memory is not measured.
    ...projectWorkerOptions(config.workflowBundlePath),
    ...workerCapacityOptions(config),
  });
  console.log(
    `capacity-worker ready: ${config.maxConcurrentActivities} activity slots, ${config.maxCachedWorkflows} cached ` +
      `workflows${relay ? ', event relay running' : ''}`,
  );
  // Where the memory is (V8 heap vs. everything else), for reading the bench's RSS.
  setInterval(() => {
    const m = process.memoryUsage();
    const mb = (b: number) => Math.round(b / 2 ** 20);
    // Committed size of the young (new) and old generation: the young one is what --max-semi-space-size caps.
    const space = (name: string) => mb(getHeapSpaceStatistics().find((x) => x.space_name === name)?.space_size ?? 0);
    console.log(
      `memory: rss ${mb(m.rss)} MiB, heap used ${mb(m.heapUsed)} / total ${mb(m.heapTotal)} MiB (new space ` +
        `${space('new_space')}, old space ${space('old_space')}), external ${mb(m.external)} MiB, array buffers ` +
        `${mb(m.arrayBuffers)} MiB`,
    );
  }, 10_000).unref();
  await worker.run();
  await relay?.stop();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error('capacity-worker failed:', err);
  process.exit(1);
});
