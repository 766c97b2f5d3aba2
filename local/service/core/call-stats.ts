/**
 * Per-operation call counters of the local service (`GET /_local/stats`): calls, successes, AWS errors, and the
 * faults LOCAL_FAULTS injected. Saved in the state dir (at most twice a second, so a flood of invocations costs no
 * file write each) so they survive a service restart; chaos campaigns read them to count retries and to check that
 * a create or an UpdateEndpoint succeeded exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AwsError } from './protocol';
import type { Store } from './state';

/** Counts for one `<Service>.<Operation>` (e.g. `SageMaker.UpdateEndpoint`, `Runtime.InvokeEndpoint`). */
export interface OpCounts {
  calls: number;
  ok: number;
  /** Answered with an AWS error by the operation itself (not injected). */
  errors: number;
  throttled: number;
  error500: number;
  /** Calls counted in `ok` whose answer LOCAL_FAULTS lost500 replaced with HTTP 500 (absent when none). */
  lost?: number;
}

const FLUSH_MS = 500;

export class CallStats {
  private readonly counts = new Map<string, OpCounts>();
  private dirty = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: Store) {
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, OpCounts>;
      for (const [op, c] of Object.entries(saved)) this.counts.set(op, c);
    }
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** `<state>/call-stats.json`, next to the resource collections, written atomically like them. */
  private get file(): string {
    return path.join(this.store.dir, 'call-stats.json');
  }

  /**
   * Records one call's result: 'ok', an AWS error, or an injected fault; 'lost' marks the last ok call's answer lost.
   */
  record(op: string, result: 'ok' | 'error' | 'lost' | AwsError): void {
    let c = this.counts.get(op);
    if (!c) this.counts.set(op, (c = { calls: 0, ok: 0, errors: 0, throttled: 0, error500: 0 }));
    this.dirty = true;
    if (result === 'lost') {
      c.lost = (c.lost ?? 0) + 1;
      return;
    }
    c.calls += 1;
    if (result === 'ok') c.ok += 1;
    else if (result === 'error') c.errors += 1;
    else if (result.status >= 500) c.error500 += 1;
    else c.throttled += 1;
  }

  /** Every operation's counts, by `<Service>.<Operation>`. */
  snapshot(): Record<string, OpCounts> {
    return Object.fromEntries([...this.counts].map(([op, c]) => [op, { ...c }]));
  }

  /** Writes the counters to the state dir if they changed (also called on shutdown). */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.snapshot(), null, 1));
    fs.renameSync(tmp, this.file);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
