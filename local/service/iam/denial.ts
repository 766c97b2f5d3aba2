/**
 * How AWS words and sends an authorization failure. The text is AWS's for same-account requests:
 * `User: <caller> is not authorized to perform: <action> on resource: <resource> because no identity-based policy
 * allows the <action> action` (or `with an explicit deny in an identity-based policy`); S3 quotes the resource
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html#access-denied-message-examples).
 * The envelope is each protocol's: JSON services answer AccessDeniedException, S3 an XML `<Error>` with
 * AccessDenied and 403, query services (STS, IAM, CloudWatch's query protocol) an `<ErrorResponse>`, CloudWatch's
 * JSON protocol its query code (`AccessDenied`, also in `x-amzn-query-error`).
 */
import type http from 'node:http';
import { AwsError, requestId } from '../core/protocol';
import type { Denial } from './authorizer';

/** The wire protocol a request came in with, so the refusal goes back in the same one. */
export type WireProtocol = 'json' | 'json-query-compatible' | 'rest-json' | 'rest-xml' | 'query';

/** An HTTP answer, ready to write (the gateway) or to hand to an SDK client (role clients). */
export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** AWS's message for a refused check. */
export function accessDeniedMessage(d: Denial, opts: { quoteResource?: boolean } = {}): string {
  const resource = opts.quoteResource ? `"${d.resource}"` : d.resource;
  const why = d.explicit
    ? 'with an explicit deny in an identity-based policy'
    : `because no identity-based policy allows the ${d.action} action`;
  return `User: ${d.callerArn} is not authorized to perform: ${d.action} on resource: ${resource} ${why}`;
}

/** The AwsError a JSON service answers with (AccessDeniedException, HTTP 400 for JSON RPC, 403 for REST). */
export function accessDeniedError(d: Denial, protocol: 'json' | 'rest-json' = 'json'): AwsError {
  return new AwsError('AccessDeniedException', accessDeniedMessage(d), protocol === 'json' ? 400 : 403);
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** An AWS error (refusal or authentication failure) in a protocol's envelope. `head`: no body (S3 HEAD). */
export function errorResponse(
  err: AwsError,
  protocol: WireProtocol,
  opts: { head?: boolean; contentType?: string } = {},
): Refusal {
  const id = requestId();
  let body: string;
  const headers: Record<string, string> = { 'x-amzn-requestid': id };
  if (protocol === 'rest-xml' || protocol === 'query') {
    headers['content-type'] = 'application/xml';
    headers['x-amz-request-id'] = id;
    body =
      protocol === 'rest-xml'
        ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message><RequestId>${id}</RequestId><HostId>${id}</HostId></Error>`
        : `<ErrorResponse><Error><Type>Sender</Type><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`;
  } else {
    headers['content-type'] =
      opts.contentType ||
      (protocol === 'json-query-compatible' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1');
    headers['x-amzn-errortype'] = err.code;
    if (protocol === 'json-query-compatible') headers['x-amzn-query-error'] = `${err.code};Sender`;
    body = JSON.stringify({ __type: err.code, message: err.message });
  }
  const bytes = Buffer.from(opts.head ? '' : body, 'utf8');
  headers['content-length'] = String(bytes.length);
  return { status: err.status, headers, body: bytes };
}

/** AWS's refusal of a denied check in the request's protocol. */
export function denialResponse(
  d: Denial,
  protocol: WireProtocol,
  opts: { head?: boolean; contentType?: string } = {},
): Refusal {
  const err =
    protocol === 'rest-xml'
      ? new AwsError('AccessDenied', accessDeniedMessage(d, { quoteResource: true }), 403)
      : protocol === 'query' || protocol === 'json-query-compatible'
        ? new AwsError('AccessDenied', accessDeniedMessage(d), 403)
        : accessDeniedError(d, protocol);
  return errorResponse(err, protocol, opts);
}

/** Writes a refusal. */
export function sendRefusal(res: http.ServerResponse, r: Refusal): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}
