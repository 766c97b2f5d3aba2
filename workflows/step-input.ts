/** Validates a step workflow's input with its zod contract, failing the workflow (not retrying) when it is bad. */
import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { ErrorType } from '../contracts/errors';
import { formatIssues, toSpecIssues } from '../contracts/validation';

/** Parses `raw` or throws a non-retryable SpecInvalid failure listing every bad field by JSON path. */
export function parseStepInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  // z.safeParse, not schema.safeParse: schemas are shared and frozen in the sandbox (worker/workflow-bundle.ts), and
  // zod builds a schema's methods on it at first read.
  const parsed = z.safeParse(schema, raw);
  if (parsed.success) return parsed.data;
  const issues = toSpecIssues(parsed.error);
  throw ApplicationFailure.create({
    type: ErrorType.SpecInvalid,
    nonRetryable: true,
    message: `Invalid ${what}:\n${formatIssues(issues)}`,
    details: [issues],
  });
}
