/**
 * Small S3 helpers the activities share: an object URI's bucket and key, a prefix's keys, and "no such object"
 * errors.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ErrorType } from '../contracts/errors';
import { aws, failure } from './aws-errors';

/** `s3://bucket/key` as the Bucket and Key of an S3 command. */
export function s3Object(uri: string): { Bucket: string; Key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// object URI: ${uri}`);
  return { Bucket: m[1] as string, Key: m[2] as string };
}

/** True when S3 answered HeadObject or GetObject with "no such key". */
export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** Bucket and key prefix of an s3:// URI (a prefix or one object). */
export function s3Prefix(uri: string): { Bucket: string; Prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw failure(ErrorType.SpecInvalid, `not an s3:// URI: ${uri}`);
  return { Bucket: m[1] as string, Prefix: m[2] as string };
}

/** Every object key under a prefix (all pages), in S3's order (UTF-8 binary, the order Batch Transform reads). */
export async function listKeys(
  s3: Pick<S3Client, 'send'>,
  uri: string,
  filter: (key: string) => boolean,
): Promise<string[]> {
  const { Bucket, Prefix } = s3Prefix(uri);
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await aws(`ListObjectsV2 ${uri}`, () =>
      s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken })),
    );
    for (const o of page.Contents ?? []) if (o.Key && filter(o.Key)) keys.push(o.Key);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}
