/**
 * A Temporal codec server for the payload codec (worker/payload-codec.ts), so the Web UI and `temporal workflow show`
 * can display encrypted inputs and results. It speaks the codec server protocol: POST /encode and POST /decode (also
 * under a namespace prefix, /<namespace>/decode, as the CLI's --codec-endpoint templating sends), each taking and
 * returning `{"payloads": [...]}` in proto3 JSON (bytes as base64). Browsers may call it only from the allowed
 * origins (the UI's), and with a token configured every call must carry it.
 */
import http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** Largest request accepted: a batch of history payloads (each at most 2 MB in Temporal). */
const MAX_BODY_BYTES = 16 * 2 ** 20;

/** What the server needs. */
export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins whose browsers may call it (the Temporal UI's), e.g. http://localhost:8233. */
  allowedOrigins: string[];
  /** When set, every call must send `Authorization: Bearer <token>`. */
  token?: string;
}

/** A payload as proto3 JSON: every bytes field base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fromJson(p: JsonPayload, i: number): Payload {
  if (typeof p !== 'object' || p === null) throw new RequestError(400, `payloads[${i}] must be an object`);
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new RequestError(400, `payloads[${i}].metadata.${k} must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data !== undefined && typeof p.data !== 'string')
    throw new RequestError(400, `payloads[${i}].data must be a base64 string`);
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RequestError(413, `request body over ${MAX_BODY_BYTES / 2 ** 20} MiB`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'request body is not JSON');
  }
}

/** Creates the server (not listening yet). */
export function createCodecServer(options: CodecServerOptions): http.Server {
  const allowed = new Set(options.allowedOrigins);
  return http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const handle = async (): Promise<void> => {
      if (origin && !allowed.has(origin))
        throw new RequestError(403, `origin ${origin} is not allowed (CODEC_SERVER_CORS_ORIGINS)`);
      if (req.method === 'OPTIONS') {
        res.writeHead(204);
        res.end();
        return;
      }
      const route = /\/(encode|decode)$/.exec((req.url ?? '').split('?')[0] as string)?.[1];
      if (!route) throw new RequestError(404, `no route ${req.url}: POST /encode or /decode`);
      if (req.method !== 'POST') throw new RequestError(405, `${req.method} ${req.url}: only POST`);
      if (options.token && req.headers.authorization !== `Bearer ${options.token}`)
        throw new RequestError(401, 'missing or wrong Authorization bearer token');
      const body = (await readJson(req)) as { payloads?: unknown };
      if (!Array.isArray(body?.payloads)) throw new RequestError(400, 'body must be {"payloads": [...]}');
      const payloads = body.payloads.map((p, i) => fromJson(p as JsonPayload, i));
      let out: Payload[];
      try {
        out = route === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
      } catch (err) {
        throw new RequestError(400, `cannot ${route}: ${(err as Error).message}`);
      }
      send(200, { payloads: out.map(toJson) });
    };
    handle().catch((err: unknown) => {
      const status = err instanceof RequestError ? err.status : 500;
      if (!res.headersSent) send(status, { message: (err as Error).message });
      else res.end();
    });
  });
}
