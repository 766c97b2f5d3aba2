import {
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  ListTagsCommand,
  SageMakerClient,
  StopTransformJobCommand,
} from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { createTransformActivities } from '../../../activities/transform';
import type { CreateTransformJobInput, TransformJobSnapshot } from '../../../contracts/evaluate-model';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { activityEnv, awsError, expectFailure, testDeps } from './helpers';

const sm = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const acts = createTransformActivities(testDeps());
const ARN = 'arn:aws:sagemaker:us-east-1:1:transform-job/eval-1';

const input: CreateTransformJobInput = {
  transformJobName: 'eval-1',
  workflowId: 'wf-1/evaluateModel',
  modelName: 'eval-model-1',
  inputS3Uri: 's3://b/pipelines/p/prepared/prep-1/eval/',
  outputS3Uri: 's3://b/pipelines/p/evaluations/eval-1/output/',
  instanceType: 'ml.m5.xlarge',
  instanceCount: 1,
  maxPayloadMb: 6,
  tags: { team: 'lm' },
};

/** The scoring input in the mocked S3: key → content. */
let objects: Record<string, string> = {};
const record = (i: number, size = 20) => JSON.stringify({ score: `r${i} `.padEnd(size, 'x') });

beforeEach(() => {
  sm.reset();
  s3.reset();
  objects = {
    'pipelines/p/prepared/prep-1/eval/records.jsonl': [0, 1, 2, 3, 4].map((i) => record(i)).join('\n') + '\n',
  };
  s3.on(ListObjectsV2Command).callsFake((req: { Prefix: string }) => ({
    Contents: Object.keys(objects)
      .filter((k) => k.startsWith(req.Prefix))
      .map((Key) => ({ Key })),
  }));
  s3.on(GetObjectCommand).callsFake((req: { Key: string }) => ({
    Body: Readable.from([Buffer.from(objects[req.Key] ?? '')]),
  }));
  s3.on(PutObjectCommand).callsFake((req: { Key: string; Body: string }) => {
    objects[req.Key] = req.Body;
    return {};
  });
});

describe('createTransformJob', () => {
  it('scores JSON Lines: split by line, several records a request, one answer line per record', async () => {
    sm.on(CreateTransformJobCommand).resolves({ TransformJobArn: ARN });
    expect(await acts.createTransformJob(input)).toEqual({
      transformJobArn: ARN,
      reattached: false,
      transformInputS3Uri: input.inputS3Uri,
    });
    expect(sm).toHaveReceivedCommandWith(CreateTransformJobCommand, {
      TransformJobName: 'eval-1',
      ModelName: 'eval-model-1',
      BatchStrategy: 'MultiRecord',
      MaxPayloadInMB: 6,
      // Five records of 31 bytes fit one request: 5 x 0.1 s x 2 is under the one-minute floor.
      ModelClientConfig: { InvocationsTimeoutInSeconds: 60, InvocationsMaxRetries: 1 },
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input.inputS3Uri } },
        ContentType: 'application/jsonlines',
        SplitType: 'Line',
        CompressionType: 'None',
      },
      TransformOutput: { S3OutputPath: input.outputS3Uri, Accept: 'application/jsonlines', AssembleWith: 'Line' },
      TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
      Tags: [
        { Key: 'team', Value: 'lm' },
        { Key: WORKFLOW_ID_TAG, Value: 'wf-1/evaluateModel' },
      ],
    });
  });

  it('re-attaches only to a job carrying our workflow ID tag', async () => {
    sm.on(CreateTransformJobCommand).rejects(awsError('ResourceInUse', 400, 'Job name already exists'));
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobArn: ARN, TransformJobStatus: 'InProgress' });
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-1/evaluateModel' }] });
    expect(await acts.createTransformJob(input)).toEqual({
      transformJobArn: ARN,
      reattached: true,
      transformInputS3Uri: input.inputS3Uri,
    });
    sm.on(ListTagsCommand).resolves({ Tags: [] });
    await expectFailure(acts.createTransformJob(input), 'ResourceConflict', true, /missing/);
  });
});

