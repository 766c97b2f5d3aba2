/**
 * One run of a transform job: InstanceCount `serve` containers of the model (a {@link Fleet}), the batch protocol
 * against them, and the `.out` objects in S3.
 *
 * As SageMaker does (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html): wait for
 * GET /ping, read GET /execution-parameters for what the request leaves out (MaxConcurrentTransforms 0 or unset,
 * MaxPayloadInMB, BatchStrategy; without the route: 1, 6 MB, SingleRecord), split every input object per SplitType
 * (None: the whole object; Line: one record per line), batch per BatchStrategy within MaxPayloadInMB, send with the
 * input's ContentType and the output's Accept, at most MaxConcurrentTransforms requests in flight per instance, and
 * write `<S3OutputPath>/<key relative to the input prefix>.out` (AssembleWith Line: a newline after every answer)
 * once the whole object succeeded. Objects are spread over the instances. A 4xx/5xx answer fails the job with a
 * FailureReason that names the object; a request that gets no answer is retried ModelClientConfig
 * InvocationsMaxRetries times (default 3) with InvocationsTimeoutInSeconds (default 600) each.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Ctx } from '../../../core/context';
import { listKeys, parseS3Uri } from '../../../core/s3-files';
import { Fleet, type Instance, type ModelRecord } from '../../fleet';
import type { TransformRequest } from './transform-request';

/** CloudWatch Logs group of transform jobs (streams `<job>/<instance>` and `<job>/data-log`, as on SageMaker). */
export const TRANSFORM_LOG_GROUP = '/aws/sagemaker/TransformJobs';
const MB = 1024 * 1024;

export type TransformOutcome = { kind: 'completed' } | { kind: 'failed'; reason: string } | { kind: 'stopped' };

/** The batch settings in force: the request's, else the container's /execution-parameters, else AWS's defaults. */
export interface EffectiveParameters {
  MaxConcurrentTransforms: number;
  MaxPayloadInMB: number;
  BatchStrategy: 'SingleRecord' | 'MultiRecord';
}

/** A failure that ends the job with this FailureReason. */
export class TransformFailure extends Error {}

export function effectiveParameters(
  req: Pick<TransformRequest, 'MaxConcurrentTransforms' | 'MaxPayloadInMB' | 'BatchStrategy'>,
  container: Record<string, unknown> | undefined,
): EffectiveParameters {
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
  const strategy = container?.BatchStrategy === 'MULTI_RECORD' ? 'MultiRecord' : 'SingleRecord';
  return {
    MaxConcurrentTransforms: req.MaxConcurrentTransforms || num(container?.MaxConcurrentTransforms) || 1,
    MaxPayloadInMB: req.MaxPayloadInMB ?? num(container?.MaxPayloadInMB) ?? 6,
    BatchStrategy: req.BatchStrategy ?? (container ? strategy : 'SingleRecord'),
  };
}

/** Records of one object: SplitType None is the whole object, Line one record per line (its newline dropped). */
export function splitRecords(data: Buffer, splitType: string | undefined): Buffer[] {
  if (!splitType || splitType === 'None') return data.length ? [data] : [];
  const records: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0x0a) {
      let end = i;
      if (end > start && data[end - 1] === 0x0d) end--;
      if (end > start) records.push(data.subarray(start, end));
      start = i + 1;
    }
  }
  return records;
}

/**
 * Mini-batches of records: one each (SingleRecord, or SplitType None), or as many lines as fit within the payload
 * limit (MultiRecord). A record larger than the limit fails the job, as on SageMaker.
 */
export function miniBatches(records: Buffer[], p: EffectiveParameters, splitType: string | undefined): Buffer[] {
  const limit = p.MaxPayloadInMB === 0 ? Infinity : p.MaxPayloadInMB * MB;
  for (const [i, r] of records.entries())
    if (r.length > limit)
      throw new TransformFailure(
        `ClientError: Too much data for max payload size: record ${i} is ${r.length} bytes, over MaxPayloadInMB ` +
          `${p.MaxPayloadInMB} (${limit} bytes)`,
      );
  if (p.BatchStrategy === 'SingleRecord' || !splitType || splitType === 'None') return records;
  const batches: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const r of records) {
    const added = r.length + (current.length ? 1 : 0);
    if (current.length && size + added > limit) {
      batches.push(Buffer.from(current.map((c) => c.toString('latin1')).join('\n'), 'latin1'));
      current = [];
      size = 0;
    }
    size += r.length + (current.length ? 1 : 0);
    current.push(r);
  }
  if (current.length) batches.push(Buffer.from(current.map((c) => c.toString('latin1')).join('\n'), 'latin1'));
  return batches;
}

