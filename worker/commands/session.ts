/**
 * A Temporal connection for one operator command: configuration read here, when a command needs it, and closed after.
 */
import type { Client } from '@temporalio/client';
import { loadTemporalConfig, type TemporalConfig } from '../config';
import { connectClient } from '../temporal-client';

/** Environment the commands read their configuration from (process.env in production, a test's own in tests). */
export type Env = Record<string, string | undefined>;

/**
 * Connects with the Temporal settings of `env` (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, mTLS or API key: the same as
 * the worker's), `namespace` overriding TEMPORAL_NAMESPACE, runs `fn`, and closes the connection.
 */
export async function withTemporal<T>(
  env: Env,
  namespace: string | undefined,
  fn: (client: Client, config: TemporalConfig) => Promise<T>,
): Promise<T> {
  const config = loadTemporalConfig(env);
  if (namespace) config.temporal.namespace = namespace;
  const { client, connection } = await connectClient(config);
  try {
    return await fn(client, config);
  } finally {
    await connection.close();
  }
}
