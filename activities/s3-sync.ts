/**
 * syncDataset: an incremental, resumable, bounded-parallel copy of a dataset (an S3 prefix, or a local folder in
 * local mode) into `s3://<bucket>/<prefix><channel>/...`. One heartbeating activity; its heartbeat details
 * (SyncProgress) let a retried attempt skip what is already known to be in place without looking at it again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Context } from '@temporalio/activity';
import { ErrorType } from '../contracts/errors';
import { SyncDataInput, type SyncDataOutput, SyncProgress } from '../contracts/sync-data';
import { aws, awsErrorName, failure, toFailure } from './aws-errors';
import { compareBytes } from './build-context';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { runPool } from './pool';

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts per upload. */
const MAX_PARTS = 10_000;
/** Parts of one large object copied at once (objects themselves run maxConcurrency at a time). */
const PART_CONCURRENCY = 4;
/**
 * User metadata holding the source's ETag, for destinations whose own ETag cannot match (SSE-KMS, multipart copies).
 */
export const SOURCE_ETAG_META = 'source-etag';

/** One source object, addressed by its path relative to the source root (`<channel>/...`). */
interface SourceObject {
  rel: string;
  size: number;
  /** S3 sources: the object's key and ETag. Local sources: the file's path. */
  key?: string;
  etag?: string;
  file?: string;
}

interface DestObject {
  size: number;
  etag: string;
}

/** What a missing bucket means: a bad data source, or a bad destination. */
type MissingBucket = typeof ErrorType.DataSourceInvalid | typeof ErrorType.AwsValidation;

type Outcome = { kind: 'copied'; bytes: number } | { kind: 'skipped' };

/** S3 prefixes are used as `<prefix><rest>`: a non-empty prefix ends with a slash. */
function asPrefix(p: string): string {
  const trimmed = p.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/** Part size used to upload (and so to predict the multipart ETag of) an object of `size` bytes. */
export function partSizeFor(size: number, thresholdBytes: number): number {
  return Math.max(thresholdBytes, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/**
 * The ETag S3 gives a file uploaded with `partSize` parts: the MD5 when it fits one part, else the MD5 of the
 * parts' binary MD5s followed by `-<parts>`. `onProgress` is called per chunk, to heartbeat while hashing.
 */
export async function localEtag(
  file: string,
  size: number,
  partSize: number,
  onProgress: () => void = () => undefined,
): Promise<string> {
  if (size <= MiB) {
    // Small files (shards, indexes, metadata: most objects of a typical dataset) are hashed from one read of their
    // exact size. A stream would allocate a 1 MiB buffer per file, which made an unchanged 10,000-file sync spend
    // most of its CPU in allocation and GC (bench/results/data-sync.md).
    const digest = createHash('md5')
      .update(await readFile(file))
      .digest('hex');
    onProgress();
    return digest;
  }
  const whole = createHash('md5');
  const partDigests: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  for await (const data of createReadStream(file, { highWaterMark: MiB })) {
    let chunk = data as Buffer;
    if (size <= partSize) whole.update(chunk);
    else {
      while (chunk.length > 0) {
        const take = Math.min(partSize - inPart, chunk.length);
        part.update(chunk.subarray(0, take));
        inPart += take;
        chunk = chunk.subarray(take);
        if (inPart === partSize) {
          partDigests.push(part.digest());
          part = createHash('md5');
          inPart = 0;
        }
      }
    }
    onProgress();
  }
  if (size <= partSize) return whole.digest('hex');
  if (inPart > 0) partDigests.push(part.digest());
  return `${createHash('md5').update(Buffer.concat(partDigests)).digest('hex')}-${partDigests.length}`;
}

/** Splits `s3://bucket/prefix` into bucket and (slash-terminated) prefix. */
function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw failure(ErrorType.DataSourceInvalid, `data source ${uri} is not an s3:// URI`);
  return { bucket: m[1] as string, prefix: asPrefix(m[2] as string) };
}

/** Runs an S3 call; a missing bucket is a configuration error, not something a retry fixes. */
async function s3<T>(action: string, call: () => Promise<T>, missing: MissingBucket): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (awsErrorName(err) === 'NoSuchBucket') throw failure(missing, `${action} failed: the bucket does not exist`);
    throw toFailure(err, action);
  }
}

/** Every object under an S3 prefix, with its ETag; "directory" marker objects are left out. */
async function listS3(client: S3Client, bucket: string, prefix: string, missing: MissingBucket, startAfter?: string) {
  const objects: { key: string; size: number; etag: string; lastModified?: Date }[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3(
      `ListObjectsV2 s3://${bucket}/${prefix}`,
      () =>
        client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: startAfter, ContinuationToken }),
        ),
      missing,
    );
    for (const o of page.Contents ?? []) {
      if (o.Key && !o.Key.endsWith('/'))
        objects.push({ key: o.Key, size: o.Size ?? 0, etag: unquote(o.ETag), lastModified: o.LastModified });
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return objects;
}

