import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { createCodecServer } from '../../../worker/codec-server';
import { AesGcmPayloadCodec } from '../../../worker/payload-codec';

const codec = new AesGcmPayloadCodec(new Map([['k1', randomBytes(32)]]), 'k1');
const UI = 'http://localhost:8233';
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = createCodecServer({ codec, allowedOrigins: [UI] });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const jsonPayload = (value: unknown) => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(JSON.stringify(value)),
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  json: { payloads?: { metadata: Record<string, string>; data: string }[]; message?: string };
  headers: Headers;
}> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as never, headers: res.headers };
}

describe('codec server', () => {
  it(
    'decodes what the worker encrypted, and encodes what the ' + 'worker can decrypt (also under a namespace prefix)',
    async () => {
      const [sealed] = await codec.encode([
        { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"bucket":"secret-bucket"}') },
      ]);
      const decoded = await post('/default/decode', {
        payloads: [
          {
            metadata: { encoding: b64(sealed?.metadata?.encoding as Uint8Array), 'encryption-key-id': b64('k1') },
            data: b64(sealed?.data as Uint8Array),
          },
        ],
      });
      expect(decoded.status).toBe(200);
      expect(Buffer.from(decoded.json.payloads?.[0]?.data ?? '', 'base64').toString()).toBe(
        '{"bucket":"secret-bucket"}',
      );

      const encoded = await post('/encode', { payloads: [jsonPayload({ a: 1 })] });
      expect(Buffer.from(encoded.json.payloads?.[0]?.metadata.encoding ?? '', 'base64').toString()).toBe(
        'binary/encrypted',
      );
      const back = await codec.decode([
        {
          metadata: Object.fromEntries(
            Object.entries(encoded.json.payloads?.[0]?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
          ),
          data: Buffer.from(encoded.json.payloads?.[0]?.data ?? '', 'base64'),
        },
      ]);
      expect(Buffer.from(back[0]?.data as Uint8Array).toString()).toBe('{"a":1}');
    },
  );

  it('lets the Temporal UI origin call it from a browser and refuses other origins', async () => {
    const preflight = await fetch(`${url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const evil = await post('/decode', { payloads: [] }, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers bad requests with a 4xx naming the problem', async () => {
    expect(await post('/decode', 'not json')).toMatchObject({
      status: 400,
      json: { message: 'request body is not JSON' },
    });
    expect(await post('/decode', { nope: 1 })).toMatchObject({
      status: 400,
      json: { message: expect.stringMatching(/payloads/) },
    });
    expect(await post('/decode', { payloads: [{ data: 42 }] })).toMatchObject({
      status: 400,
      json: { message: 'payloads[0].data must be a base64 string' },
    });
    const unknownKey = await post('/decode', {
      payloads: [{ metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k9') }, data: b64('xx') }],
    });
    expect(unknownKey).toMatchObject({ status: 400, json: { message: expect.stringMatching(/key "k9"/) } });
    expect((await post('/other', {})).status).toBe(404);
    expect((await fetch(`${url}/decode`)).status).toBe(405);
  });

  it('with a token, refuses calls without it', async () => {
    const guarded = createCodecServer({ codec, allowedOrigins: [], token: 't0k' });
    await new Promise<void>((resolve) => guarded.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}/decode`;
      const body = JSON.stringify({ payloads: [jsonPayload(1)] });
      expect((await fetch(at, { method: 'POST', body })).status).toBe(401);
      expect((await fetch(at, { method: 'POST', body, headers: { authorization: 'Bearer t0k' } })).status).toBe(200);
    } finally {
      await new Promise((r) => guarded.close(r));
    }
  });
});
