/** Turns zod failures into one line per bad field, addressed by JSON path (`$.training.instanceCount`). */
import { type z } from 'zod';
import { type PipelineSpec, PipelineSpecSchema } from './pipeline-spec';

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

/** Flattens a zod error (unions included) into issues with JSON paths. */
export function toSpecIssues(error: z.ZodError): SpecIssue[] {
  return error.issues.map((issue) => {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    const message =
      unknownKeys.length > 0
        ? `unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `"${k}"`).join(', ')}`
        : missing
          ? `required (${issue.expected})`
          : issue.message;
    return { path: jsonPath(issue.path), message };
  });
}

/** Validates a parsed JSON value against the pipeline spec. */
export function validateSpec(raw: unknown): SpecValidation {
  const parsed = PipelineSpecSchema.safeParse(raw);
  return parsed.success ? { ok: true, spec: parsed.data } : { ok: false, issues: toSpecIssues(parsed.error) };
}

/** Renders issues as the lines the CLI and the workflow failure print. */
export function formatIssues(issues: SpecIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