/** Every file under a local folder, as POSIX paths relative to it (symlinks followed). */
async function listLocal(root: string): Promise<SourceObject[]> {
  const out: SourceObject[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const info = await stat(file);
      if (info.isDirectory()) await walk(file, rel);
      else if (info.isFile()) out.push({ rel, size: info.size, file });
    }
  };
  try {
    await walk(root, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw failure(ErrorType.DataSourceInvalid, `data source folder ${root} does not exist`);
    throw err;
  }
  return out;
}

/** The progress a previous attempt heartbeated, when it still applies to this source listing. */
function resumePoint(total: number): SyncProgress | null {
  const parsed = SyncProgress.safeParse(Context.current().info.heartbeatDetails);
  // A different object count means the source changed: start over rather than trust a stale boundary.
  return parsed.success && parsed.data.doneBelow !== null && parsed.data.total === total ? parsed.data : null;
}

/** Builds the data sync activity. */
export function createS3SyncActivities(deps: ActivityDeps) {
  const client = deps.clients.s3;

  /** The destination's user metadata (for the source ETag we stored); null when the object vanished. */
  const destSourceEtag = async (bucket: string, key: string): Promise<string | null> => {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.Metadata?.[SOURCE_ETAG_META] ?? null;
    } catch (err) {
      if (
        awsErrorName(err) === 'NotFound' ||
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      )
        return null;
      throw toFailure(err, `HeadObject s3://${bucket}/${key}`);
    }
  };

  /** Server-side multipart copy for objects above the threshold (CopyObject stops at 5 GiB and cannot heartbeat). */
  const multipartCopy = async (
    src: { bucket: string; key: string },
    bucket: string,
    key: string,
    size: number,
    partSize: number,
    metadata: Record<string, string>,
    beat: () => void,
  ) => {
    const where = `s3://${bucket}/${key}`;
    const created = await aws(`CreateMultipartUpload ${where}`, () =>
      client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: metadata })),
    );
    const uploadId = created.UploadId as string;
    const count = Math.ceil(size / partSize);
    const parts: { ETag: string; PartNumber: number }[] = new Array(count);
    try {
      await runPool(
        Array.from({ length: count }, (_, i) => i),
        PART_CONCURRENCY,
        async (i) => {
          const start = i * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const out = await aws(`UploadPartCopy ${where} part ${i + 1}`, () =>
            client.send(
              new UploadPartCopyCommand({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                PartNumber: i + 1,
                CopySource: copySource(src),
                CopySourceRange: `bytes=${start}-${end}`,
              }),
            ),
          );
          parts[i] = { ETag: out.CopyPartResult?.ETag ?? '', PartNumber: i + 1 };
          beat();
        },
      );
      await aws(`CompleteMultipartUpload ${where}`, () =>
        client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (err) {
      // Best effort: a crash before this point leaves the parts to the bucket's AbortIncompleteMultipartUpload rule.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
  };

  return {
    /**
     * Copies every object of the requested channels to `s3://bucket/<prefix><channel>/...`, skipping objects
     * already there (same size and ETag), `maxConcurrency` at a time, resuming from the heartbeated progress.
     */
    async syncDataset(raw: SyncDataInput): Promise<SyncDataOutput> {
      const input = parseInput(SyncDataInput, raw, 'syncDataset input');
      const ctx = Context.current();
      const destPrefix = asPrefix(input.prefix);
      const thresholdBytes = input.multipartThresholdMiB * MiB;
      const channels = new Set(input.channels);

      // 1. The source, as objects relative to its root, restricted to the channels and in byte order.
      let sourceLabel: string;
      let objects: SourceObject[];
      let srcBucket = '';
      if ('s3Uri' in input.source) {
        const src = parseS3Uri(input.source.s3Uri);
        srcBucket = src.bucket;
        sourceLabel = `s3://${src.bucket}/${src.prefix}`;
        objects = (await listS3(client, src.bucket, src.prefix, ErrorType.DataSourceInvalid)).map((o) => ({
          rel: o.key.slice(src.prefix.length),
          size: o.size,
          key: o.key,
          etag: o.etag,
        }));
      } else {
        sourceLabel = `${path.resolve(input.source.localPath)}/`;
        objects = await listLocal(path.resolve(input.source.localPath));
      }
      objects = objects
        .filter((o) => channels.has(o.rel.split('/')[0] as string) && o.rel.includes('/'))
        .sort((a, b) => compareBytes(a.rel, b.rel));
      for (const channel of input.channels) {
        if (!objects.some((o) => o.rel.startsWith(`${channel}/`))) {
          throw failure(
            ErrorType.DataSourceInvalid,
            `channel "${channel}" has no data: nothing under ${sourceLabel}${channel}/`,
          );
        }
      }

      // 2. Where a previous attempt got to: everything below `doneBelow` is in place and is not looked at again.
      const total = objects.length;
      const resumed = resumePoint(total);
      const first = resumed ? objects.findIndex((o) => compareBytes(o.rel, resumed.doneBelow as string) >= 0) : 0;
      const todo = first < 0 ? [] : objects.slice(first);
      const progress: SyncProgress = resumed
        ? { ...resumed }
        : { doneBelow: null, copied: 0, skipped: 0, bytesCopied: 0, total };
      const beat = () => ctx.heartbeat(progress);
      beat();

      // 3. What the destination already holds, listed from the resume point on (StartAfter), per channel.
      const destKey = (o: SourceObject) => `${destPrefix}${o.rel}`;
      const startAfter = first > 0 ? destKey(objects[first - 1] as SourceObject) : undefined;
      const dest = new Map<string, DestObject>();
      for (const channel of input.channels) {
        if (!todo.some((o) => o.rel.startsWith(`${channel}/`))) continue;
        for (const o of await listS3(
          client,
          input.bucket,
          `${destPrefix}${channel}/`,
          ErrorType.AwsValidation,
          startAfter,
        ))
          dest.set(o.key, { size: o.size, etag: o.etag });
      }

      // 4. Copy what differs. Progress only advances over a contiguous done prefix, so a resume never skips an
      // object that an out-of-order worker had not finished, and counters are never counted twice.
      const outcomes: (Outcome | undefined)[] = new Array(todo.length);
      let low = 0;
      const complete = (index: number, outcome: Outcome) => {
        outcomes[index] = outcome;
        while (low < todo.length && outcomes[low]) {
          const o = outcomes[low] as Outcome;
          if (o.kind === 'copied') {
            progress.copied += 1;
            progress.bytesCopied += o.bytes;
          } else progress.skipped += 1;
          low += 1;
        }
        // When everything is done the boundary sits just above the last key, so a late retry skips it all.
        const last = todo[todo.length - 1] as SourceObject;
        progress.doneBelow = low < todo.length ? (todo[low] as SourceObject).rel : `${last.rel}\u0000`;
        beat();
      };

      const syncOne = async (o: SourceObject, index: number): Promise<void> => {
        const key = destKey(o);
        const partSize = partSizeFor(o.size, thresholdBytes);
        const expected = o.etag ?? (await localEtag(o.file as string, o.size, partSize, beat));
        const existing = dest.get(key);
        if (
          existing &&
          existing.size === o.size &&
          (existing.etag === expected || (await destSourceEtag(input.bucket, key)) === expected)
        ) {
          complete(index, { kind: 'skipped' });
          return;
        }
        const metadata = { [SOURCE_ETAG_META]: expected };
        const where = `s3://${input.bucket}/${key}`;
        if (o.file) {
          const upload = new Upload({
            client,
            params: {
              Bucket: input.bucket,
              Key: key,
              Body: createReadStream(o.file),
              ContentLength: o.size,
              Metadata: metadata,
            },
            partSize,
            queueSize: PART_CONCURRENCY,
          });
          upload.on('httpUploadProgress', beat);
          await upload.done().catch((err: unknown) => {
            throw toFailure(err, `Upload ${where}`);
          });
        } else if (o.size > thresholdBytes) {
          await multipartCopy(
            { bucket: srcBucket, key: o.key as string },
            input.bucket,
            key,
            o.size,
            partSize,
            metadata,
            beat,
          );
        } else {
          // REPLACE stores the source ETag with the copy; the dataset's own content type and metadata are not kept.
          await s3(
            `CopyObject ${where}`,
            () =>
              client.send(
                new CopyObjectCommand({
                  Bucket: input.bucket,
                  Key: key,
                  CopySource: copySource({ bucket: srcBucket, key: o.key as string }),
                  MetadataDirective: 'REPLACE',
                  Metadata: metadata,
                }),
              ),
            ErrorType.AwsValidation,
          );
        }
        complete(index, { kind: 'copied', bytes: o.size });
      };

      // Cancellation arrives through heartbeats; stop starting objects then, and let in-flight ones finish.
      await runPool(todo, input.maxConcurrency, syncOne, () => ctx.cancellationSignal.aborted);
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;

      const uris: Record<string, string> = {};
      for (const channel of input.channels) uris[channel] = `s3://${input.bucket}/${destPrefix}${channel}/`;
      // When the training data last changed: a retraining warm start compares it with its parent tuning job's time.
      let newest = 0;
      for (const channel of input.channels)
        for (const o of await listS3(client, input.bucket, `${destPrefix}${channel}/`, ErrorType.AwsValidation))
          newest = Math.max(newest, o.lastModified?.getTime() ?? 0);
      return {
        channels: uris,
        copied: progress.copied,
        skipped: progress.skipped,
        bytesCopied: progress.bytesCopied,
        total,
        lastModified: newest > 0 ? new Date(newest).toISOString() : null,
      };
    },
  };
}

/** CopySource is `bucket/key`, URL-encoded per path segment. */
function copySource(src: { bucket: string; key: string }): string {
  return `${src.bucket}/${src.key.split('/').map(encodeURIComponent).join('/')}`;
}
