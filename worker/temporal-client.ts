/** A Temporal client for the CLI, from the same env configuration as the worker. */
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type WorkerConfig } from './config';
import { codecFromEnv } from './payload-codec';
import { connectionOptions } from './temporal-connection';

/** Connects a client; the caller closes `connection` when done. */
export async function connectClient(
  config: WorkerConfig = loadConfig(),
): Promise<{ client: Client; connection: Connection; config: WorkerConfig }> {
  const connection = await Connection.connect(connectionOptions(config));
  const codec = codecFromEnv(process.env);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: codec ? { payloadCodecs: [codec] } : undefined,
  });
  return { client, connection, config };
}
