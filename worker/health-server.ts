/**
 * The worker's liveness endpoint for an orchestrator: `GET /healthz` answers 200 while the worker is alive (starting,
 * polling, or draining after SIGTERM) and 503 once it has failed or stopped, with its state and in-flight activity
 * count as JSON. It says nothing about Temporal or AWS being reachable: a liveness probe that failed with them would
 * have every worker restarted during an outage they cannot fix. A worker whose event loop is stuck does not answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

/** What the endpoint reports, read at each request. */
export interface HealthSnapshot {
  state: State;
  inFlightActivities: number;
  buildId: string;
}

/** Worker states in which the process is doing its job (or finishing it). */
const ALIVE: ReadonlySet<State> = new Set<State>(['INITIALIZED', 'RUNNING', 'STOPPING', 'DRAINING', 'DRAINED']);

/** A started endpoint. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Serves GET /healthz on host:port (port 0: any free port) from `snapshot`. */
export async function startHealthServer(
  opts: { host: string; port: number },
  snapshot: () => HealthSnapshot,
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /healthz\n');
      return;
    }
    const s = snapshot();
    const alive = ALIVE.has(s.state);
    res
      .writeHead(alive ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(`${JSON.stringify({ status: alive ? 'ok' : 'down', ...s })}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
