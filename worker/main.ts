/**
 * The worker: registers every workflow and activity on the task queue. In production it loads the prebuilt
 * workflow bundle (`npm run build` writes dist/workflow-bundle.js); in development it bundles from source.
 * Before polling it checks the namespace's search attributes and reports its version (build ID = workflow source
 * hash; Worker Versioning when TEMPORAL_WORKER_DEPLOYMENT is set). SIGTERM or SIGINT stops polling and lets in-flight
 * activities finish for WORKER_SHUTDOWN_GRACE_SECONDS before exiting 0; WORKER_HEALTH_PORT serves GET /healthz.
 * With PIPELINE_EVENTS_QUEUE_URL it also runs the event relay (docs/events.md).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConfigError, loadConfig, workerCapacityOptions, workerShutdownOptions } from './config';
import { createAwsClients } from './aws-clients';
import { startWorkerEventRelay } from './event-relay-main';
import { startHealthServer, type HealthServer } from './health-server';
import { codecFromEnv } from './payload-codec';
import { findSearchAttributeGaps, noGaps, searchAttributeGapsMessage } from './search-attribute-check';
import { connectionOptions } from './temporal-connection';
import { currentVersionNote, workerDeploymentOptions, workerVersion } from './worker-deployment';
import { projectWorkerOptions } from './worker-options';

async function main(): Promise<number> {
  const config = loadConfig();
  const version = workerVersion(config);
  const namespace = config.temporal.namespace;
  const connection = await NativeConnection.connect(connectionOptions(config));
  let health: HealthServer | undefined;
  let relay: { stop(): Promise<void> } | undefined;
  try {
    const gaps = await findSearchAttributeGaps(connection.operatorService, namespace).catch((err: unknown) => {
      // Some clusters do not let a worker's credentials list search attributes: say so, and go on.
      console.warn(`worker: could not check the namespace's search attributes (${(err as Error).message}); continuing`);
      return undefined;
    });
    if (gaps && !noGaps(gaps)) {
      console.error(searchAttributeGapsMessage(gaps, namespace));
      return 1;
    }
    const activities = createActivities({
      clients: createAwsClients({ region: config.awsRegion }),
      specDir: config.specDir,
      eventNetIntervalSeconds: config.events?.netIntervalSeconds,
    });
    const codec = codecFromEnv(process.env);
    if (config.events) relay = await startWorkerEventRelay(config, config.events.queueUrl);
    const worker = await Worker.create({
      connection,
      dataConverter: codec ? { payloadCodecs: [codec] } : undefined,
      namespace,
      taskQueue: config.temporal.taskQueue,
      activities,
      workerDeploymentOptions: workerDeploymentOptions(version),
      ...workerCapacityOptions(config),
      ...workerShutdownOptions(config),
      ...projectWorkerOptions(config.workflowBundlePath),
    });
    if (config.health) {
      health = await startHealthServer(config.health, () => ({
        state: worker.getState(),
        inFlightActivities: worker.getStatus().numInFlightActivities,
        buildId: version.buildId,
      }));
      console.log(`worker: liveness at http://${config.health.host}:${health.port}/healthz`);
    }
    // The SDK's own handlers start the shutdown on these signals; this only says what the worker is waiting for.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        const n = worker.getStatus().numInFlightActivities;
        console.log(
          `worker: ${signal}: stopped polling; letting ${n} in-flight activit${n === 1 ? 'y' : 'ies'} finish ` +
            `(up to ${config.shutdownGraceSeconds} s) before exiting`,
        );
      });
    }
    console.log(
      `worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ` +
        `${namespace}, up to ${config.maxConcurrentActivities} activities at once)` +
        (codec ? `; payloads encrypted with key ${process.env.PAYLOAD_ENCRYPTION_KEY_ID ?? 'key-1'}` : ''),
    );
    console.log(
      `worker version: build ${version.buildId} (${version.origin}) of deployment ${version.deploymentName}, ` +
        (version.versioned
          ? 'Worker Versioning on (AUTO_UPGRADE)'
          : 'unversioned (set TEMPORAL_WORKER_DEPLOYMENT to version)'),
    );
    const note = await currentVersionNote(connection.workflowService, namespace, version);
    if (note) console.log(`worker: ${note}`);
    await worker.run();
    console.log('worker: stopped');
    return 0;
  } finally {
    await relay?.stop();
    await health?.close();
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
    } else {
      console.error('worker failed:', err);
    }
    process.exit(1);
  },
);
