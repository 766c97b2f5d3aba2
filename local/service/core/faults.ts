/**
 * Fault injection (`LOCAL_FAULTS=throttle:0.3,error500:0.1,lost500:0.05,capacity:0.5`, off by default). Control-plane
 * faults: a share of calls answers ThrottlingException or HTTP 500 InternalFailure before doing anything, so retry
 * paths get exercised; `lost500` does the call and then answers HTTP 500 (the answer lost on the way back), so a
 * retried create or update meets what its first attempt already did. Job faults: `capacity` is the share of
 * training job starts on large accelerator instance types (`isScarceInstanceType`) that find no capacity, as
 * SageMaker does when EC2 has none (the job fails with CapacityError; RetryStrategy does not cover it); `internal`
 * is the share of training job starts that fail with InternalServerError, the failure RetryStrategy starts a job
 * again for (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RetryStrategy.html).
 * `seed:<n>` makes the draws a fixed sequence (the calls they land on still follow the order calls arrive in).
 */
import { mulberry32 } from '../../shared/random';
import { type AwsError, internal, throttled } from './protocol';

export interface Faults {
  throttle: number;
  error500: number;
  /** Share of calls done, then answered HTTP 500 as if the answer was lost. */
  lost500?: number;
  /** Share of training job starts on scarce instance types that find no capacity. */
  capacity?: number;
  /** Share of training job starts that fail with InternalServerError (what RetryStrategy retries). */
  internal?: number;
  /** Seed of the draws (absent: Math.random). */
  seed?: number;
}

const SHARES = ['throttle', 'error500', 'lost500', 'capacity', 'internal'] as const;

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
    if (!(SHARES as readonly string[]).includes(key ?? '') || !(share >= 0 && share <= 1)) {
      throw new Error(
        `LOCAL_FAULTS: cannot read ${JSON.stringify(part)} (want ` +
          `throttle:<0..1>,error500:<0..1>,lost500:<0..1>,capacity:<0..1>,internal:<0..1>,seed:<n>)`,
      );
    }
    f[key as (typeof SHARES)[number]] = share;
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

/**
 * Instance types capacity runs short for: the multi-GPU P family (p3 and later, p4d/p4de, p5...), Trainium and
 * DL1, and the 12xlarge-and-up sizes of the G family (4-8 GPUs).
 */
export function isScarceInstanceType(instanceType: string): boolean {
  return /^ml\.(p\d|trn\d|dl\d)/.test(instanceType) || /^ml\.g\d+[a-z]*\.(12|16|24|48)xlarge$/.test(instanceType);
}

/** Whether this start of a job on `instanceType` finds no capacity (`capacity` fault). */
export function lacksCapacity(f: Faults, instanceType: string, random: () => number = Math.random): boolean {
  return !!f.capacity && isScarceInstanceType(instanceType) && random() < f.capacity;
}

/** Whether this start of a training job fails with InternalServerError (`internal` fault). */
export function failsInternally(f: Faults, random: () => number = Math.random): boolean {
  return !!f.internal && random() < f.internal;
}
