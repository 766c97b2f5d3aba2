/**
 * An opt-in record of every AWS request the worker makes: with `LOCAL_AWS_REQUEST_AUDIT=<file>` set, each SDK call
 * appends one JSON line `{service, operation, input}` (service is botocore's model name, input the command's input
 * as JSON: timestamps as epoch seconds, binary bodies as `{"$blob": <bytes>}`, streams as `{"$blob": null}`).
 * `npx tsx scripts/check-request-audit.ts <file>` then validates every line against AWS's published models.
 * Unset, nothing is installed: production clients carry no extra middleware.
 */
import fs from 'node:fs';

/** The minimal view of an SDK v3 client this needs. */
interface AuditableClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: object }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** One recorded request. */
export interface AuditedRequest {
  service: string;
  operation: string;
  input: unknown;
}

/** botocore model names of the SDK clients the worker builds. */
const MODEL_OF_CLIENT: Record<string, string> = {
  SageMakerClient: 'sagemaker',
  SageMakerRuntimeClient: 'sagemaker-runtime',
  CodeBuildClient: 'codebuild',
  S3Client: 's3',
  ECRClient: 'ecr',
  CloudWatchClient: 'cloudwatch',
  CloudWatchLogsClient: 'logs',
  ApplicationAutoScalingClient: 'application-autoscaling',
  ServiceQuotasClient: 'service-quotas',
  IAMClient: 'iam',
  STSClient: 'sts',
  SQSClient: 'sqs',
};

/** A command input as JSON, the way the JSON protocols carry it. */
export function auditValue(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (value instanceof Uint8Array) return { $blob: value.byteLength };
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(auditValue);
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.pipe === 'function' || typeof o.getReader === 'function' || typeof o.arrayBuffer === 'function')
      return { $blob: null };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = auditValue(v);
    return out;
  }
  return value;
}

/** Appends every request `client` sends to `file`. */
export function installRequestAudit(client: AuditableClient, file: string): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const line: AuditedRequest = {
        service: MODEL_OF_CLIENT[context.clientName ?? ''] ?? context.clientName ?? 'unknown',
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        input: auditValue(args.input),
      };
      fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
      return next(args);
    },
    { step: 'initialize', name: 'localAwsRequestAudit' },
  );
}
