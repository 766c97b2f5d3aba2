/** A Temporal client for the CLI, from the same env configuration as the worker (Temporal settings only). */
import { Client, Connection } from '@temporalio/client';
import { loadTemporalConfig, type TemporalConfig } from './config';
import { codecFromEnv } from './payload-codec';
import { connectionOptions } from './temporal-connection';

/** Connects a client; the caller closes `connection` when done. */
export async function connectClient<C extends TemporalConfig = TemporalConfig>(
  config: C = loadTemporalConfig() as C,
): Promise<{ client: Client; connection: Connection; config: C }> {
  const connection = await Connection.connect(connectionOptions(config));
  const codec = codecFromEnv(process.env);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: codec ? { payloadCodecs: [codec] } : undefined,
  });
  return { client, connection, config };
}
