/**
 * AWS wire-protocol pieces of the local service: the error type every handler throws (rendered in AWS's
 * JSON error shape, so SDK clients raise the same named exceptions as against AWS), request helpers,
 * timestamps and ARNs.
 */
import type http from 'node:http';
import { ACCOUNT_ID, REGION } from '../../shared/account';

/** An error answered the way AWS answers it: HTTP status, `x-amzn-ErrorType` header, `{__type, message}` body. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const notFound = (message: string): AwsError => new AwsError('ResourceNotFound', message);
export const inUse = (message: string): AwsError => new AwsError('ResourceInUse', message);
/** A Processing or Transform job name that is taken in this account and region (the job ARN named). */
export const jobNameInUse = (jobArn: string): AwsError =>
  inUse(
    `Job name must be unique within an AWS account and region, and a job with this name already exists (${jobArn})`,
  );
export const invalid = (message: string): AwsError => new AwsError('ValidationException', message);
export const throttled = (): AwsError => new AwsError('ThrottlingException', 'Rate exceeded', 400);
export const internal = (message = 'An internal error occurred.'): AwsError =>
  new AwsError('InternalFailure', message, 500);

export function readBody(req: http.IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new AwsError('ValidationException', `Request body exceeds ${limit} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/x-amz-json-1.1',
): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId(),
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, err: AwsError, contentType = 'application/x-amz-json-1.1'): void {
  const text = JSON.stringify({ __type: err.code, message: err.message, ...err.extra });
  res.writeHead(err.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': err.code,
    'x-amzn-requestid': requestId(),
  });
  res.end(text);
}

let seq = 0;
export function requestId(): string {
  seq = (seq + 1) % 0xffffffff;
  return `${Date.now().toString(16)}-${process.pid.toString(16)}-${seq.toString(16)}`.padEnd(36, '0');
}

/** Timestamps travel as epoch seconds (with fractions) in AWS JSON 1.1. */
export function now(): number {
  return Date.now() / 1000;
}

export function arn(resource: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT_ID}:${resource}`;
}

/** Drops internal fields (leading underscore) and undefined values before a record goes on the wire. */
export function wire<T extends object>(record: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!k.startsWith('_') && v !== undefined) out[k] = v;
  return out;
}

/**
 * NextToken pagination over an already sorted list (the token is the offset, opaque to clients). MaxResults has
 * been checked against the operation's model; pages hold at most `maxMax` items (a page may be shorter than asked).
 */
export function paginate<T>(
  items: T[],
  body: Record<string, unknown>,
  defaultMax = 10,
  maxMax = 100,
): { page: T[]; NextToken?: string } {
  const raw = body.MaxResults;
  const max = Math.min(raw === undefined ? defaultMax : Number(raw), maxMax);
  const start = body.NextToken === undefined ? 0 : Number.parseInt(String(body.NextToken), 10);
  if (!Number.isInteger(start) || start < 0) throw invalid('Invalid pagination token');
  const page = items.slice(start, start + max);
  return start + max < items.length ? { page, NextToken: String(start + max) } : { page };
}
