import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, codecFromEnv } from '../../../worker/payload-codec';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const secret = { hyperparameters: { learning_rate: '0.0003' }, train: 's3://acme-private/datasets/v3/train/' };
const payload = () => defaultPayloadConverter.toPayload(secret);

describe('AES-GCM payload codec', () => {
  it('round-trips payloads and leaves no plaintext in what history stores', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', key1]]), 'k1');
    const [sealed] = await codec.encode([payload()]);
    const stored = Buffer.from(sealed!.data!).toString('latin1');
    expect(stored).not.toContain('acme-private');
    expect(stored).not.toContain('learning_rate');
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k1');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secret);
  });

  it('decrypts with a rotated-out key and encrypts with the active one', async () => {
    const old = new AesGcmPayloadCodec(new Map([['k1', key1]]), 'k1');
    const rotated = new AesGcmPayloadCodec(
      new Map([
        ['k1', key1],
        ['k2', key2],
      ]),
      'k2',
    );
    const [fromOld] = await old.encode([payload()]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([fromOld!]))[0]!)).toEqual(secret);
    const [fromNew] = await rotated.encode([payload()]);
    expect(Buffer.from(fromNew!.metadata!['encryption-key-id']!).toString()).toBe('k2');
  });

  it('rejects tampered data and names a missing key', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', key1]]), 'k1');
    const [sealed] = await codec.encode([payload()]);
    const data = Buffer.from(sealed!.data!);
    data[20] = (data[20] ?? 0) ^ 0xff;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(/auth/i);
    const other = new AesGcmPayloadCodec(new Map([['k9', key2]]), 'k9');
    await expect(other.decode([sealed!])).rejects.toThrow(/key "k1", which this process does not have/);
  });

  it('passes through payloads that are not encrypted (plain JSON from `temporal workflow start`)', async () => {
    const codec = new AesGcmPayloadCodec(new Map([['k1', key1]]), 'k1');
    const plain = payload();
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('is configured from the environment and validates key length', () => {
    expect(codecFromEnv({})).toBeUndefined();
    expect(
      codecFromEnv({
        PAYLOAD_ENCRYPTION_KEY: key1.toString('base64'),
        PAYLOAD_ENCRYPTION_OLD_KEYS: `k0:${key2.toString('base64')}`,
      }),
    ).toBeInstanceOf(AesGcmPayloadCodec);
    expect(() => codecFromEnv({ PAYLOAD_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/must be 32 bytes/);
    expect(() =>
      codecFromEnv({ PAYLOAD_ENCRYPTION_KEY: key1.toString('base64'), PAYLOAD_ENCRYPTION_OLD_KEYS: 'nocolon' }),
    ).toThrow(/OLD_KEYS/);
  });
});
