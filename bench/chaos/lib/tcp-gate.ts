/**
 * A TCP relay in front of one local port that a campaign can close for a while: connections in flight are cut and
 * new ones refused (ECONNREFUSED) until it opens again, as a client sees a service that is unreachable.
 */
import net from 'node:net';
import { freePort } from '../../../local/shared/procs';

/** A gate: `port` forwards to the target while open. */
export interface TcpGate {
  port: number;
  /** Cuts every connection and refuses new ones. */
  close(): Promise<void>;
  /** Accepts connections again on the same port. */
  open(): Promise<void>;
}

/** Opens a gate on a free port in front of 127.0.0.1:`targetPort`. */
export async function startTcpGate(targetPort: number): Promise<TcpGate> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(targetPort, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  await listen();
  return {
    port,
    async close() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    async open() {
      if (!server) await listen();
    },
  };
}
