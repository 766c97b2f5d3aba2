/**
 * How a tuning job draws hyperparameters: Random (uniform, log-uniform, reverse-log sampling per ScalingType)
 * and Grid (every combination of the categorical values). Bayesian and Hyperband are emulated with Random.
 */
import { fail } from '../core/request-fields';
import { mulberry32 } from '../../shared/random';

export interface Ranges {
  ContinuousParameterRanges?: { Name: string; MinValue: string; MaxValue: string; ScalingType?: string }[];
  IntegerParameterRanges?: { Name: string; MinValue: string; MaxValue: string; ScalingType?: string }[];
  CategoricalParameterRanges?: { Name: string; Values: string[] }[];
}

/** Draws reproducible from a tuning job's name (the name hashed to a mulberry32 seed). */
export function rng(seedText: string): () => number {
  let a = 0;
  for (let i = 0; i < seedText.length; i++) a = (Math.imul(a ^ seedText.charCodeAt(i), 2654435761) + i) >>> 0;
  return mulberry32(a);
}

function num(v: string, path: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) fail(path, v, 'Member must be a number');
  return n;
}

/** The rules of parameter ranges that AWS's model cannot express (list sizes and types it checks itself). */
export function validateRanges(r: Ranges, strategy: string): void {
  const p = 'HyperParameterTuningJobConfig.ParameterRanges';
  const total =
    (r.ContinuousParameterRanges?.length ?? 0) +
    (r.IntegerParameterRanges?.length ?? 0) +
    (r.CategoricalParameterRanges?.length ?? 0);
  if (total === 0) fail(p, undefined, 'At least one parameter range is required');
  for (const [kind, list] of [
    ['ContinuousParameterRanges', r.ContinuousParameterRanges ?? []],
    ['IntegerParameterRanges', r.IntegerParameterRanges ?? []],
  ] as const) {
    list.forEach((x, i) => {
      const min = num(x.MinValue, `${p}.${kind}.${i + 1}.member.minValue`);
      const max = num(x.MaxValue, `${p}.${kind}.${i + 1}.member.maxValue`);
      if (min > max)
        fail(`${p}.${kind}.${i + 1}.member.minValue`, x.MinValue, 'MinValue must be less than or equal to MaxValue');
      if (x.ScalingType === 'Logarithmic' && min <= 0)
        fail(`${p}.${kind}.${i + 1}.member.scalingType`, x.ScalingType, 'Logarithmic scaling requires MinValue > 0');
      if (kind === 'IntegerParameterRanges' && (!Number.isInteger(min) || !Number.isInteger(max)))
        fail(`${p}.${kind}.${i + 1}.member`, x.Name, 'Integer ranges need integer bounds');
    });
  }
  if (strategy === 'Grid' && total !== (r.CategoricalParameterRanges?.length ?? 0)) {
    fail(p, 'Grid', 'Grid search strategy supports categorical parameter ranges only');
  }
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(8)));
}

function sampleScaled(min: number, max: number, scaling: string | undefined, r: () => number): number {
  const u = r();
  if (scaling === 'Logarithmic') return Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
  if (scaling === 'ReverseLogarithmic' && max < 1)
    return 1 - Math.exp(Math.log(1 - max) + u * (Math.log(1 - min) - Math.log(1 - max)));
  return min + u * (max - min);
}

export function sampleRandom(ranges: Ranges, r: () => number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of ranges.ContinuousParameterRanges ?? [])
    out[x.Name] = fmt(sampleScaled(Number(x.MinValue), Number(x.MaxValue), x.ScalingType, r));
  for (const x of ranges.IntegerParameterRanges ?? []) {
    const v = Math.round(sampleScaled(Number(x.MinValue), Number(x.MaxValue) + 0.4999, x.ScalingType, r) - 0.2499);
    out[x.Name] = String(Math.min(Number(x.MaxValue), Math.max(Number(x.MinValue), v)));
  }
  for (const x of ranges.CategoricalParameterRanges ?? [])
    out[x.Name] = x.Values[Math.floor(r() * x.Values.length)] as string;
  return out;
}

/** Every combination of the categorical values, in a stable order. */
export function grid(ranges: Ranges): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const x of ranges.CategoricalParameterRanges ?? [])
    combos = combos.flatMap((c) => x.Values.map((v) => ({ ...c, [x.Name]: v })));
  return combos;
}
