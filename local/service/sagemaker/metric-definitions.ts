/**
 * MetricDefinitions: SageMaker's regexes are Python regexes; the first capture group is the value. This turns
 * them into JS regexes and keeps, per metric, the last value seen (what FinalMetricDataList reports).
 */
import { invalid } from '../core/protocol';

export interface MetricDefinition {
  Name: string;
  Regex: string;
}

export interface MetricDatum {
  MetricName: string;
  Value: number;
  Timestamp: number;
}

/** Python → JS regex syntax for the parts that differ in practice (named groups and back-references). */
export function toJsRegex(pattern: string): RegExp {
  const js = pattern
    .replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>');
  return new RegExp(js);
}

export function compileDefinitions(
  defs: MetricDefinition[],
  path = 'AlgorithmSpecification.MetricDefinitions',
): { name: string; re: RegExp }[] {
  return defs.map((d, i) => {
    try {
      return { name: d.Name, re: toJsRegex(d.Regex) };
    } catch (err) {
      throw invalid(
        `Invalid regular expression at '${path}.${i + 1}.member.regex' (${d.Name}): ${(err as Error).message}`,
      );
    }
  });
}

/** Collects metric values from log lines. */
export class MetricParser {
  private readonly compiled: { name: string; re: RegExp }[];
  private readonly last = new Map<string, MetricDatum>();

  constructor(defs: MetricDefinition[]) {
    this.compiled = compileDefinitions(defs);
  }

  feed(line: string): void {
    for (const { name, re } of this.compiled) {
      const m = re.exec(line);
      if (!m) continue;
      const raw = m[1] ?? m[0];
      const value = Number.parseFloat(raw);
      if (Number.isFinite(value)) this.last.set(name, { MetricName: name, Value: value, Timestamp: Date.now() / 1000 });
    }
  }

  final(): MetricDatum[] {
    return [...this.last.values()];
  }

  value(name: string): number | undefined {
    return this.last.get(name)?.Value;
  }
}
