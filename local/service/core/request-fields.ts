/**
 * Request fields in SageMaker's words: every failure is a ValidationException naming the field
 * (e.g. "Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null").
 * Every request has already been checked against AWS's model of its operation (model-gate.ts): types, required
 * members, lengths, ranges, enums and patterns. Handlers read fields directly and use {@link fail} only for rules
 * the model cannot express; the typed getters below (str, optInt, arr, …) repeat the model's checks; Application Auto
 * Scaling's handlers still use them.
 */
import { invalid } from './protocol';
import { parseS3Uri } from './s3-files';

export type Body = Record<string, unknown>;

function fieldName(path: string): string {
  // AWS names members in lowerCamelCase in validation messages.
  return path.replace(/(^|\.)([A-Z])/g, (_m, dot: string, c: string) => dot + c.toLowerCase());
}

export function fail(path: string, value: unknown, constraint: string): never {
  const shown =
    value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  throw invalid(
    `1 validation error detected: Value ${shown} at '${fieldName(path)}' failed to satisfy constraint: ${constraint}`,
  );
}

function obj(value: unknown, path: string): Body {
  if (value === undefined || value === null) fail(path, value, 'Member must not be null');
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, value, 'Member must be a structure');
  return value as Body;
}

export function optObj(value: unknown, path: string): Body | undefined {
  return value === undefined || value === null ? undefined : obj(value, path);
}

export function str(
  body: Body,
  key: string,
  opts: { path?: string; max?: number; min?: number; pattern?: RegExp } = {},
): string {
  const path = opts.path ?? key;
  const v = body[key];
  if (v === undefined || v === null) fail(path, v, 'Member must not be null');
  if (typeof v !== 'string') fail(path, v, 'Member must be a string');
  if (opts.min !== undefined && v.length < opts.min)
    fail(path, v, `Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v.length > opts.max)
    fail(path, v, `Member must have length less than or equal to ${opts.max}`);
  if (opts.pattern && !opts.pattern.test(v))
    fail(path, v, `Member must satisfy regular expression pattern: ${opts.pattern.source}`);
  return v;
}

export function optStr(
  body: Body,
  key: string,
  opts: { path?: string; max?: number; min?: number; pattern?: RegExp } = {},
): string | undefined {
  return body[key] === undefined || body[key] === null ? undefined : str(body, key, opts);
}

function int(body: Body, key: string, opts: { path?: string; min?: number; max?: number } = {}): number {
  const path = opts.path ?? key;
  const v = body[key];
  if (v === undefined || v === null) fail(path, v, 'Member must not be null');
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, v, 'Member must be an integer');
  if (opts.min !== undefined && v < opts.min)
    fail(path, v, `Member must have value greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) fail(path, v, `Member must have value less than or equal to ${opts.max}`);
  return v;
}

export function optInt(
  body: Body,
  key: string,
  opts: { path?: string; min?: number; max?: number } = {},
): number | undefined {
  return body[key] === undefined || body[key] === null ? undefined : int(body, key, opts);
}

export function arr(
  body: Body,
  key: string,
  opts: { path?: string; min?: number; max?: number; optional?: boolean } = {},
): unknown[] {
  const path = opts.path ?? key;
  const v = body[key];
  if (v === undefined || v === null) {
    if (opts.optional) return [];
    fail(path, v, 'Member must not be null');
  }
  if (!Array.isArray(v)) fail(path, v, 'Member must be a list');
  if (opts.min !== undefined && v.length < opts.min)
    fail(path, v, `Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v.length > opts.max)
    fail(path, v, `Member must have length less than or equal to ${opts.max}`);
  return v;
}

export function oneOf<T extends string>(
  body: Body,
  key: string,
  values: readonly T[],
  opts: { path?: string; optional?: boolean } = {},
): T | undefined {
  const path = opts.path ?? key;
  const v = body[key];
  if ((v === undefined || v === null) && opts.optional) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    fail(path, v, `Member must satisfy enum value set: [${values.join(', ')}]`);
  return v as T;
}

export interface Tag {
  Key: string;
  Value: string;
}

/** The tags of a request (their count, lengths and patterns are the model's to check). */
export function tags(body: Body, key = 'Tags'): Tag[] {
  return ((body[key] as Tag[] | undefined) ?? []).map((tag) => ({ Key: tag.Key, Value: tag.Value }));
}

/** An S3 location the local service can read or write (s3:// or an S3 HTTPS URL; see {@link parseS3Uri}). */
export function s3Uri(value: string, path: string): { bucket: string; key: string } {
  try {
    return parseS3Uri(value);
  } catch {
    return fail(
      path,
      value,
      'Member must be an S3 location (s3://bucket/key or https://bucket.s3.region.amazonaws.com/key)',
    );
  }
}

/**
 * Refuses a request shape AWS's model allows but the local service cannot serve, saying so: a local limitation,
 * never dressed up as an AWS constraint.
 */
export function unsupported(path: string, what: string): never {
  throw invalid(`The local SageMaker service does not serve ${what} (at '${fieldName(path)}').`);
}
