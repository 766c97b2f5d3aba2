/** Step 3, syncData: inputs and outputs. */
import { z } from 'zod';

/** Input of the syncData step workflow and of its single heartbeating activity. */
export const SyncDataInput = z.strictObject({
  source: z.union([z.strictObject({ s3Uri: z.string() }), z.strictObject({ localPath: z.string() })]),
  bucket: z.string(),
  prefix: z.string(),
  channels: z.array(z.string()).min(1),
  maxConcurrency: z.number().int().min(1).max(64).default(8),
  multipartThresholdMiB: z.number().int().min(5).default(64),
});
export type SyncDataInput = z.input<typeof SyncDataInput>;

/** Progress a retried sync resumes from (the activity's heartbeat details). */
export const SyncProgress = z.strictObject({
  /** Source keys, in sorted order, below which every object is known to be in place. */
  doneBelow: z.string().nullable(),
  copied: z.number().int(),
  skipped: z.number().int(),
  bytesCopied: z.number().int(),
  total: z.number().int(),
});
export type SyncProgress = z.infer<typeof SyncProgress>;

/** Output: one S3 URI per channel, and what the sync did. */
export const SyncDataOutput = z.strictObject({
  channels: z.record(z.string(), z.string()),
  copied: z.number().int(),
  skipped: z.number().int(),
  bytesCopied: z.number().int(),
  total: z.number().int(),
  /** When the newest object under the channels was written (ISO 8601): what a warm start compares with its parent. */
  lastModified: z.string().nullable().optional(),
});
export type SyncDataOutput = z.infer<typeof SyncDataOutput>;
