/**
 * Optional AES-256-GCM payload codec: workflow inputs and results (hyperparameters, S3 URIs, spec documents) are
 * stored encrypted in Temporal's history, so Temporal Cloud never sees them. The key ID travels in each payload's
 * metadata so keys can be rotated: the active key encrypts, every configured key decrypts. Payloads that are not
 * ours (for example an input a CI job sent in plain JSON with `temporal workflow start`) pass through unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/** Encrypts payloads with the active key; decrypts with whichever configured key the payload names. */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly activeKeyId: string,
  ) {
    for (const [id, key] of keys)
      if (key.length !== 32) throw new Error(`payload key "${id}" must be 32 bytes (AES-256), got ${key.length}`);
    if (!keys.has(activeKeyId)) throw new Error(`active payload key "${activeKeyId}" is not among the configured keys`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: text(ENCODING),
          'encryption-cipher': text(CIPHER),
          'encryption-key-id': text(this.activeKeyId),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (str(payload.metadata?.encoding) !== ENCODING) return payload;
      const keyId = str(payload.metadata?.['encryption-key-id']) ?? '';
      const key = this.keys.get(keyId);
      if (!key)
        throw new Error(
          `payload was encrypted with key "${keyId}", which this process does not have (configured: ` +
            `${[...this.keys.keys()].join(', ')})`,
        );
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Builds the codec from `PAYLOAD_ENCRYPTION_KEY` (base64, 32 bytes), `_KEY_ID` and `_OLD_KEYS` (`id:base64,...`). */
export function codecFromEnv(env: Record<string, string | undefined>): AesGcmPayloadCodec | undefined {
  const active = env.PAYLOAD_ENCRYPTION_KEY;
  if (!active) return undefined;
  const activeId = env.PAYLOAD_ENCRYPTION_KEY_ID ?? 'key-1';
  const keys = new Map<string, Buffer>([[activeId, Buffer.from(active, 'base64')]]);
  for (const entry of (env.PAYLOAD_ENCRYPTION_OLD_KEYS ?? '').split(',').filter(Boolean)) {
    const [id, value] = entry.split(':');
    if (!id || !value) throw new Error('PAYLOAD_ENCRYPTION_OLD_KEYS must look like "key-0:<base64>,key-x:<base64>"');
    keys.set(id, Buffer.from(value, 'base64'));
  }
  return new AesGcmPayloadCodec(keys, activeId);
}
