/**
 * The training-step rig shared by the detection bench (bench/suite/detection.ts) and the single-step events chaos
 * campaign (bench/chaos/campaigns/events.ts): the real trainModel workflow and its real create and wait activities on a
 * Temporal dev server, against the HTTP SageMaker stub, and (on the event path) the real relay reading an in-process
 * queue that receives the documented "SageMaker Training Job State Change" event of a stub job.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Worker } from '@temporalio/worker';
import { createActivities, type AwsClients } from '../../../activities';
import { jobStateChangedSignal } from '../../../contracts/workflow-api';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../../testing/temporal-test-env';
import { trainingDefinition } from '../../../testing/training-definition';
import { startEventRelay, type EventRelay, type EventRelayOptions } from '../../../worker/event-relay';
import { MemoryQueue } from './memory-queue';
import { startSageMakerStub } from './sagemaker-stub-server';

/** The training definition every rig job is created with (the stub reads none of it). */
export const RIG_TRAINING_DEFINITION = trainingDefinition({
  channels: { train: 's3://b/train/' },
  outputS3Uri: 's3://b/out/',
  maxRuntimeSeconds: 3 * 86400,
  hyperparameters: {},
});

/** The documented "SageMaker Training Job State Change" event of a stub job (one writer: training-event.ts). */
export { trainingEvent as trainingStateEvent } from './training-event';

/** A started rig. */
export interface TrainingStepRig {
  stub: Awaited<ReturnType<typeof startSageMakerStub>>;
  env: Awaited<ReturnType<typeof createDevServerEnv>>;
  queue: MemoryQueue;
  taskQueue: string;
  worker: Worker;
  /** Starts a relay on the rig's queue (through `sqs`, when given: a client that fails on purpose). */
  startRelay(sqs?: EventRelayOptions['sqs']): EventRelay;
  close(): Promise<void>;
}

/**
 * Starts the stub, the dev server and a worker on a fresh task queue (`prefix`); with `net`, the waits poll only as
 * that net (the event path). `onCreate` runs before each CreateTrainingJob (a campaign counts them).
 */
export async function startTrainingStepRig(opts: {
  prefix: string;
  net: number | null;
  onCreate?: () => void;
}): Promise<TrainingStepRig> {
  const stub = await startSageMakerStub();
  const env = await createDevServerEnv().catch(async (err: unknown) => {
    await stub.close();
    throw err;
  });
  const queue = new MemoryQueue();
  const sagemaker = new SageMakerClient({
    region: 'us-east-1',
    endpoint: stub.endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 3,
  });
  const activities = createActivities({
    clients: { sagemaker } as unknown as AwsClients,
    ...(opts.net === null ? {} : { eventNetIntervalSeconds: opts.net }),
  });
  const taskQueue = uniqueTaskQueue(opts.prefix);
  const worker = await createTestWorker(env, taskQueue, {
    createTrainingJob: async (a: Parameters<typeof activities.createTrainingJob>[0]) => {
      opts.onCreate?.();
      return activities.createTrainingJob(a);
    },
    waitForTrainingJob: activities.waitForTrainingJob,
    stopTrainingJob: activities.stopTrainingJob,
  });
  return {
    stub,
    env,
    queue,
    taskQueue,
    worker,
    startRelay: (sqs = queue.client()) =>
      startEventRelay({
        sqs,
        queueUrl: 'memory://state-changes',
        waitTimeSeconds: 1,
        retryDelayMs: 1000,
        signal: (id, change) => env.client.workflow.getHandle(id).signal(jobStateChangedSignal, change),
      }),
    async close() {
      sagemaker.destroy();
      await env.teardown();
      await stub.close();
    },
  };
}
