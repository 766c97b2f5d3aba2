/** Tiny `--name value` argument reader for the benches and chaos campaigns (no dependency for a few flags). */

/** The value after `--name`, or `fallback` when absent. */
export function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** A positive integer flag; the error names the flag. */
export function intFlag(args: string[], name: string, fallback: number): number {
  const raw = flag(args, name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** "90s", "45m", "1h", "3d" as seconds; the error names the flag. */
export function parseDuration(text: string, name: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`--${name}: ${JSON.stringify(text)} is not a duration such as 90s, 45m, 1h or 3d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** A number flag (shares, rates, seeds); with `positive`, zero and below are refused too. The error names the flag. */
export function numFlag(args: string[], name: string, fallback: number, opts: { positive?: boolean } = {}): number {
  const raw = flag(args, name, String(fallback));
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (opts.positive && n === 0))
    throw new Error(
      `--${name} must be a ${opts.positive ? 'positive' : 'non-negative'} number, got ${JSON.stringify(raw)}`,
    );
  return n;
}
