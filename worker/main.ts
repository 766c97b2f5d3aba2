/**
 * The worker: registers every workflow and activity on the task queue. In production it loads the prebuilt
 * workflow bundle (`npm run build` writes dist/workflow-bundle.js); in development it bundles from source.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConfigError, loadConfig, workerCapacityOptions } from './config';
import { createAwsClients } from './aws-clients';
import { codecFromEnv } from './payload-codec';
import { connectionOptions } from './temporal-connection';
import { projectWorkerOptions } from './worker-options';

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await NativeConnection.connect(connectionOptions(config));
  const activities = createActivities({
    clients: createAwsClients({ region: config.awsRegion }),
    specDir: config.specDir,
  });
  const codec = codecFromEnv(process.env);
  const worker = await Worker.create({
    connection,
    dataConverter: codec ? { payloadCodecs: [codec] } : undefined,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    ...workerCapacityOptions(config),
    ...projectWorkerOptions(config.workflowBundlePath),
  });
  console.log(
    `worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ` +
      `${config.temporal.namespace}, up to ${config.maxConcurrentActivities} activities at once)` +
      (codec ? `; payloads encrypted with key ${process.env.PAYLOAD_ENCRYPTION_KEY_ID ?? 'key-1'}` : ''),
  );
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error('worker failed:', err);
  }
  process.exit(1);
});
