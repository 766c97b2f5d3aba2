/** Moving files between a local directory and S3 (moto): channel downloads, model upload, checkpoint sync. */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/**
 * Bucket and key of an S3 location: `s3://bucket/key`, or an HTTPS URL of S3 (SageMaker's S3Uri pattern is
 * `(https|s3)://([^/]+)/?(.*)`): virtual-hosted `https://bucket.s3[.-]region.amazonaws.com/key` or path-style
 * `https://s3[.-]region.amazonaws.com/bucket/key` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-bucket-intro.html).
 */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (s3) return { bucket: s3[1] as string, key: s3[2] as string };
  const hosted = /^https:\/\/(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?(?:\/(.*))?$/.exec(uri);
  if (hosted) return { bucket: hosted[1] as string, key: decodeURIComponent(hosted[2] ?? '') };
  const pathStyle = /^https:\/\/s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/([^/]+)\/?(.*)$/.exec(uri);
  if (pathStyle) return { bucket: pathStyle[1] as string, key: decodeURIComponent(pathStyle[2] as string) };
  throw new Error(`not an S3 location: ${uri}`);
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) out.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/**
 * A digest of what an S3 prefix holds (every key with its size and ETag): equal digests mean the same data. An
 * unreadable bucket yields a digest of the error, so it never equals the digest of real data.
 */
export async function prefixFingerprint(s3: S3Client, uri: string): Promise<string> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const hash = createHash('sha256');
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) hash.update(`${o.Key}\u0000${o.Size}\u0000${o.ETag}\n`);
      token = page.NextContinuationToken;
    } while (token);
  } catch (err) {
    return `unreadable:${(err as Error).name}`;
  }
  return hash.digest('hex').slice(0, 32);
}

/** `prefixFingerprint` of every channel's S3 URI, by channel name. */
export async function channelFingerprint(
  s3: S3Client,
  channels: { ChannelName: string; S3Uri: string }[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of channels) out[c.ChannelName] = await prefixFingerprint(s3, c.S3Uri);
  return out;
}

export async function downloadObject(s3: S3Client, bucket: string, key: string, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(res.Body as Readable, fs.createWriteStream(file));
}

/**
 * Downloads every object under an S3 prefix into `dir`, keeping the key's path relative to the prefix (a URI that
 * names one object lands as that file's base name). Returns the number of files.
 */
export async function downloadPrefix(
  s3: S3Client,
  uri: string,
  dir: string,
  filter?: (index: number) => boolean,
): Promise<number> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const keys = await listKeys(s3, bucket, prefix);
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const [i, { key }] of keys.entries()) {
    if (filter && !filter(i)) continue;
    let rel = key === prefix ? path.posix.basename(key) : key.slice(prefix.length).replace(/^\/+/, '');
    if (!rel) rel = path.posix.basename(key);
    await downloadObject(s3, bucket, key, path.join(dir, rel));
    n++;
  }
  return n;
}

export async function uploadFile(s3: S3Client, file: string, uri: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  const body = fs.readFileSync(file);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Uploads the files of `dir` that changed since the last call (by size and mtime, remembered in `seen`) to the
 * S3 prefix `uri`. This is the checkpoint sync SageMaker does from /opt/ml/checkpoints.
 */
export async function syncDirUp(s3: S3Client, dir: string, uri: string, seen: Map<string, string>): Promise<number> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  let n = 0;
  for (const file of walk(dir)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // removed while we walked (a checkpointer rotating files)
    }
    const sig = `${st.size}:${st.mtimeMs}`;
    if (seen.get(file) === sig) continue;
    const rel = path.relative(dir, file).split(path.sep).join('/');
    const key = prefix ? `${prefix.replace(/\/+$/, '')}/${rel}` : rel;
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(file) }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    seen.set(file, sig);
    n++;
  }
  return n;
}

export function dirHasFiles(dir: string): boolean {
  return walk(dir).length > 0;
}
