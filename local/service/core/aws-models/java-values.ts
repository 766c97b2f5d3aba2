/**
 * Values as AWS's validation messages print them: the Java `toString()` of the deserialized request value.
 * Strings as they are, lists as `[a, b]` (`Value '[]' at 'logEvents'`), maps as `{k=v, k2=v2}`
 * (`Value '{eta=0.1, …}' at 'hyperParameters'`), doubles as Java's `Double.toString` (`5.0`, `1.0E-4`).
 */
import type { Shape } from './model-types';

/** Java's `Double.toString` for finite numbers: decimal in [1e-3, 1e7), computerized scientific otherwise. */
export function javaDouble(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) return Number.isInteger(n) ? `${n}.0` : String(n);
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exp)}`;
}

/** The `toString()` of a request value (without the quotes the message adds). */
export function javaString(value: unknown, shape?: Shape): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number')
    return shape?.type === 'double' || shape?.type === 'float' ? javaDouble(value) : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => javaString(v)).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${javaString(v)}`)
      .join(', ')}}`;
  return String(value);
}
