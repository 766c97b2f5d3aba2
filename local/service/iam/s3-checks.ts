/**
 * The S3 REST API's requests (path-style, as local mode's clients address S3; `<bucket>.localhost` hosts too) turned
 * into the authorizations S3 performs, per "Required permissions for Amazon S3 API operations"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html): object operations on
 * `arn:aws:s3:::<bucket>/<key>`, bucket operations on `arn:aws:s3:::<bucket>`. Notable mappings: HeadObject is
 * s3:GetObject, HeadBucket and ListObjects(V2) are s3:ListBucket (with s3:prefix, s3:delimiter, s3:max-keys), every
 * multipart call but Abort is s3:PutObject, a copy (CopyObject, UploadPartCopy) also needs s3:GetObject on its
 * source, a versioned read s3:GetObjectVersion, and DeleteObjects s3:DeleteObject on each key.
 */
import type { AuthCheck } from './authorizer';

/** What the mapper needs of an HTTP request. */
export interface S3Request {
  method: string;
  /** Path and query, as received (`/bucket/key?uploadId=...`). */
  url: string;
  host?: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body, for the few operations whose authorization depends on it (DeleteObjects). */
  body?: Buffer;
}

/** The operation (for messages and stats) and its authorizations. */
export interface S3Mapping {
  operation: string;
  checks: AuthCheck[];
}

