/** The spec's bucket: on AWS it is the user's; in local mode the harness creates it in moto. */
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';

/** Creates `bucket` unless it exists; says which. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<'exists' | 'created'> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'exists';
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return 'created';
  }
}