/** The output key of an input object: its key relative to the input prefix (up to the prefix's last `/`), `.out`. */
export function outputUri(outputPath: string, inputPrefix: string, key: string): string {
  const rel = key.slice(inputPrefix.lastIndexOf('/') + 1) || path.posix.basename(key);
  return `${outputPath.replace(/\/+$/, '')}/${rel}.out`;
}

/** Answers of one object assembled: AssembleWith Line puts a newline after every answer that lacks one. */
export function assemble(answers: Buffer[], assembleWith: string | undefined): Buffer {
  if (assembleWith !== 'Line') return Buffer.concat(answers);
  return Buffer.concat(
    answers.map((a) => (a.length && a[a.length - 1] === 0x0a ? a : Buffer.concat([a, Buffer.from('\n')]))),
  );
}

/** A counting semaphore: at most `n` holders. */
class Gate {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export class TransformRun {
  private fleet?: Fleet;
  private readonly abort = new AbortController();
  private stopReason?: 'user' | 'shutdown';

  constructor(
    private readonly ctx: Ctx,
    private readonly req: TransformRequest,
    private readonly model: ModelRecord,
    private readonly onStarted: (p: EffectiveParameters) => void,
  ) {}

  private log(stream: string, text: string): void {
    this.ctx.logs.add(TRANSFORM_LOG_GROUP, `${this.req.TransformJobName}/${stream}`, text, this.model.ExecutionRoleArn);
  }

  private get s3() {
    return this.ctx.roleClients(this.model.ExecutionRoleArn).s3;
  }

  /** Stops the run: in-flight requests are abandoned and the containers stopped; nothing more is uploaded. */
  stop(reason: 'user' | 'shutdown'): void {
    this.stopReason ??= reason;
    this.abort.abort();
    void this.fleet?.stop(5_000);
  }

  async run(): Promise<TransformOutcome | { kind: 'shutdown' }> {
    const name = this.req.TransformJobName;
    const id = crypto.randomBytes(4).toString('hex');
    try {
      const base = this.model.PrimaryContainer ?? this.model.Containers?.[0] ?? {};
      // The job's Environment is set on top of the model's: the job names what this run needs.
      const container = { ...base, Environment: { ...(base.Environment ?? {}), ...(this.req.Environment ?? {}) } };
      const fleet = new Fleet(this.ctx, name, 'transform', id, {
        dir: path.join(this.ctx.endpointsDir, '.transform-jobs', name, id),
        logFile: path.join(this.ctx.logDir, 'transform-jobs', `${name}.log`),
        onLine: (i, text) => this.log(`i-${i}`, text),
      });
      this.fleet = fleet;
      if (this.abort.signal.aborted) return this.ended();
      const spec = {
        VariantName: 'AllTraffic',
        ModelName: this.model.ModelName,
        InitialInstanceCount: this.req.TransformResources.InstanceCount,
        InstanceType: this.req.TransformResources.InstanceType,
        InitialVariantWeight: 1,
      };
      try {
        await fleet.start([spec], () => ({ ...this.model, PrimaryContainer: container, Containers: undefined }));
      } catch (err) {
        if (this.abort.signal.aborted) return this.ended();
        throw new TransformFailure(
          `ClientError: the model container did not start: ${(err as Error).message.replace(/production variant AllTraffic/g, 'transform job')}`,
        );
      }
      const instances = fleet.variants[0]?.instances ?? [];
      const first = instances[0] as Instance;
      const params = effectiveParameters(this.req, await this.executionParameters(first));
      this.log(
        'data-log',
        `[sagemaker logs]: MaxConcurrentTransforms=${params.MaxConcurrentTransforms}, MaxPayloadInMB=` +
          `${params.MaxPayloadInMB}, BatchStrategy=${params.BatchStrategy === 'MultiRecord' ? 'MULTI_RECORD' : 'SINGLE_RECORD'}`,
      );
      this.onStarted(params);
      const objects = await this.inputObjects();
      const perInstance = instances.map(() => new Gate(params.MaxConcurrentTransforms));
      await Promise.all(
        instances.map(async (inst, n) => {
          for (let k = n; k < objects.length; k += instances.length) {
            if (this.abort.signal.aborted) return;
            await this.transformObject(objects[k] as string, inst, perInstance[n] as Gate, params);
          }
        }),
      );
      if (this.abort.signal.aborted) return this.ended();
      this.log('data-log', `[sagemaker logs]: ${objects.length} object(s) transformed`);
      return { kind: 'completed' };
    } catch (err) {
      if (this.abort.signal.aborted) return this.ended();
      const reason =
        err instanceof TransformFailure ? err.message : `InternalServerError: ${(err as Error).message ?? String(err)}`;
      this.log('data-log', `[sagemaker logs]: ${reason}`);
      return { kind: 'failed', reason };
    } finally {
      await this.fleet?.stop(5_000);
      await this.ctx.logs.flush();
    }
  }

