/**
 * A request log of the local service's control plane: one JSON line per SageMaker or CodeBuild operation in
 * `<stateDir>/requests.log` (arrival time, operation, the resource it names, status, duration). Benches read it to
 * time what a client did and when; it is appended through a buffered stream, so a request never waits on the disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Body } from './request-fields';

/** One logged request. `t` is the arrival time in epoch milliseconds. */
export interface RequestLogEntry {
  t: number;
  op: string;
  name?: string;
  status: number;
  ms: number;
}

/**
 * The resource a request names: its first `...Name` string field (TrainingJobName, EndpointName, ...), else
 * `id`/`ids[0]`.
 */
function resourceName(body: Body): string | undefined {
  for (const [k, v] of Object.entries(body)) if (k.endsWith('Name') && typeof v === 'string') return v;
  if (typeof body.id === 'string') return body.id;
  if (Array.isArray(body.ids) && typeof body.ids[0] === 'string') return body.ids[0];
  return undefined;
}

export class RequestLog {
  private readonly stream: fs.WriteStream;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'a' });
    // A full disk must not take the service down: the log is a diagnostic, not state.
    this.stream.on('error', () => undefined);
  }

  /** Appends one entry; `arrived` is Date.now() when the request came in. */
  record(arrived: number, op: string, body: Body, status: number): void {
    const entry: RequestLogEntry = { t: arrived, op, name: resourceName(body), status, ms: Date.now() - arrived };
    this.stream.write(`${JSON.stringify(entry)}\n`);
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

/** Reads a request log (a missing file is an empty log; a torn last line from a crash is skipped). */
export function readRequestLog(file: string): RequestLogEntry[] {
  if (!fs.existsSync(file)) return [];
  const out: RequestLogEntry[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RequestLogEntry);
    } catch {
      /* torn line */
    }
  }
  return out;
}