const header = (r: S3Request, name: string): string | undefined => {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const bucketArn = (b: string): string => `arn:aws:s3:::${b}`;
const objectArn = (b: string, k: string): string => `arn:aws:s3:::${b}/${k}`;

/** Bucket sub-resources: the operation and S3 action of each method on `?<name>`. */
const BUCKET_SUBRESOURCES: Record<string, Partial<Record<string, [string, string]>>> = {
  tagging: {
    GET: ['GetBucketTagging', 's3:GetBucketTagging'],
    PUT: ['PutBucketTagging', 's3:PutBucketTagging'],
    DELETE: ['DeleteBucketTagging', 's3:PutBucketTagging'],
  },
  policy: {
    GET: ['GetBucketPolicy', 's3:GetBucketPolicy'],
    PUT: ['PutBucketPolicy', 's3:PutBucketPolicy'],
    DELETE: ['DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
  },
  versioning: {
    GET: ['GetBucketVersioning', 's3:GetBucketVersioning'],
    PUT: ['PutBucketVersioning', 's3:PutBucketVersioning'],
  },
  lifecycle: {
    GET: ['GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration'],
    PUT: ['PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration'],
    DELETE: ['DeleteBucketLifecycle', 's3:PutLifecycleConfiguration'],
  },
  cors: {
    GET: ['GetBucketCors', 's3:GetBucketCORS'],
    PUT: ['PutBucketCors', 's3:PutBucketCORS'],
    DELETE: ['DeleteBucketCors', 's3:PutBucketCORS'],
  },
  acl: { GET: ['GetBucketAcl', 's3:GetBucketAcl'], PUT: ['PutBucketAcl', 's3:PutBucketAcl'] },
  encryption: {
    GET: ['GetBucketEncryption', 's3:GetEncryptionConfiguration'],
    PUT: ['PutBucketEncryption', 's3:PutEncryptionConfiguration'],
    DELETE: ['DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
  },
  location: { GET: ['GetBucketLocation', 's3:GetBucketLocation'] },
  notification: {
    GET: ['GetBucketNotificationConfiguration', 's3:GetBucketNotification'],
    PUT: ['PutBucketNotificationConfiguration', 's3:PutBucketNotification'],
  },
  publicAccessBlock: {
    GET: ['GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock'],
    PUT: ['PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
    DELETE: ['DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  },
  ownershipControls: {
    GET: ['GetBucketOwnershipControls', 's3:GetBucketOwnershipControls'],
    PUT: ['PutBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
    DELETE: ['DeleteBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
  },
  uploads: { GET: ['ListMultipartUploads', 's3:ListBucketMultipartUploads'] },
  versions: { GET: ['ListObjectVersions', 's3:ListBucketVersions'] },
};

/** Object sub-resources (a versionId turns the Get/Put/Delete into its *Version* action). */
const OBJECT_SUBRESOURCES: Record<string, Partial<Record<string, [string, string, string?]>>> = {
  tagging: {
    GET: ['GetObjectTagging', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
    PUT: ['PutObjectTagging', 's3:PutObjectTagging', 's3:PutObjectVersionTagging'],
    DELETE: ['DeleteObjectTagging', 's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  },
  acl: {
    GET: ['GetObjectAcl', 's3:GetObjectAcl', 's3:GetObjectVersionAcl'],
    PUT: ['PutObjectAcl', 's3:PutObjectAcl', 's3:PutObjectVersionAcl'],
  },
  retention: {
    GET: ['GetObjectRetention', 's3:GetObjectRetention'],
    PUT: ['PutObjectRetention', 's3:PutObjectRetention'],
  },
  'legal-hold': {
    GET: ['GetObjectLegalHold', 's3:GetObjectLegalHold'],
    PUT: ['PutObjectLegalHold', 's3:PutObjectLegalHold'],
  },
  attributes: { GET: ['GetObjectAttributes', 's3:GetObjectAttributes', 's3:GetObjectVersionAttributes'] },
  restore: { POST: ['RestoreObject', 's3:RestoreObject'] },
};

/** Bucket and key of a request: path-style `/<bucket>/<key>`, or a `<bucket>.localhost` / S3 virtual host. */
export function s3Address(url: string, host?: string): { bucket?: string; key?: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  const virtual = host && /^(.+?)\.(localhost|s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com)(:\d+)?$/i.exec(host)?.[1];
  const parts = rawPath.replace(/^\/+/, '');
  if (virtual) return { bucket: virtual, key: parts ? decodeURIComponent(parts) : undefined, query };
  if (!parts) return { query };
  const slash = parts.indexOf('/');
  if (slash < 0) return { bucket: decodeURIComponent(parts), query };
  const key = parts.slice(slash + 1);
  return { bucket: decodeURIComponent(parts.slice(0, slash)), key: key ? decodeURIComponent(key) : undefined, query };
}

/** `x-amz-copy-source` (`[/]bucket/key[?versionId=v]`, URL-encoded) as the source object's ARN and action. */
function copySource(value: string): AuthCheck {
  const [pathPart, q] = value.split('?', 2);
  const p = decodeURIComponent((pathPart ?? '').replace(/^\/+/, ''));
  const slash = p.indexOf('/');
  const versioned = new URLSearchParams(q ?? '').has('versionId');
  return {
    action: versioned ? 's3:GetObjectVersion' : 's3:GetObject',
    resource: objectArn(p.slice(0, slash), p.slice(slash + 1)),
  };
}

/** The keys of a DeleteObjects body (`<Delete><Object><Key>...`). */
function deleteKeys(body: Buffer | undefined): string[] {
  if (!body) return [];
  const text = body.toString('utf8');
  const unescape = (s: string): string =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  return [...text.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescape(m[1] as string));
}

/** Whether the mapping needs the request body (only DeleteObjects does). */
export function s3NeedsBody(method: string, url: string): boolean {
  return method === 'POST' && /[?&]delete(=|&|$)/.test(url);
}

/** The S3 operation of a request and the authorizations it needs. */
export function s3Checks(r: S3Request): S3Mapping {
  const method = r.method.toUpperCase();
  const { bucket, key, query } = s3Address(r.url, r.host);
  if (!bucket) return { operation: 'ListBuckets', checks: [{ action: 's3:ListAllMyBuckets', resource: '*' }] };
  const versioned = query.has('versionId');
  if (key === undefined) {
    for (const [sub, ops] of Object.entries(BUCKET_SUBRESOURCES)) {
      const op = query.has(sub) ? ops[method] : undefined;
      if (op) return { operation: op[0], checks: [{ action: op[1], resource: bucketArn(bucket) }] };
    }
    if (method === 'POST' && query.has('delete'))
      return {
        operation: 'DeleteObjects',
        checks: deleteKeys(r.body).map((k) => ({ action: 's3:DeleteObject', resource: objectArn(bucket, k) })),
      };
    if (method === 'PUT')
      return { operation: 'CreateBucket', checks: [{ action: 's3:CreateBucket', resource: bucketArn(bucket) }] };
    if (method === 'DELETE')
      return { operation: 'DeleteBucket', checks: [{ action: 's3:DeleteBucket', resource: bucketArn(bucket) }] };
    const context: Record<string, string> = {};
    for (const [param, k] of [
      ['prefix', 's3:prefix'],
      ['delimiter', 's3:delimiter'],
      ['max-keys', 's3:max-keys'],
    ] as const) {
      const v = query.get(param);
      if (v !== null) context[k] = v;
    }
    const operation =
      method === 'HEAD' ? 'HeadBucket' : query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return { operation, checks: [{ action: 's3:ListBucket', resource: bucketArn(bucket), context }] };
  }
  const obj = objectArn(bucket, key);
  for (const [sub, ops] of Object.entries(OBJECT_SUBRESOURCES)) {
    const op = query.has(sub) ? ops[method] : undefined;
    if (op) return { operation: op[0], checks: [{ action: versioned && op[2] ? op[2] : op[1], resource: obj }] };
  }
  const source = header(r, 'x-amz-copy-source');
  const tagging = header(r, 'x-amz-tagging');
  switch (method) {
    case 'GET':
      if (query.has('uploadId'))
        return { operation: 'ListParts', checks: [{ action: 's3:ListMultipartUploadParts', resource: obj }] };
      return {
        operation: 'GetObject',
        checks: [{ action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: obj }],
      };
    case 'HEAD':
      return {
        operation: 'HeadObject',
        checks: [{ action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: obj }],
      };
    case 'PUT': {
      const put: AuthCheck = { action: 's3:PutObject', resource: obj };
      if (query.has('uploadId'))
        return source
          ? { operation: 'UploadPartCopy', checks: [put, copySource(source)] }
          : { operation: 'UploadPart', checks: [put] };
      const extra: AuthCheck[] = tagging ? [{ action: 's3:PutObjectTagging', resource: obj }] : [];
      return source
        ? { operation: 'CopyObject', checks: [put, copySource(source), ...extra] }
        : { operation: 'PutObject', checks: [put, ...extra] };
    }
    case 'POST':
      if (query.has('uploads')) {
        const extra: AuthCheck[] = tagging ? [{ action: 's3:PutObjectTagging', resource: obj }] : [];
        return { operation: 'CreateMultipartUpload', checks: [{ action: 's3:PutObject', resource: obj }, ...extra] };
      }
      if (query.has('uploadId'))
        return { operation: 'CompleteMultipartUpload', checks: [{ action: 's3:PutObject', resource: obj }] };
      if (query.has('select'))
        return { operation: 'SelectObjectContent', checks: [{ action: 's3:GetObject', resource: obj }] };
      return { operation: 'PostObject', checks: [{ action: 's3:PutObject', resource: obj }] };
    case 'DELETE':
      if (query.has('uploadId'))
        return { operation: 'AbortMultipartUpload', checks: [{ action: 's3:AbortMultipartUpload', resource: obj }] };
      return {
        operation: 'DeleteObject',
        checks: [{ action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: obj }],
      };
    default:
      return { operation: `${method} object`, checks: [{ action: 's3:GetObject', resource: obj }] };
  }
}
