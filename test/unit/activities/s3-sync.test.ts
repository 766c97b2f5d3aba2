import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createS3SyncActivities, localEtag } from '../../../activities/s3-sync';
import type { SyncDataInput, SyncDataOutput, SyncProgress } from '../../../contracts/sync-data';
import { accessDenied, activityEnv, awsError, expectFailure, testDeps, throttled } from './helpers';

const MiB = 1024 * 1024;
const s3 = mockClient(S3Client);
const { syncDataset } = createS3SyncActivities(testDeps());
const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
let dir: string;

const FILES: Record<string, string> = {
  'train/a.txt': 'alpha',
  'train/b.txt': 'bravo',
  'train/sub/c.txt': 'charlie',
  'val/v.txt': 'victor',
  'README.md': 'not in a channel',
  'other/x.txt': 'not a requested channel',
};

async function write(rel: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

/** Runs the activity in a mock activity context, recording heartbeats. */
function run(input: SyncDataInput, heartbeatDetails?: SyncProgress) {
  const env = activityEnv({ heartbeatDetails });
  const beats: SyncProgress[] = [];
  env.on('heartbeat', (d: SyncProgress) => beats.push({ ...d }));
  return { beats, result: env.run(syncDataset, input) as Promise<SyncDataOutput> };
}

const local = (over: Partial<SyncDataInput> = {}): SyncDataInput => ({
  source: { localPath: dir },
  bucket: 'dst',
  prefix: 'data/',
  channels: ['train', 'val'],
  maxConcurrency: 2,
  ...over,
});
const destList = (channel: string, contents: { Key: string; Size: number; ETag: string }[]) =>
  s3
    .on(ListObjectsV2Command, { Bucket: 'dst', Prefix: `data/${channel}/` })
    .resolves({ Contents: contents, IsTruncated: false });
const uploadedKeys = () =>
  s3
    .commandCalls(PutObjectCommand)
    .map((c) => c.args[0].input.Key)
    .sort();

beforeEach(async () => {
  s3.reset();
  s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
  s3.on(PutObjectCommand).resolves({ ETag: '"x"' });
  dir = await mkdtemp(path.join(tmpdir(), 'sync-'));
  for (const [rel, content] of Object.entries(FILES)) await write(rel, content);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('syncDataset from a local folder', () => {
  it('uploads every channel file under <prefix><channel>/ and reports one URI per channel', async () => {
    const { beats, result } = run(local());
    expect(await result).toEqual({
      channels: { train: 's3://dst/data/train/', val: 's3://dst/data/val/' },
      copied: 4,
      skipped: 0,
      bytesCopied: 5 + 5 + 7 + 6,
      total: 4,
    });
    expect(uploadedKeys()).toEqual(['data/train/a.txt', 'data/train/b.txt', 'data/train/sub/c.txt', 'data/val/v.txt']);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'dst',
      Key: 'data/train/a.txt',
      Metadata: { 'source-etag': md5('alpha') },
    });
    expect(beats.at(-1)).toEqual({ doneBelow: 'val/v.txt\u0000', copied: 4, skipped: 0, bytesCopied: 23, total: 4 });
  });

  it('skips objects already in place (same size and ETag, or the source ETag we stored)', async () => {
    destList('train', [
      { Key: 'data/train/a.txt', Size: 5, ETag: `"${md5('alpha')}"` },
      { Key: 'data/train/b.txt', Size: 5, ETag: '"kms-encrypted-etag"' },
      { Key: 'data/train/sub/c.txt', Size: 7, ETag: '"stale"' },
    ]);
    destList('val', [{ Key: 'data/val/v.txt', Size: 99, ETag: `"${md5('victor')}"` }]);
    s3.on(HeadObjectCommand, { Key: 'data/train/b.txt' }).resolves({ Metadata: { 'source-etag': md5('bravo') } });
    s3.on(HeadObjectCommand, { Key: 'data/train/sub/c.txt' }).resolves({ Metadata: {} });
    const out = await run(local()).result;
    expect(out).toMatchObject({ copied: 2, skipped: 2, bytesCopied: 13, total: 4 });
    expect(uploadedKeys()).toEqual(['data/train/sub/c.txt', 'data/val/v.txt']);
  });

  it(
    'hashes small files and files just above 1 MiB to their plain MD5 (the ETag of a one-part upload), empty ones ' +
      'included',
    async () => {
      // Up to 1 MiB the hash comes from one read of the whole file, above it from a stream: both must give S3's ETag.
      for (const [name, data] of [
        ['empty', Buffer.alloc(0)],
        ['small', Buffer.from('alpha')],
        ['one-mib', Buffer.alloc(MiB, 3)],
        ['one-mib-plus', Buffer.alloc(MiB + 1, 4)],
      ] as const) {
        await write(`train/${name}.bin`, data);
        expect(await localEtag(path.join(dir, `train/${name}.bin`), data.length, 5 * MiB)).toBe(md5(data));
      }
    },
  );

  it('predicts the multipart ETag with the part size it uploads with, and uploads large files in parts', async () => {
    const big = Buffer.alloc(6 * MiB + 123, 7);
    await write('train/big.bin', big);
    const expected = `${md5(
      Buffer.concat([
        createHash('md5')
          .update(big.subarray(0, 5 * MiB))
          .digest(),
        createHash('md5')
          .update(big.subarray(5 * MiB))
          .digest(),
      ]),
    )}-2`;
    expect(await localEtag(path.join(dir, 'train/big.bin'), big.length, 5 * MiB)).toBe(expected);
    expect(await localEtag(path.join(dir, 'train/big.bin'), big.length, 8 * MiB)).toBe(md5(big));

    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: `"${expected}"` });
    await run(local({ channels: ['train'], multipartThresholdMiB: 5 })).result;
    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Key: 'data/train/big.bin',
      Metadata: { 'source-etag': expected },
    });
    expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 2);

    s3.resetHistory();
    destList('train', [{ Key: 'data/train/big.bin', Size: big.length, ETag: `"${expected}"` }]);
    const again = await run(local({ channels: ['train'], multipartThresholdMiB: 5 })).result;
    expect(again).toMatchObject({ skipped: 1, copied: 3 });
    expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
  });

  it('resumes from heartbeat details without looking at what is already done', async () => {
    const resumeFrom: SyncProgress = { doneBelow: 'train/sub/c.txt', copied: 2, skipped: 0, bytesCopied: 10, total: 4 };
    const out = await run(local(), resumeFrom).result;
    expect(out).toMatchObject({ copied: 4, skipped: 0, bytesCopied: 23, total: 4 });
    expect(uploadedKeys()).toEqual(['data/train/sub/c.txt', 'data/val/v.txt']);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'dst',
      Prefix: 'data/train/',
      StartAfter: 'data/train/b.txt',
    });
  });

  it('starts over when the source no longer matches the heartbeated progress', async () => {
    const stale: SyncProgress = { doneBelow: 'val/v.txt', copied: 3, skipped: 0, bytesCopied: 17, total: 9 };
    expect(await run(local(), stale).result).toMatchObject({ copied: 4, total: 4 });
    expect(uploadedKeys()).toHaveLength(4);
  });

  it('names a missing channel and where it looked', async () => {
    await expectFailure(
      run(local({ channels: ['train', 'test'] })).result,
      'DataSourceInvalid',
      true,
      new RegExp(`channel "test" has no data: nothing under ${dir}/test/`),
    );
    await expectFailure(
      run(local({ source: { localPath: path.join(dir, 'missing') } })).result,
      'DataSourceInvalid',
      true,
      /does not exist/,
    );
  });

  it('classifies upload failures', async () => {
    s3.on(PutObjectCommand).rejects(throttled());
    await expectFailure(run(local()).result, 'AwsTransient', false, /Upload s3:\/\/dst\/data\//);
    s3.on(PutObjectCommand).rejects(accessDenied());
    await expectFailure(run(local()).result, 'AccessDenied', true);
  });
});

