/** Step 3: incremental, resumable copy of the dataset into the training bucket. */
import { SyncDataInput, type SyncDataOutput } from '../contracts/sync-data';
import { longActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

/** Syncs the dataset and returns one S3 URI per channel. */
export async function syncData(rawInput: SyncDataInput): Promise<SyncDataOutput> {
  const input = parseStepInput(SyncDataInput, rawInput, 'syncData input');
  const status = trackStatus('syncData');
  status.phase = 'syncing';
  const from = 's3Uri' in input.source ? input.source.s3Uri : input.source.localPath;
  const result = await longActivities('12h').syncDataset.executeWithOptions(
    { summary: `Sync ${from} to s3://${input.bucket}/${input.prefix}` },
    [input],
  );
  status.phase = 'synced';
  status.resources = { ...result.channels };
  status.metrics = { copied: result.copied, skipped: result.skipped, bytesCopied: result.bytesCopied };
  return result;
}
