/**
 * AWS event-stream framing (`application/vnd.amazon.eventstream`), the binary body of
 * InvokeEndpointWithResponseStream. A message is:
 *   prelude   total length (uint32 BE), headers length (uint32 BE), CRC32 of those 8 bytes (uint32 BE)
 *   headers   per header: name length (uint8), name, value type (uint8; 7 = string), value length (uint16 BE), value
 *   payload
 *   CRC32 of everything before it (uint32 BE)
 * https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html (the format, shared by every AWS streaming API) and
 * the Runtime API's ResponseStream: `PayloadPart` events carry the container's bytes as the raw payload (the `Bytes`
 * member is the event payload); `ModelStreamError` / `InternalStreamFailure` are exception events with a JSON payload.
 */
import zlib from 'node:zlib';

const STRING = 7;

function encodeHeaders(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const head = Buffer.alloc(1 + n.length + 1 + 2);
    head.writeUInt8(n.length, 0);
    n.copy(head, 1);
    head.writeUInt8(STRING, 1 + n.length);
    head.writeUInt16BE(v.length, 2 + n.length);
    parts.push(head, v);
  }
  return Buffer.concat(parts);
}

/** One framed message. */
export function encodeMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const h = encodeHeaders(headers);
  const total = 12 + h.length + payload.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(h.length, 4);
  out.writeUInt32BE(zlib.crc32(out.subarray(0, 8)), 8);
  h.copy(out, 12);
  payload.copy(out, 12 + h.length);
  out.writeUInt32BE(zlib.crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** A `PayloadPart` event: a piece of the container's response. */
export function payloadPart(bytes: Buffer): Buffer {
  return encodeMessage(
    { ':event-type': 'PayloadPart', ':content-type': 'application/octet-stream', ':message-type': 'event' },
    bytes,
  );
}

/** `ModelStreamError` error codes (the Runtime API's ResponseStream documentation). */
export type ModelStreamErrorCode = 'ModelInvocationTimeExceeded' | 'StreamBroken';

/** A `ModelStreamError` exception event; the SDKs raise it from the stream's iterator. */
export function modelStreamError(code: ModelStreamErrorCode, message: string): Buffer {
  return encodeMessage(
    { ':exception-type': 'ModelStreamError', ':content-type': 'application/json', ':message-type': 'exception' },
    Buffer.from(JSON.stringify({ Message: message, ErrorCode: code }), 'utf8'),
  );
}

/** An `InternalStreamFailure` exception event (a failure of the service itself, not of the model). */
export function internalStreamFailure(message: string): Buffer {
  return encodeMessage(
    { ':exception-type': 'InternalStreamFailure', ':content-type': 'application/json', ':message-type': 'exception' },
    Buffer.from(JSON.stringify({ Message: message }), 'utf8'),
  );
}
