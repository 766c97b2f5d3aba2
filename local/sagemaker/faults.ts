/**
 * Fault injection for the control plane (`LOCAL_FAULTS=throttle:0.3,error500:0.1`, off by default): a share of
 * calls answers ThrottlingException or HTTP 500 InternalFailure before doing anything, so retry paths get exercised.
 */
import { type AwsError, internal, throttled } from './protocol';

export interface Faults {
  throttle: number;
  error500: number;
}

export function parseFaults(spec: string | undefined): Faults {
  const f: Faults = { throttle: 0, error500: 0 };
  if (!spec) return f;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, raw] = part.split(':');
    const share = Number(raw);
    if ((key !== 'throttle' && key !== 'error500') || !(share >= 0 && share <= 1)) throw new Error(`LOCAL_FAULTS: cannot read ${JSON.stringify(part)} (want throttle:<0..1>,error500:<0..1>)`);
    f[key] = share;
  }
  return f;
}

/** Returns the error to answer instead of running the call, or undefined. */
export function injectFault(f: Faults, random: () => number = Math.random): AwsError | undefined {
  if (f.throttle > 0 && random() < f.throttle) return throttled();
  if (f.error500 > 0 && random() < f.error500) return internal('Injected fault (LOCAL_FAULTS)');
  return undefined;
}
