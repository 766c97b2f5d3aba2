/**
 * Model patterns compiled once each, and tested without hanging. A pattern the translator cannot express is never
 * dropped silently: it is recorded with its reason ({@link untranslatablePatterns}) and {@link patternCoverage}
 * counts translated and untranslatable patterns over whole models.
 *
 * Some model patterns backtrack exponentially in JavaScript on near misses (ECR's
 * `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$` on 60 letters and a `!`); Java's matcher copes with them, V8's does
 * not. Patterns with a quantified group are therefore run under a time limit ({@link testPattern}); a test that
 * runs out of time is reported as unchecked, like an untranslatable pattern, rather than guessed.
 */
import vm from 'node:vm';
import { compileJavaRegex, UntranslatablePattern } from './java-regex';
import type { ServiceModel } from './model-types';

/** A compiled model pattern, or why it could not be compiled. */
export type CompiledPattern = { ok: true; regex: RegExp; guarded: boolean } | { ok: false; reason: string };

const compiled = new Map<string, CompiledPattern>();

/** The compiled form of a Java model pattern (cached). */
export function compilePattern(pattern: string): CompiledPattern {
  let hit = compiled.get(pattern);
  if (!hit) {
    try {
      const regex = compileJavaRegex(pattern);
      hit = { ok: true, regex, guarded: /\)(?:[*+?]|\{\d+,)/.test(regex.source) };
    } catch (err) {
      if (!(err instanceof UntranslatablePattern)) throw err;
      hit = { ok: false, reason: err.reason };
    }
    compiled.set(pattern, hit);
  }
  return hit;
}

/** Patterns met so far that could not be translated, with the reason. */
export function untranslatablePatterns(): { pattern: string; reason: string }[] {
  return [...compiled].flatMap(([pattern, c]) => (c.ok ? [] : [{ pattern, reason: c.reason }]));
}

/** Pattern coverage of whole models: distinct patterns, how many translate, and the ones that do not. */
export function patternCoverage(models: ServiceModel[]): {
  total: number;
  translated: number;
  untranslatable: { pattern: string; reason: string }[];
} {
  const distinct = new Set<string>();
  for (const m of models) for (const s of Object.values(m.shapes)) if (s.pattern !== undefined) distinct.add(s.pattern);
  const untranslatable = [...distinct].flatMap((pattern) => {
    const c = compilePattern(pattern);
    return c.ok ? [] : [{ pattern, reason: c.reason }];
  });
  return { total: distinct.size, translated: distinct.size - untranslatable.length, untranslatable };
}

/** How long one guarded pattern test may run (legitimate ones take microseconds). */
const PATTERN_TIME_LIMIT_MS = 250;
const sandbox = vm.createContext({ re: /$^/, value: '' });
const runTest = new vm.Script('re.test(value)');

/**
 * Whether a string matches a model pattern as Java's `matches()` decides; `untranslatable` or `timeout` when that
 * cannot be known here.
 */
export function testPattern(pattern: string, value: string): boolean | 'untranslatable' | 'timeout' {
  const c = compilePattern(pattern);
  if (!c.ok) return 'untranslatable';
  if (!c.guarded) return c.regex.test(value);
  sandbox.re = c.regex;
  sandbox.value = value;
  try {
    return runTest.runInContext(sandbox, { timeout: PATTERN_TIME_LIMIT_MS }) as boolean;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  }
}
