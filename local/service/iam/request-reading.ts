/**
 * Which API a raw AWS request calls, read the way each protocol addresses an operation: `X-Amz-Target` for the JSON
 * protocols, `Action=` for the query protocol (the service from the SigV4 signing name), the
 * `/service/<S>/operation/<Op>` path for RPC v2 CBOR, and method + path + query for S3's REST API. Shared by the HTTP
 * gateway in front of moto and the SDK clients the service uses on a role's behalf, so both authorize alike.
 */
import { cbor } from '@smithy/core/cbor';
import type { WireProtocol } from './denial';
import { requestCredentials } from './request-credentials';
import { queryToBody } from './query-body';
import type { ApiCall, RequestBody } from './request-checks';
import { s3Checks, s3NeedsBody, type S3Mapping } from './s3-checks';

/** A request as the wire has it. */
export interface RawRequest {
  method: string;
  /** Path and query string. */
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
}

/** What a request asks for: an API call in JSON shape, or an S3 operation's checks. */
export interface Reading {
  protocol: WireProtocol;
  /** `<prefix>:<Operation>`, for logs. */
  label: string;
  call?: ApiCall;
  s3?: S3Mapping;
  contentType?: string;
}

/** JSON-protocol target prefixes moto serves, and the IAM service prefix of each. */
const JSON_TARGETS: Record<string, { prefix: string; protocol: WireProtocol }> = {
  AmazonEC2ContainerRegistry_V20150921: { prefix: 'ecr', protocol: 'json' },
  Logs_20140328: { prefix: 'logs', protocol: 'json' },
  AnyScaleFrontendService: { prefix: 'application-autoscaling', protocol: 'json' },
  GraniteServiceVersion20100801: { prefix: 'cloudwatch', protocol: 'json-query-compatible' },
  SageMaker: { prefix: 'sagemaker', protocol: 'json' },
  CodeBuild_20161006: { prefix: 'codebuild', protocol: 'json' },
  // SQS speaks AWS JSON 1.0 with query-compatible error codes (botocore's model: awsQueryCompatible).
  AmazonSQS: { prefix: 'sqs', protocol: 'json-query-compatible' },
};

/** SigV4 signing names that differ from the IAM service prefix. */
const SIGNING_TO_PREFIX: Record<string, string> = { monitoring: 'cloudwatch' };

const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

function rpcPath(url: string): RegExpExecArray | null {
  return /^\/service\/([^/]+)\/operation\/([^/?]+)/.exec(url);
}

function isQuery(r: RawRequest): boolean {
  const signing = requestCredentials(r.headers).signingService;
  return (
    one(r.headers['content-type']).startsWith('application/x-www-form-urlencoded') && !!signing && signing !== 's3'
  );
}

/** Whether authorizing the request needs its body (JSON, query and CBOR calls, S3 DeleteObjects). */
export function bodyNeeded(r: RawRequest): boolean {
  return Boolean(r.headers['x-amz-target']) || !!rpcPath(r.url) || isQuery(r) || s3NeedsBody(r.method, r.url);
}

function parseJson(body: Buffer | undefined): RequestBody {
  try {
    return body?.length ? (JSON.parse(body.toString('utf8')) as RequestBody) : {};
  } catch {
    return {};
  }
}

/** Reads a request (with its body when `bodyNeeded` said so). */
export function readRequest(r: RawRequest, body?: Buffer): Reading {
  const contentType = one(r.headers['content-type']);
  const signing = requestCredentials(r.headers).signingService;
  const target = one(r.headers['x-amz-target']);
  if (target) {
    const [service, op] = target.split('.', 2);
    const t =
      JSON_TARGETS[service ?? ''] ??
      (signing ? { prefix: SIGNING_TO_PREFIX[signing] ?? signing, protocol: 'json' as const } : undefined);
    if (t && op)
      return {
        protocol: t.protocol,
        label: `${t.prefix}:${op}`,
        call: { prefix: t.prefix, operation: op, body: parseJson(body) },
        contentType,
      };
    return { protocol: 'json', label: target, contentType };
  }
  const rpc = rpcPath(r.url);
  if (rpc && r.method === 'POST') {
    let parsed: RequestBody = {};
    try {
      parsed = body?.length ? (cbor.deserialize(new Uint8Array(body)) as RequestBody) : {};
    } catch {
      parsed = {};
    }
    const prefix = JSON_TARGETS[rpc[1] as string]?.prefix ?? (rpc[1] as string).toLowerCase();
    return {
      protocol: 'json',
      label: `${prefix}:${rpc[2]}`,
      call: { prefix, operation: rpc[2] as string, body: parsed },
      contentType,
    };
  }
  if (isQuery(r) && signing) {
    const params = new URLSearchParams(body?.toString('utf8') ?? '');
    const action = params.get('Action') ?? new URLSearchParams(r.url.split('?')[1] ?? '').get('Action') ?? '';
    const prefix = SIGNING_TO_PREFIX[signing] ?? signing;
    return {
      protocol: 'query',
      label: `${prefix}:${action}`,
      call: { prefix, operation: action, body: queryToBody(params) },
    };
  }
  const s3 = s3Checks({ method: r.method, url: r.url, host: one(r.headers.host), headers: r.headers, body });
  return { protocol: 'rest-xml', label: `s3:${s3.operation}`, s3 };
}
