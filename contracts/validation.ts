/** Turns zod failures into one line per bad field, addressed by JSON path (`$.training.instanceCount`). */
import { z } from 'zod';
import { subMinuteRollbackPeriod } from './deploy-model';
import { type PipelineSpec, PipelineSpecSchema, tuningEnvironmentIssue } from './pipeline-spec';

/** One invalid field: where it is and why it is wrong. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** Result of validating a spec document. */
export type SpecValidation = { ok: true; spec: PipelineSpec } | { ok: false; issues: SpecIssue[] };

/** Formats a zod path as a JSON path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Unknown keys named in one message; the rest are counted (a spec with thousands must not make a huge error). */
const MAX_KEYS_NAMED = 10;
/** Longest key quoted in a message or path (a 100 kB key must not make a 100 kB error). */
const MAX_KEY_CHARS = 80;

function shortKey(key: PropertyKey): PropertyKey {
  return typeof key === 'string' && key.length > MAX_KEY_CHARS
    ? `${key.slice(0, MAX_KEY_CHARS)}…(${key.length} chars)`
    : key;
}

function unknownKeysMessage(keys: string[]): string {
  const named = keys
    .slice(0, MAX_KEYS_NAMED)
    .map((k) => `"${String(shortKey(k))}"`)
    .join(', ');
  const more = keys.length > MAX_KEYS_NAMED ? ` and ${keys.length - MAX_KEYS_NAMED} more` : '';
  return `unknown key${keys.length > 1 ? 's' : ''} ${named}${more}`;
}

/** Flattens a zod error (unions included) into issues with JSON paths. */
export function toSpecIssues(error: z.ZodError): SpecIssue[] {
  return error.issues.map((issue) => {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    // A record key that fails its own schema: say why (zod's own message is only "Invalid key in record").
    const badKey = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : '';
    const message =
      unknownKeys.length > 0
        ? unknownKeysMessage(unknownKeys)
        : missing
          ? `required (${issue.expected})`
          : badKey || issue.message;
    return { path: jsonPath(issue.path.map(shortKey)), message };
  });
}

/** A rule a newer version added; the workflow applies each behind its own patch (workflows/patches.ts). */
export type NewerRule = 'rollbackPeriodWholeMinutes' | 'tuningEnvironmentLimit';

/** Issues of rules that newer versions added to an already valid spec (workflows check them behind a patch). */
export function newerSpecIssues(spec: PipelineSpec): (SpecIssue & { rule: NewerRule })[] {
  const issues: (SpecIssue & { rule: NewerRule })[] = [];
  const period = subMinuteRollbackPeriod(spec.deployment.rollback.periodSeconds);
  if (period)
    issues.push({ path: '$.deployment.rollback.periodSeconds', message: period, rule: 'rollbackPeriodWholeMinutes' });
  const environment = tuningEnvironmentIssue(spec);
  if (environment)
    issues.push({ path: '$.training.environment', message: environment, rule: 'tuningEnvironmentLimit' });
  return issues;
}

/**
 * Validates a parsed JSON value against the pipeline spec. `legacy` accepts what specs of running workflows may hold
 * and newer rules refuse (`newerSpecIssues`): the workflow decides about those itself, so old runs replay.
 */
export function validateSpec(raw: unknown, options: { legacy?: boolean } = {}): SpecValidation {
  // The functional form: inside workflows the schema is frozen (worker/workflow-bundle.ts), and a method read would
  // write to it.
  const parsed = z.safeParse(PipelineSpecSchema, raw);
  if (!parsed.success) return { ok: false, issues: toSpecIssues(parsed.error) };
  const newer = options.legacy ? [] : newerSpecIssues(parsed.data).map(({ path, message }) => ({ path, message }));
  return newer.length ? { ok: false, issues: newer } : { ok: true, spec: parsed.data };
}

/** Renders issues as the lines the CLI and the workflow failure print. */
export function formatIssues(issues: SpecIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
