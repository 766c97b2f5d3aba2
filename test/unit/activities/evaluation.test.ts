import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeleteModelCommand, DescribeModelCommand, ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createEvaluationActivities } from '../../../activities/evaluation';
import type { ScoreTransformOutputInput } from '../../../contracts/evaluate-model';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { awsError, expectFailure, testDeps } from './helpers';

const s3 = mockClient(S3Client);
const sm = mockClient(SageMakerClient);
const acts = createEvaluationActivities(testDeps());

const input: ScoreTransformOutputInput = {
  inputS3Uri: 's3://b/prepared/eval/',
  outputS3Uri: 's3://b/evaluations/eval-1/output/',
  evaluationS3Uri: 's3://b/evaluations/eval-1/evaluation.json',
  trainingJobName: 'train-1',
  transformJobName: 'eval-1',
  modelDataUrl: 's3://b/models/train-1/output/model.tar.gz',
};

/** Serves `objects` (key -> text) from the two prefixes, as S3 lists and streams them. */
function serve(objects: Record<string, string>) {
  s3.on(ListObjectsV2Command).callsFake((req: { Prefix: string }) => ({
    Contents: Object.keys(objects)
      .filter((k) => k.startsWith(req.Prefix))
      .sort()
      .map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3.on(GetObjectCommand).callsFake((req: { Key: string }) => ({
    Body: Readable.from([Buffer.from(objects[req.Key] ?? '')]),
  }));
  s3.on(PutObjectCommand).resolves({});
}

const records = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ score: `text ${i}` })).join('\n');

beforeEach(() => {
  s3.reset();
  sm.reset();
});

describe('scoreTransformOutput', () => {
  it('computes the token-weighted mean nll and perplexity and writes the evaluation', async () => {
    serve({
      'prepared/eval/records.jsonl': records(3) + '\n',
      'evaluations/eval-1/output/records.jsonl.out':
        '{"nll": 2.0, "tokens": 10}\n{"nll": 1.0, "tokens": 30}\n{"nll": 4.0, "tokens": 10}\n',
    });
    const got = await acts.scoreTransformOutput(input);
    // (2*10 + 1*30 + 4*10) / 50 = 1.8
    expect(got.evalNll).toBeCloseTo(1.8, 12);
    expect(got.evalPerplexity).toBeCloseTo(Math.exp(1.8), 12);
    expect(got).toMatchObject({ records: 3, tokens: 50, s3Uri: input.evaluationS3Uri, trainingJobName: 'train-1' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'b',
      Key: 'evaluations/eval-1/evaluation.json',
      ContentType: 'application/json',
    });
    const written = s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body as string;
    expect(JSON.parse(written)).toEqual(got);
  });

  it.each([
    ['a non-finite nll', '{"nll": NaN, "tokens": 3}', /line 2: a non-finite number/],
    ['a missing nll', '{"tokens": 3}', /line 2: "nll" is missing/],
    ['fractional tokens', '{"nll": 1.5, "tokens": 2.5}', /line 2: "tokens" is 2.5/],
    ['zero tokens', '{"nll": 1.5, "tokens": 0}', /line 2: "tokens" is 0/],
    ['a generation answer', '{"generated_text": "hello"}', /line 2: "nll" is missing/],
  ])('fails with EvaluationOutputInvalid on %s, naming the object and line', async (_what, bad, message) => {
    serve({
      'prepared/eval/records.jsonl': records(3),
      'evaluations/eval-1/output/records.jsonl.out': `{"nll": 2.0, "tokens": 10}\n${bad}\n{"nll": 1.0, "tokens": 1}\n`,
    });
    const failure = await expectFailure(acts.scoreTransformOutput(input), 'EvaluationOutputInvalid', true, message);
    expect(failure.message).toContain('s3://b/evaluations/eval-1/output/records.jsonl.out');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('fails when the transform answered fewer lines than there are records', async () => {
    serve({
      'prepared/eval/records.jsonl': records(3),
      'evaluations/eval-1/output/records.jsonl.out': '{"nll": 2.0, "tokens": 10}\n',
    });
    await expectFailure(acts.scoreTransformOutput(input), 'EvaluationOutputInvalid', true, /1 line\(s\).*3 scoring/);
  });

  it('fails with DataSourceInvalid when there are no scoring records', async () => {
    serve({ 'evaluations/eval-1/output/x.out': '' });
    await expectFailure(acts.scoreTransformOutput(input), 'DataSourceInvalid', true, /no scoring records/);
  });
});

describe('deleteEvaluationModel', () => {
  const MODEL_ARN = 'arn:aws:sagemaker:us-east-1:1:model/eval-model-1';

  it('deletes the model our workflow created', async () => {
    sm.on(DescribeModelCommand).resolves({ ModelArn: MODEL_ARN });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/evaluateModel' }] });
    sm.on(DeleteModelCommand).resolves({});
    expect(await acts.deleteEvaluationModel({ modelName: 'eval-model-1', workflowId: 'wf-1/evaluateModel' })).toEqual({
      deleted: true,
    });
    expect(sm).toHaveReceivedCommandWith(DeleteModelCommand, { ModelName: 'eval-model-1' });
  });

  it("is done when the model is already gone, and never deletes another workflow's model", async () => {
    sm.on(DescribeModelCommand).rejects(awsError('ValidationException', 400, 'Could not find model'));
    expect(await acts.deleteEvaluationModel({ modelName: 'eval-model-1', workflowId: 'wf-1/evaluateModel' })).toEqual({
      deleted: false,
    });
    sm.reset();
    sm.on(DescribeModelCommand).resolves({ ModelArn: MODEL_ARN });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'other' }] });
    await expectFailure(
      acts.deleteEvaluationModel({ modelName: 'eval-model-1', workflowId: 'wf-1/evaluateModel' }),
      'ResourceConflict',
      true,
    );
    expect(sm.commandCalls(DeleteModelCommand)).toHaveLength(0);
  });
});

describe('uploadEvaluationRecords', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-records-'));
  const file = join(dir, 'records.jsonl');
  writeFileSync(file, records(2));
  // sha256 of the two records above: the key changes with the content, and only with it.
  const upload = { localPath: file, bucket: 'b', keyPrefix: 'pipelines/p/evaluation-records/' };

  it('uploads a local file under its content hash once', async () => {
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});
    const first = await acts.uploadEvaluationRecords(upload);
    expect(first.uploaded).toBe(true);
    expect(first.s3Uri).toMatch(/^s3:\/\/b\/pipelines\/p\/evaluation-records\/[a-f0-9]{64}\/records\.jsonl$/);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'b', ContentType: 'application/jsonlines' });
    s3.reset();
    s3.on(HeadObjectCommand).resolves({});
    expect(await acts.uploadEvaluationRecords(upload)).toEqual({ s3Uri: first.s3Uri, uploaded: false });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('names the field when the file does not exist', async () => {
    await expectFailure(
      acts.uploadEvaluationRecords({ ...upload, localPath: join(dir, 'nope.jsonl') }),
      'DataSourceInvalid',
      true,
      /\$\.evaluation\.input\.localPath: .*nope\.jsonl does not exist/,
    );
  });
});
