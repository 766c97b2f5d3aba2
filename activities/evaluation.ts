/**
 * Scoring of the evaluateModel step: reads the Batch Transform's `.out` answers line by line (streamed, so memory
 * stays bounded whatever the size of the evaluation set), checks each against the scoring contract, and writes the
 * token-weighted mean negative log-likelihood; and removes the Model the transform served.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteModelCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import {
  DeleteEvaluationModelInput,
  type DeleteEvaluationModelOutput,
  type Evaluation,
  parseScoreLine,
  UploadEvaluationRecordsInput,
  type UploadEvaluationRecordsOutput,
  ScoreTransformOutputInput,
  TRANSFORM_OUTPUT_SUFFIX,
} from '../contracts/evaluate-model';
import { aws, failure, toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { heartbeatIfActivity } from './polling';
import { isMissingObject, listKeys, s3Object, s3Prefix } from './s3-objects';
import { assertOwned, isNotFound } from './sagemaker-owner';

/** Lines between two progress heartbeats. */
const HEARTBEAT_EVERY_LINES = 10_000;

/** Builds the evaluation activities. */
export function createEvaluationActivities(deps: ActivityDeps) {
  const s3 = deps.clients.s3;
  const sm = deps.clients.sagemaker;

  const keysUnder = (uri: string, filter: (key: string) => boolean) => listKeys(s3, uri, filter);

  /** Calls `each` for every non-empty line of an object, streaming it. */
  async function forEachLine(Bucket: string, Key: string, each: (line: string, n: number) => void): Promise<void> {
    const res = await aws(`GetObject s3://${Bucket}/${Key}`, () => s3.send(new GetObjectCommand({ Bucket, Key })));
    const body = res.Body as Readable;
    const lines = createInterface({ input: body, crlfDelay: Infinity });
    let n = 0;
    try {
      for await (const line of lines) {
        n++;
        if (line.trim() === '') continue;
        each(line, n);
        if (n % HEARTBEAT_EVERY_LINES === 0) heartbeatIfActivity({ key: Key, line: n });
      }
    } finally {
      // A bad line ends the read early: release the connection instead of leaving the body half read.
      lines.close();
      body.destroy();
    }
  }

  return {
    /**
     * Uploads a local scoring-records file under `<keyPrefix><sha256>/records.jsonl`: the same content is uploaded
     * once (a retry or a later run finds it in place), a changed file gets a new key. A relative path is resolved
     * against PIPELINE_SPEC_DIR (the CLI already makes it absolute against the spec file).
     */
    async uploadEvaluationRecords(raw: UploadEvaluationRecordsInput): Promise<UploadEvaluationRecordsOutput> {
      const input = parseInput(UploadEvaluationRecordsInput, raw, 'uploadEvaluationRecords input');
      const file = path.resolve(deps.specDir ?? process.cwd(), input.localPath);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile())
        throw failure(
          ErrorType.DataSourceInvalid,
          `$.evaluation.input.localPath: ${file} ${info ? 'is not a file' : 'does not exist'}`,
        );
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      const Key = `${input.keyPrefix}${hash.digest('hex')}/records.jsonl`;
      const s3Uri = `s3://${input.bucket}/${Key}`;
      try {
        await s3.send(new HeadObjectCommand({ Bucket: input.bucket, Key }));
        return { s3Uri, uploaded: false };
      } catch (err) {
        if (!isMissingObject(err)) throw toFailure(err, `HeadObject ${s3Uri}`);
      }
      await aws(`PutObject ${s3Uri}`, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key,
            Body: createReadStream(file),
            ContentLength: info.size,
            ContentType: 'application/jsonlines',
          }),
        ),
      );
      return { s3Uri, uploaded: true };
    },

    /**
     * Scores the transform's answers: every non-empty `.out` line must be `{"nll": <finite>, "tokens": <whole >= 1>}`
     * and there must be exactly one per scoring record. Writes the evaluation JSON (the same content on a retry).
     */
    async scoreTransformOutput(raw: ScoreTransformOutputInput): Promise<Evaluation> {
      const input = parseInput(ScoreTransformOutputInput, raw, 'scoreTransformOutput input');
      const inputKeys = await keysUnder(input.inputS3Uri, (k) => !k.endsWith('/'));
      const bucketOf = (uri: string) => s3Prefix(uri).Bucket;
      let expected = 0;
      for (const key of inputKeys) await forEachLine(bucketOf(input.inputS3Uri), key, () => expected++);
      if (expected === 0)
        throw failure(ErrorType.DataSourceInvalid, `no scoring records under ${input.inputS3Uri}`, {
          inputS3Uri: input.inputS3Uri,
        });

      const outputKeys = await keysUnder(input.outputS3Uri, (k) => k.endsWith(TRANSFORM_OUTPUT_SUFFIX));
      let records = 0;
      let tokens = 0;
      let weighted = 0;
      for (const key of outputKeys) {
        await forEachLine(bucketOf(input.outputS3Uri), key, (line, n) => {
          const score = parseScoreLine(line);
          if (typeof score === 'string')
            throw failure(
              ErrorType.EvaluationOutputInvalid,
              `s3://${bucketOf(input.outputS3Uri)}/${key} line ${n}: ${score} (expected {"nll": <finite number>, ` +
                `"tokens": <whole number >= 1>}): ${line.slice(0, 200)}`,
              { key, line: n },
            );
          records++;
          tokens += score.tokens;
          weighted += score.nll * score.tokens;
        });
      }
      if (records !== expected)
        throw failure(
          ErrorType.EvaluationOutputInvalid,
          `transform ${input.transformJobName} answered ${records} line(s) under ${input.outputS3Uri} for ` +
            `${expected} scoring record(s) under ${input.inputS3Uri}`,
          { records, expected },
        );
      const evalNll = weighted / tokens;
      const evaluation: Evaluation = {
        evalNll,
        evalPerplexity: Math.exp(evalNll),
        records,
        tokens,
        trainingJobName: input.trainingJobName,
        transformJobName: input.transformJobName,
        modelDataUrl: input.modelDataUrl,
        inputS3Uri: input.inputS3Uri,
        s3Uri: input.evaluationS3Uri,
      };
      await aws(`PutObject ${input.evaluationS3Uri}`, () =>
        s3.send(
          new PutObjectCommand({
            ...s3Object(input.evaluationS3Uri),
            Body: JSON.stringify(evaluation, null, 2),
            ContentType: 'application/json',
          }),
        ),
      );
      return evaluation;
    },

    /** Deletes the evaluation's Model if it exists and carries our workflow ID tag; a missing one is already gone. */
    async deleteEvaluationModel(raw: DeleteEvaluationModelInput): Promise<DeleteEvaluationModelOutput> {
      const input = parseInput(DeleteEvaluationModelInput, raw, 'deleteEvaluationModel input');
      const name = input.modelName;
      let arn: string;
      try {
        arn = (await aws(`DescribeModel ${name}`, () => sm.send(new DescribeModelCommand({ ModelName: name }))))
          .ModelArn as string;
      } catch (err) {
        if (isNotFound(err)) return { deleted: false };
        throw err;
      }
      await assertOwned(deps, arn, input.workflowId, `Model ${name}`);
      try {
        await aws(`DeleteModel ${name}`, () => sm.send(new DeleteModelCommand({ ModelName: name })));
        return { deleted: true };
      } catch (err) {
        if (isNotFound(err)) return { deleted: false };
        throw err;
      }
    },
  };
}
