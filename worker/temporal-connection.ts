/** Connection options for Temporal (local, self-hosted with mTLS, or Temporal Cloud with an API key). */
import { readFileSync } from 'node:fs';
import type { TemporalConfig } from './config';

/** Options shared by `NativeConnection.connect` (worker) and `Connection.connect` (client). */
export function connectionOptions(config: TemporalConfig) {
  const { address, tls, apiKey } = config.temporal;
  if (tls) {
    return { address, tls: { clientCertPair: { crt: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) } } };
  }
  if (apiKey) return { address, tls: true as const, apiKey };
  return { address };
}
