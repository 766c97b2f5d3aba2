/** Starts the worker's event relay: its own SQS client and a Temporal client that sends the steps their signals. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { jobStateChangedSignal } from '../contracts/workflow-api';
import type { WorkerConfig } from './config';
import { startEventRelay, type EventRelay } from './event-relay';
import { installRequestAudit } from './request-audit';
import { connectClient } from './temporal-client';

/** Connects and starts the relay; stop() ends it and closes its Temporal connection. */
export async function startWorkerEventRelay(config: WorkerConfig, queueUrl: string): Promise<EventRelay> {
  const { client, connection } = await connectClient(config);
  // No SDK retries of its own beyond the default few: the relay loop retries a failed receive itself.
  const sqs = new SQSClient({ region: config.awsRegion, maxAttempts: 3 });
  // Its requests are recorded with the activities' when LOCAL_AWS_REQUEST_AUDIT asks (worker/request-audit.ts).
  if (process.env.LOCAL_AWS_REQUEST_AUDIT) installRequestAudit(sqs, process.env.LOCAL_AWS_REQUEST_AUDIT);
  const relay = startEventRelay({
    sqs,
    queueUrl,
    signal: (workflowId, change) => client.workflow.getHandle(workflowId).signal(jobStateChangedSignal, change),
    log: (message) => console.log(message),
  });
  console.log(`worker: event relay reading ${queueUrl} (polling net every ${config.events?.netIntervalSeconds} s)`);
  return {
    async stop() {
      await relay.stop();
      sqs.destroy();
      await connection.close();
    },
  };
}
