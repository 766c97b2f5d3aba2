/** Small S3 helpers the activities share: an object URI's bucket and key, and "no such object" errors. */

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