  private ended(): TransformOutcome | { kind: 'shutdown' } {
    return this.stopReason === 'shutdown' ? { kind: 'shutdown' } : { kind: 'stopped' };
  }

  /** The container's /execution-parameters, or undefined when it does not serve the route. */
  private async executionParameters(inst: Instance): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${inst.port}/execution-parameters`, {
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) return undefined;
      const body = (await res.json()) as unknown;
      return body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The keys the input names: every object under the S3 prefix (sorted, as S3 lists them). */
  private async inputObjects(): Promise<string[]> {
    const { S3Uri } = this.req.TransformInput.DataSource.S3DataSource;
    const { bucket, key } = parseS3Uri(S3Uri);
    let keys: { key: string; size: number }[];
    try {
      keys = await listKeys(this.s3, bucket, key);
    } catch (err) {
      throw new TransformFailure(`ClientError: Failed to list the input ${S3Uri}: ${(err as Error).message}`);
    }
    const objects = keys.filter((k) => !k.key.endsWith('/')).map((k) => k.key);
    if (objects.length === 0)
      throw new TransformFailure(
        `ClientError: No S3 objects found under S3 URL "${S3Uri}" given in input data source. Please ensure that the bucket exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${bucket}".`,
      );
    return objects;
  }

  private async transformObject(key: string, inst: Instance, gate: Gate, p: EffectiveParameters): Promise<void> {
    const input = this.req.TransformInput;
    const { bucket, key: prefix } = parseS3Uri(input.DataSource.S3DataSource.S3Uri);
    const where = `${bucket}/${key}`;
    let data: Buffer;
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      data = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    } catch (err) {
      throw new TransformFailure(`ClientError: Failed to download ${where}: ${(err as Error).message}`);
    }
    let batches: Buffer[];
    try {
      if (input.CompressionType === 'Gzip') data = gunzipSync(data);
      batches = miniBatches(splitRecords(data, input.SplitType), p, input.SplitType);
    } catch (err) {
      throw new TransformFailure(`${(err as Error).message} in ${where}`);
    }
    const answers = await Promise.all(batches.map((b) => gate.run(() => this.invoke(inst, b, where))));
    if (this.abort.signal.aborted) return;
    const out = outputUri(this.req.TransformOutput.S3OutputPath, prefix, key);
    const target = parseS3Uri(out);
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          Body: assemble(answers, this.req.TransformOutput.AssembleWith),
          ...(this.req.TransformOutput.Accept ? { ContentType: this.req.TransformOutput.Accept } : {}),
        }),
      );
    } catch (err) {
      throw new TransformFailure(`ClientError: Failed to upload ${out}: ${(err as Error).message}`);
    }
    this.log('data-log', `[sagemaker logs]: ${where}: ${batches.length} request(s) -> ${out}`);
  }

  /** POST /invocations; a 4xx/5xx fails the job naming the object; no answer is retried InvocationsMaxRetries times. */
  private async invoke(inst: Instance, body: Buffer, where: string): Promise<Buffer> {
    const cfg = this.req.ModelClientConfig ?? {};
    const timeoutMs = (cfg.InvocationsTimeoutInSeconds ?? 600) * 1000;
    const retries = cfg.InvocationsMaxRetries ?? 3;
    const headers: Record<string, string> = {};
    if (this.req.TransformInput.ContentType) headers['Content-Type'] = this.req.TransformInput.ContentType;
    if (this.req.TransformOutput.Accept) headers.Accept = this.req.TransformOutput.Accept;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.abort.signal.aborted) return Buffer.alloc(0);
      let res: Response;
      try {
        res = await fetch(`http://127.0.0.1:${inst.port}/invocations`, {
          method: 'POST',
          body,
          headers,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (err) {
        if (this.abort.signal.aborted) return Buffer.alloc(0);
        last =
          (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (err as Error).message;
        this.log('data-log', `[sagemaker logs]: ${where}: attempt ${attempt + 1} of ${retries + 1} failed: ${last}`);
        continue;
      }
      const answer = Buffer.from(await res.arrayBuffer());
      if (res.ok) return answer;
      const message = answer.toString('utf8').slice(0, 2000);
      this.log('data-log', `[sagemaker logs]: ${where}: ClientError: ${res.status}`);
      this.log('data-log', `[sagemaker logs]: ${where}: Message: ${message}`);
      throw new TransformFailure(
        `ClientError: See job logs for more information. ${where}: ClientError: ${res.status}, Message: ${message}`,
      );
    }
    throw new TransformFailure(
      `ClientError: See job logs for more information. ${where}: the model container did not answer after ` +
        `${retries + 1} attempt(s): ${last}`,
    );
  }
}