describe('createTransformJob sizing', () => {
  it('splits one input object into one object per instance, so no instance idles billed', async () => {
    sm.on(CreateTransformJobCommand).resolves({ TransformJobArn: ARN });
    const out = await acts.createTransformJob({ ...input, instanceCount: 2 });
    const shards = 's3://b/pipelines/p/evaluations/eval-1/input/';
    expect(out.transformInputS3Uri).toBe(shards);
    expect(objects['pipelines/p/evaluations/eval-1/input/part-00001.jsonl']).toBe(
      [0, 1, 2].map((i) => record(i)).join('\n') + '\n',
    );
    expect(objects['pipelines/p/evaluations/eval-1/input/part-00002.jsonl']).toBe(
      [3, 4].map((i) => record(i)).join('\n') + '\n',
    );
    expect(sm).toHaveReceivedCommandWith(CreateTransformJobCommand, {
      TransformInput: expect.objectContaining({
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: shards } },
      }),
      TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 2 },
    });
  });

  it('refuses more instances than records, naming the field', async () => {
    await expectFailure(
      acts.createTransformJob({ ...input, instanceCount: 8 }),
      'SpecInvalid',
      true,
      /evaluation\.instanceCount is 8 but .* holds 5 scoring record/,
    );
    expect(sm).not.toHaveReceivedCommand(CreateTransformJobCommand);
  });

  it('sizes the invocation timeout to the records a request holds, and shrinks the payload past 3600 s', async () => {
    sm.on(CreateTransformJobCommand).resolves({ TransformJobArn: ARN });
    // 20,000 records of 1,023 bytes: 6 MB holds 6,150 of them; at 0.4 s each, with 2x headroom, 4,920 s: past
    // 3600 s. 4 MB (4,100 records, 3,280 s) fits.
    objects = {
      'pipelines/p/prepared/prep-1/eval/records.jsonl':
        Array.from({ length: 20_000 }, (_, i) => record(i, 1010)).join('\n') + '\n',
    };
    await acts.createTransformJob({ ...input, secondsPerRecord: 0.4 });
    const req = sm.commandCalls(CreateTransformJobCommand)[0]?.args[0].input;
    expect(req?.MaxPayloadInMB).toBe(4);
    expect(req?.ModelClientConfig).toEqual({ InvocationsTimeoutInSeconds: 3280, InvocationsMaxRetries: 1 });
    // Slower than even 1 MB allows: refused, naming the fields.
    await expectFailure(
      acts.createTransformJob({ ...input, secondsPerRecord: 5 }),
      'SpecInvalid',
      true,
      /evaluation\.secondsPerRecord 5 s/,
    );
  });

  it('refuses a payload above what the serving container takes', async () => {
    await expectFailure(acts.createTransformJob({ ...input, maxPayloadMb: 10 }), 'SpecInvalid', true, /maxPayloadMb/);
  });
});

describe('waitForTransformJob', () => {
  it('returns the first state at once, and a later one only when it changes', async () => {
    sm.on(DescribeTransformJobCommand)
      .resolvesOnce({ TransformJobName: 'eval-1', TransformJobStatus: 'InProgress' })
      .resolvesOnce({ TransformJobName: 'eval-1', TransformJobStatus: 'InProgress' })
      .resolves({ TransformJobName: 'eval-1', TransformJobStatus: 'Failed', FailureReason: 'ClientError: 400' });
    const wait = (last: { status: string } | null) =>
      activityEnv().run(acts.waitForTransformJob, {
        transformJobName: 'eval-1',
        last,
        pollIntervalSeconds: 60,
      }) as Promise<TransformJobSnapshot>;
    expect(await wait(null)).toEqual({ transformJobName: 'eval-1', status: 'InProgress' });
    expect(await wait({ status: 'InProgress' })).toEqual({
      transformJobName: 'eval-1',
      status: 'Failed',
      failureReason: 'ClientError: 400',
    });
    expect(sm.commandCalls(DescribeTransformJobCommand)).toHaveLength(3);
  });
});

describe('stopTransformJob', () => {
  it('stops a running job and counts a Stopping one as stopped', async () => {
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobStatus: 'InProgress' });
    sm.on(StopTransformJobCommand).resolves({});
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm).toHaveReceivedCommandWith(StopTransformJobCommand, { TransformJobName: 'eval-1' });
    sm.reset();
    sm.on(DescribeTransformJobCommand).resolves({ TransformJobStatus: 'Stopping' });
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({ stopped: true, status: 'Stopping' });
    expect(sm.commandCalls(StopTransformJobCommand)).toHaveLength(0);
  });

  it('treats a job that completed between Describe and Stop as not stopped', async () => {
    sm.on(DescribeTransformJobCommand)
      .resolvesOnce({ TransformJobStatus: 'InProgress' })
      .resolves({ TransformJobStatus: 'Completed' });
    sm.on(StopTransformJobCommand).rejects(awsError('ValidationException', 400, 'job is not in progress'));
    expect(await acts.stopTransformJob({ transformJobName: 'eval-1' })).toEqual({
      stopped: false,
      status: 'Completed',
    });
  });
});
