/**
 * A bounded load client for the campaigns: POSTs one request body at a fixed rate with at most `concurrency` in
 * flight (a tick that finds the client saturated is counted, not queued, so the load stays bounded), over
 * keep-alive HTTP to a loopback URL. Every request is tagged with the phase current when it was sent.
 */
import http from 'node:http';
import { sleep } from '../../../local/shared/procs';

/** One answered (or failed) request. */
export interface Sample {
  phase: string;
  startedAt: number;
  latencyMs: number;
  /** HTTP status, 0 when no answer came (connection refused/reset, timeout). */
  status: number;
  body: string;
  error?: string;
}

export interface LoadOptions {
  url: string;
  body: string;
  contentType?: string;
  ratePerSec: number;
  concurrency: number;
  timeoutMs?: number;
  /** Extra request headers (e.g. the caller's credentials for local mode's IAM). */
  headers?: Record<string, string>;
}

/** Runs until stop(); `phase` is set by the caller as the scenario moves on. */
export class LoadClient {
  readonly samples: Sample[] = [];
  /** Ticks skipped because `concurrency` requests were already in flight, per phase. */
  readonly saturated = new Map<string, number>();
  phase = 'idle';
  private inflight = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  // Idle pooled sockets close after 5 s, as Node's global agent does, well before a server's idle timeout.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 5_000 });

  constructor(private readonly opts: LoadOptions) {}

  start(): void {
    this.running = true;
    this.loop = this.tick();
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.inflight > 0) await sleep(20);
    this.agent.destroy();
  }

  private async tick(): Promise<void> {
    const interval = 1000 / this.opts.ratePerSec;
    let next = Date.now();
    while (this.running) {
      if (this.inflight >= this.opts.concurrency)
        this.saturated.set(this.phase, (this.saturated.get(this.phase) ?? 0) + 1);
      else void this.send();
      next += interval;
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  private async send(): Promise<void> {
    this.inflight++;
    const phase = this.phase;
    const startedAt = Date.now();
    const t0 = process.hrtime.bigint();
    const done = (status: number, body: string, error?: string): void => {
      this.samples.push({
        phase,
        startedAt,
        latencyMs: Number(process.hrtime.bigint() - t0) / 1e6,
        status,
        body,
        error,
      });
    };
    await new Promise<void>((resolve) => {
      const u = new URL(this.opts.url);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          agent: this.agent,
          timeout: this.opts.timeoutMs ?? 60_000,
          headers: {
            ...this.opts.headers,
            'content-type': this.opts.contentType ?? 'application/json',
            'content-length': Buffer.byteLength(this.opts.body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
          res.on('error', (err) => {
            done(0, '', err.message);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within the client timeout')));
      req.on('error', (err) => {
        done(0, '', `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim());
        resolve();
      });
      req.end(this.opts.body);
    });
    this.inflight--;
  }
}

/** The q-quantile (0..1) of the values, nearest rank; NaN for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Milliseconds with one decimal, or "-" when there was nothing to measure. */
export function ms(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '-';
}
