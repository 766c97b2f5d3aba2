/**
 * Raw HTTP/1.1 over a socket, for requests an HTTP client library refuses to send (bad Content-Length, chunked
 * bodies, huge headers) and for slow clients that trickle a request one byte at a time.
 */
import net from 'node:net';
import { sleep } from '../../../local/shared/procs';

/** What came back: the status (0 when the server closed without answering) and the body text. */
export interface RawAnswer {
  status: number;
  body: string;
}

function readAnswer(sock: net.Socket, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const i = text.indexOf('\r\n\r\n');
      resolve({
        status: m ? Number(m[1]) : 0,
        body: i >= 0 ? Buffer.from(text.slice(i + 4), 'latin1').toString('utf8') : '',
      });
      sock.destroy();
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', () => undefined); // a reset after the answer is fine; 'close' follows
  });
}

/** Sends one request as given (Content-Length added unless a length or transfer-encoding header is set). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs = 60_000,
): Promise<RawAnswer> {
  const names = Object.keys(headers).map((k) => k.toLowerCase());
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: localhost',
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (
    !names.includes('content-length') &&
    !names.includes('transfer-encoding') &&
    (body.length > 0 || method === 'POST')
  )
    lines.push(`Content-Length: ${body.length}`);
  const sock = net.connect({ host: '127.0.0.1', port });
  const answer = readAnswer(sock, timeoutMs);
  sock.on('connect', () => sock.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body])));
  return answer;
}

/**
 * A slowloris client: sends the request head, then the body one byte every `intervalMs`, until the server answers
 * or closes (or `maxMs` passes). Returns what the server said.
 */
export async function slowRequest(
  port: number,
  body: Buffer,
  intervalMs: number,
  maxMs: number,
): Promise<RawAnswer & { bytesSent: number }> {
  const sock = net.connect({ host: '127.0.0.1', port });
  let closed = false;
  const answer = readAnswer(sock, maxMs).finally(() => (closed = true));
  await new Promise<void>((resolve) => {
    sock.once('connect', resolve);
    sock.once('error', () => resolve());
  });
  sock.write(
    `POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ` +
      `${body.length}\r\n\r\n`,
  );
  let bytesSent = 0;
  while (!closed && bytesSent < body.length) {
    await sleep(intervalMs);
    if (closed || sock.destroyed) break;
    sock.write(body.subarray(bytesSent, bytesSent + 1));
    bytesSent++;
  }
  return { ...(await answer), bytesSent };
}
