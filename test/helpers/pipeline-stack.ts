/**
 * What the pipeline e2e tests share: a local stack of their own (fresh state dir, free ports), the bucket, the demo
 * dataset prepared by the container's `prepare`, a worker in this process on the test's task queue, and clients.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../activities';
import { type StackConfig, workerEnv } from '../../local/stack/config';
import { down, up } from '../../local/stack/launcher';
import { createAwsClients } from '../../worker/aws-clients';
import { projectWorkerOptions } from '../../worker/worker-options';
import { isolatedStackConfig } from './local-stack';

/** A running stack with its worker and clients. */
export interface PipelineStack {
  cfg: StackConfig;
  /** The worker's environment (also set in process.env, where the AWS SDK reads AWS_ENDPOINT_URL_*). */
  env: Record<string, string>;
  /** The prepared dataset (train/ and val/), for the spec's `data.source.localPath`. */
  datasetDir: string;
  client: Client;
  sm: SageMakerClient;
  s3: S3Client;
  runtime: SageMakerRuntimeClient;
  /** Stops the worker and the stack; removes the state dir unless `keepState` (logs to read after a failure). */
  stop(keepState: boolean): Promise<void>;
}

/** Starts the stack for the container's entrypoints in `binDir`; `extraEnv` goes to this process (and the stack). */
export async function startPipelineStack(opts: {
  prefix: string;
  binDir: string;
  taskQueue: string;
  bucket: string;
  extraEnv?: Record<string, string>;
}): Promise<PipelineStack> {
  const cfg = await isolatedStackConfig(opts.prefix, opts.binDir);
  const env = workerEnv(cfg);
  // The AWS SDK reads AWS_ENDPOINT_URL_* itself: set them before any client is created.
  Object.assign(process.env, env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, opts.extraEnv);
  let nativeConnection: NativeConnection | undefined;
  let connection: Connection | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  const stop = async (keepState: boolean): Promise<void> => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => undefined);
    await connection?.close();
    await nativeConnection?.close();
    await down(cfg);
    if (!keepState) fs.rmSync(cfg.stateDir, { recursive: true, force: true });
    else console.warn(`${opts.prefix}: state and logs kept in ${cfg.stateDir}`);
  };
  try {
    await up(cfg);
    const s3 = new S3Client({ region: env.AWS_REGION, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: opts.bucket }));
    const out = path.join(cfg.stateDir, 'prepare', 'processing', 'output');
    execFileSync(path.join(opts.binDir, 'prepare'), ['--source', 'builtin', '--output', out], {
      env: { ...process.env, SAGEMAKER_BASE_DIR: path.join(cfg.stateDir, 'prepare') },
      stdio: 'ignore',
    });
    const datasetDir = path.join(cfg.stateDir, 'dataset');
    fs.renameSync(out, datasetDir);
    nativeConnection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: opts.taskQueue,
      ...projectWorkerOptions(),
      activities: createActivities({ clients: createAwsClients({ region: env.AWS_REGION as string }) }),
    });
    workerRun = worker.run();
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    return {
      cfg,
      env,
      datasetDir,
      client: new Client({ connection }),
      sm: new SageMakerClient({ region: env.AWS_REGION }),
      s3,
      runtime: new SageMakerRuntimeClient({ region: env.AWS_REGION }),
      stop,
    };
  } catch (err) {
    await stop(true).catch(() => undefined);
    throw err;
  }
}
