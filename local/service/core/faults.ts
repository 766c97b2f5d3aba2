/**
 * Fault injection for the control plane (`LOCAL_FAULTS=throttle:0.3,error500:0.1,lost500:0.05`, off by default): a
 * share of calls answers ThrottlingException or HTTP 500 InternalFailure before doing anything, so retry paths get
 * exercised; `lost500` does the call and then answers HTTP 500 (the answer lost on the way back), so a retried
 * create or update meets what its first attempt already did. `seed:<n>` makes the draws a fixed sequence (the calls
 * they land on still follow the order calls arrive in).
 */
import { mulberry32 } from '../../shared/random';
import { type AwsError, internal, throttled } from './protocol';

export interface Faults {
  throttle: number;
  error500: number;
  /** Share of calls done, then answered HTTP 500 as if the answer was lost. */
  lost500?: number;
  /** Seed of the draws (absent: Math.random). */
  seed?: number;
}

export function parseFaults(spec: string | undefined): Faults {
  const f: Faults = { throttle: 0, error500: 0 };
  if (!spec) return f;
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, raw] = part.split(':');
    if (key === 'seed') {
      const seed = Number(raw);
      if (!Number.isInteger(seed) || seed < 0)
        throw new Error(`LOCAL_FAULTS: seed must be a whole number >= 0, got ${JSON.stringify(raw)}`);
      f.seed = seed;
      continue;
    }
    const share = Number(raw);
    if ((key !== 'throttle' && key !== 'error500' && key !== 'lost500') || !(share >= 0 && share <= 1)) {
      throw new Error(
        `LOCAL_FAULTS: cannot read ${JSON.stringify(part)} (want ` +
          `throttle:<0..1>,error500:<0..1>,lost500:<0..1>,seed:<n>)`,
      );
    }
    f[key] = share;
  }
  return f;
}

/** The draws that decide which calls fail: seeded when LOCAL_FAULTS names a seed. */
export function faultDraws(f: Faults): () => number {
  return f.seed === undefined ? Math.random : mulberry32(f.seed);
}

/** Returns the error to answer instead of running the call, or undefined. */
export function injectFault(f: Faults, random: () => number = Math.random): AwsError | undefined {
  if (f.throttle > 0 && random() < f.throttle) return throttled();
  if (f.error500 > 0 && random() < f.error500) return internal('Injected fault (LOCAL_FAULTS)');
  return undefined;
}

/** After a call succeeded: the error to answer instead of its result (`lost500`), or undefined. */
export function loseAnswer(f: Faults, random: () => number = Math.random): AwsError | undefined {
  if (f.lost500 && random() < f.lost500)
    return internal('Injected fault after the call took effect (LOCAL_FAULTS lost500)');
  return undefined;
}
