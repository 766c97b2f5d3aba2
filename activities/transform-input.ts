/**
 * Sizing the evaluation's Batch Transform to its input. Batch Transform gives each instance whole input objects
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html), so one object on N instances leaves N-1 idle
 * and billed: the records are split into one object per instance first. And MultiRecord packs records up to
 * MaxPayloadInMB into one request, which SageMaker waits for InvocationsTimeoutInSeconds (default 600, at most 3600;
 * botocore's ModelClientConfig): the timeout is sized from the records a request holds (the input's measured mean
 * record size) times the model's time per record (evaluation.secondsPerRecord), and the payload is lowered when even
 * the longest timeout would not cover a full one.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ErrorType } from '../contracts/errors';
import { aws, failure } from './aws-errors';
import { listKeys, s3Prefix } from './s3-objects';

const MB = 1024 * 1024;
/** InvocationsTimeoutInSeconds bounds (botocore: 1-3600); below a minute a cold first request could time out. */
const TIMEOUT_MIN_S = 60;
const TIMEOUT_MAX_S = 3600;
/** Headroom over the estimate: the per-record time is a mean, and a request waits behind others on the instance. */
const TIMEOUT_SAFETY = 2;
/**
 * InvocationsMaxRetries (botocore: 0-3, default 3). Scoring is deterministic, so a retry after a timeout redoes the
 * same work and times out again; one retry still covers a transient failure (a dropped connection).
 */
export const INVOCATIONS_MAX_RETRIES = 1;

/** What the input holds: non-blank lines (Batch Transform's records under SplitType Line) and their bytes. */
export interface InputMeasure {
  records: number;
  bytes: number;
}

/** The request settings for this input: the payload to pack and the client config to wait for it. */
export interface InvocationPlan {
  maxPayloadMb: number;
  invocationsTimeoutSeconds: number;
  invocationsMaxRetries: number;
}

/** Records of a JSON Lines body as SageMaker's SplitType Line cuts them: at "\n" only, a trailing "\r" dropped. */
export function splitLines(body: string): string[] {
  return body
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.trim() !== '');
}

/**
 * The payload and timeout for an input: a request holds up to maxPayloadMb of records of the input's mean size; the
 * timeout covers that many records at secondsPerRecord, twice over. When even 3600 s would not, the payload shrinks;
 * when one MB of records would not fit either, the spec cannot work and is refused, naming the fields.
 */
export function invocationPlan(m: InputMeasure, maxPayloadMb: number, secondsPerRecord: number): InvocationPlan {
  const meanBytes = Math.max(1, m.bytes / Math.max(1, m.records));
  const recordsPer = (mb: number) => Math.max(1, Math.min(m.records, Math.floor((mb * MB) / meanBytes)));
  const seconds = (mb: number) => Math.ceil(recordsPer(mb) * secondsPerRecord * TIMEOUT_SAFETY);
  let payload = maxPayloadMb;
  while (payload > 1 && seconds(payload) > TIMEOUT_MAX_S) payload--;
  if (seconds(payload) > TIMEOUT_MAX_S)
    throw failure(
      ErrorType.SpecInvalid,
      `evaluation: a request of ${payload} MB holds ${recordsPer(payload)} record(s) of ${Math.round(meanBytes)} bytes ` +
        `on average, which at evaluation.secondsPerRecord ${secondsPerRecord} s needs more than Batch Transform's ` +
        `longest invocation timeout (${TIMEOUT_MAX_S} s, with ${TIMEOUT_SAFETY}x headroom): shorten the records or ` +
        'check secondsPerRecord',
    );
  return {
    maxPayloadMb: payload,
    invocationsTimeoutSeconds: Math.min(TIMEOUT_MAX_S, Math.max(TIMEOUT_MIN_S, seconds(payload))),
    invocationsMaxRetries: INVOCATIONS_MAX_RETRIES,
  };
}

/** `n` contiguous shards of the records, their sizes differing by at most one (order kept). */
export function shardRecords(records: string[], n: number): string[][] {
  const out: string[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(records.length / n) + (i < records.length % n ? 1 : 0);
    out.push(records.slice(start, start + size));
    start += size;
  }
  return out;
}

/** Where the per-instance objects go: beside the transform's output prefix (`…/<job>/output/` → `…/<job>/input/`). */
export function shardPrefixFor(outputS3Uri: string): string {
  return `${outputS3Uri.replace(/[^/]+\/$/, '')}input/`;
}

/**
 * Reads the scoring input (every object under the URI), measures it, and when the job has more instances than
 * objects writes the records as one object per instance under `shardPrefixFor(outputS3Uri)` (the same keys and
 * content on a retry). Returns the URI the job should read and the measure.
 */
export async function prepareTransformInput(
  s3: Pick<S3Client, 'send'>,
  input: { inputS3Uri: string; outputS3Uri: string; instanceCount: number },
): Promise<{ s3Uri: string; measure: InputMeasure; objects: number }> {
  const { Bucket } = s3Prefix(input.inputS3Uri);
  const keys = await listKeys(s3, input.inputS3Uri, (k) => !k.endsWith('/'));
  const records: string[] = [];
  let bytes = 0;
  for (const Key of keys) {
    const res = await aws(`GetObject s3://${Bucket}/${Key}`, () => s3.send(new GetObjectCommand({ Bucket, Key })));
    const chunks: Buffer[] = [];
    for await (const chunk of (res.Body ?? []) as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    // Decoded whole, so a character split across chunks stays whole.
    for (const line of splitLines(Buffer.concat(chunks).toString('utf-8'))) {
      records.push(line);
      bytes += Buffer.byteLength(line) + 1;
    }
  }
  const measure = { records: records.length, bytes };
  if (records.length === 0)
    throw failure(ErrorType.DataSourceInvalid, `no scoring records under ${input.inputS3Uri}`, {
      inputS3Uri: input.inputS3Uri,
    });
  if (input.instanceCount <= keys.length) return { s3Uri: input.inputS3Uri, measure, objects: keys.length };
  if (records.length < input.instanceCount)
    throw failure(
      ErrorType.SpecInvalid,
      `evaluation.instanceCount is ${input.instanceCount} but ${input.inputS3Uri} holds ${records.length} scoring ` +
        'record(s): every instance needs at least one, and an idle one is still billed; lower instanceCount',
    );
  const prefix = shardPrefixFor(input.outputS3Uri);
  const { Bucket: outBucket, Prefix } = s3Prefix(prefix);
  const shards = shardRecords(records, input.instanceCount);
  for (const [i, shard] of shards.entries()) {
    const Key = `${Prefix}part-${String(i + 1).padStart(5, '0')}.jsonl`;
    await aws(`PutObject s3://${outBucket}/${Key}`, () =>
      s3.send(
        new PutObjectCommand({
          Bucket: outBucket,
          Key,
          Body: shard.join('\n') + '\n',
          ContentType: 'application/jsonlines',
        }),
      ),
    );
  }
  return { s3Uri: prefix, measure, objects: shards.length };
}
