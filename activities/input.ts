/** Validates an activity's input against its contract, applying the contract's defaults. */
import type { z } from 'zod';
import { ErrorType } from '../contracts/errors';
import { formatIssues, toSpecIssues } from '../contracts/validation';
import { failure } from './aws-errors';

/** Parses `raw` with `schema`; a bad input is SpecInvalid (non-retryable: a retry would see the same input). */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw failure(ErrorType.SpecInvalid, `${what} is invalid:\n${formatIssues(toSpecIssues(parsed.error))}`);
  return parsed.data;
}