describe('syncDataset from S3', () => {
  const fromS3 = (over: Partial<SyncDataInput> = {}): SyncDataInput => ({
    source: { s3Uri: 's3://src/raw' },
    bucket: 'dst',
    prefix: 'data',
    channels: ['train', 'val'],
    maxConcurrency: 3,
    multipartThresholdMiB: 5,
    ...over,
  });
  const srcList = (objects: { Key: string; Size: number; ETag: string }[]) => {
    const [first, ...rest] = objects;
    s3.on(ListObjectsV2Command, { Bucket: 'src', Prefix: 'raw/' })
      .resolvesOnce({ Contents: first ? [first] : [], IsTruncated: true, NextContinuationToken: 'n1' })
      .resolves({ Contents: rest, IsTruncated: false });
  };

  beforeEach(() => {
    s3.on(CopyObjectCommand).resolves({});
  });

  it('copies changed objects server-side, skips unchanged ones, and multipart-copies large ones', async () => {
    srcList([
      { Key: 'raw/train/', Size: 0, ETag: '"d"' },
      { Key: 'raw/train/a', Size: 10, ETag: '"e-a"' },
      { Key: 'raw/train/big', Size: 12 * MiB, ETag: '"e-big-3"' },
      { Key: 'raw/val/v w', Size: 20, ETag: '"e-v"' },
    ]);
    destList('train', [{ Key: 'data/train/a', Size: 10, ETag: '"e-a"' }]);
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCopyCommand).callsFake((i: { PartNumber: number }) => ({
      CopyPartResult: { ETag: `"p${i.PartNumber}"` },
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const out = await run(fromS3()).result;
    expect(out).toEqual({
      channels: { train: 's3://dst/data/train/', val: 's3://dst/data/val/' },
      copied: 2,
      skipped: 1,
      bytesCopied: 12 * MiB + 20,
      total: 3,
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'src',
      Prefix: 'raw/',
      ContinuationToken: 'n1',
    });
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: 'dst',
      Key: 'data/val/v w',
      CopySource: 'src/raw/val/v%20w',
      MetadataDirective: 'REPLACE',
      Metadata: { 'source-etag': 'e-v' },
    });
    const ranges = s3
      .commandCalls(UploadPartCopyCommand)
      .map((c) => c.args[0].input.CopySourceRange)
      .sort();
    expect(ranges).toEqual([
      `bytes=0-${5 * MiB - 1}`,
      `bytes=${10 * MiB}-${12 * MiB - 1}`,
      `bytes=${5 * MiB}-${10 * MiB - 1}`,
    ]);
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'u1',
      MultipartUpload: { Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"p${n}"` })) },
    });
  });

  it('keeps at most maxConcurrency copies in flight and never heartbeats past an unfinished key', async () => {
    srcList(
      Array.from({ length: 12 }, (_, i) => ({
        Key: `raw/train/f${String(i).padStart(2, '0')}`,
        Size: 1,
        ETag: `"e${i}"`,
      })).concat([{ Key: 'raw/val/v', Size: 1, ETag: '"v"' }]),
    );
    let inFlight = 0;
    let peak = 0;
    const finished = new Set<string>();
    s3.on(CopyObjectCommand).callsFake(async (i: { Key: string }) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      // The first key is the slowest: later keys finish first, but progress must wait for it.
      await new Promise((r) => setTimeout(r, i.Key.endsWith('f00') ? 40 : 2));
      finished.add(i.Key);
      inFlight -= 1;
      return {};
    });
    const { beats, result } = run(fromS3());
    await result;
    expect(peak).toBe(3);
    expect(finished.size).toBe(13);
    const beforeFirstDone = beats.filter((b) => b.doneBelow !== null && b.copied === 0);
    expect(beforeFirstDone.every((b) => b.doneBelow === 'train/f00')).toBe(true);
    expect(beats.at(-1)).toMatchObject({ copied: 13, doneBelow: 'val/v\u0000' });
  });

  it('classifies failures: throttling, access denied, a missing source bucket', async () => {
    srcList([
      { Key: 'raw/train/a', Size: 1, ETag: '"a"' },
      { Key: 'raw/val/v', Size: 1, ETag: '"v"' },
    ]);
    s3.on(CopyObjectCommand).rejects(throttled());
    await expectFailure(run(fromS3()).result, 'AwsTransient', false, /CopyObject s3:\/\/dst\/data\/train\/a/);
    s3.on(ListObjectsV2Command, { Bucket: 'src' }).rejects(accessDenied());
    await expectFailure(run(fromS3()).result, 'AccessDenied', true);
    s3.on(ListObjectsV2Command, { Bucket: 'src' }).rejects(awsError('NoSuchBucket', 404));
    await expectFailure(run(fromS3()).result, 'DataSourceInvalid', true, /bucket does not exist/);
  });
});
