/**
 * Transform job conformance: requests SageMaker's API reference documents as refused are refused by the local service
 * with SageMaker's code (ValidationException) and message shape, naming the member (the model gate, plus the
 * documented rule transform-job.payload-limits); a valid request is never refused by validation.
 */
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import type { OperationCases } from './conformance-cases';
import { constraintAt, failure, startConformanceService, conformanceSageMaker } from './conformance-service';

const SM = 'https://docs.aws.amazon.com/sagemaker/latest/APIReference';
const NOT_NULL = /^Member must not be null$/;
const PATTERN = /^Member must satisfy regular expression pattern: /;
const ENUM = /^Member must satisfy enum value set: \[/;
const minValue = (n: number): RegExp => new RegExp(`^Member must have value greater than or equal to ${n}$`);
const maxValue = (n: number): RegExp => new RegExp(`^Member must have value less than or equal to ${n}$`);
const maxLength = (n: number): RegExp => new RegExp(`^Member must have length less than or equal to ${n}$`);

const transform = {
  TransformJobName: 'conf-transform',
  ModelName: 'conf-model',
  TransformInput: {
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://conf/eval/' } },
    ContentType: 'application/jsonlines',
    SplitType: 'Line',
  },
  TransformOutput: { S3OutputPath: 's3://conf/scores', AssembleWith: 'Line' },
  TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
  BatchStrategy: 'MultiRecord',
};
const { TransformJobName: _name, ...unnamed } = transform;

const CASES: OperationCases[] = [
  {
    operation: 'CreateTransformJob',
    doc: `${SM}/API_CreateTransformJob.html`,
    valid: transform,
    refused: [
      {
        what: 'TransformJobName left out (Required: Yes)',
        input: unnamed,
        path: 'transformJobName',
        constraint: NOT_NULL,
      },
      {
        what: 'TransformJobName with an underscore (Pattern)',
        input: { ...transform, TransformJobName: 'a_b' },
        path: 'transformJobName',
        constraint: PATTERN,
      },
      {
        what: 'TransformJobName of 64 characters (Length 1-63)',
        input: { ...transform, TransformJobName: 'a'.repeat(64) },
        path: 'transformJobName',
        constraint: maxLength(63),
      },
      {
        what: 'InstanceCount 0 (Valid Range: Minimum value of 1)',
        input: { ...transform, TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 0 } },
        path: 'transformResources.instanceCount',
        constraint: minValue(1),
      },
      {
        what: 'a SplitType outside None | Line | RecordIO | TFRecord',
        input: { ...transform, TransformInput: { ...transform.TransformInput, SplitType: 'Lines' } },
        path: 'transformInput.splitType',
        constraint: ENUM,
      },
      {
        what: 'InvocationsMaxRetries 4 (Valid Range: 0-3)',
        input: { ...transform, ModelClientConfig: { InvocationsMaxRetries: 4 } },
        path: 'modelClientConfig.invocationsMaxRetries',
        constraint: maxValue(3),
      },
      {
        what: 'InvocationsTimeoutInSeconds 3601 (Valid Range: 1-3600)',
        input: { ...transform, ModelClientConfig: { InvocationsTimeoutInSeconds: 3601 } },
        path: 'modelClientConfig.invocationsTimeoutInSeconds',
        constraint: maxValue(3600),
      },
      {
        what: 'MaxPayloadInMB 101 ("cannot be greater than 100 MB")',
        input: { ...transform, MaxPayloadInMB: 101 },
        path: 'maxPayloadInMB',
        constraint: maxValue(100),
      },
    ],
  },
  {
    operation: 'DescribeTransformJob',
    doc: `${SM}/API_DescribeTransformJob.html`,
    valid: { TransformJobName: 'conf-transform' },
    refused: [{ what: 'TransformJobName left out', input: {}, path: 'transformJobName', constraint: NOT_NULL }],
  },
  {
    operation: 'StopTransformJob',
    doc: `${SM}/API_StopTransformJob.html`,
    valid: { TransformJobName: 'conf-transform' },
    refused: [{ what: 'TransformJobName left out', input: {}, path: 'transformJobName', constraint: NOT_NULL }],
  },
  {
    operation: 'ListTransformJobs',
    doc: `${SM}/API_ListTransformJobs.html`,
    valid: { StatusEquals: 'Completed', SortBy: 'Name', SortOrder: 'Ascending', MaxResults: 5 },
    refused: [
      {
        what: 'MaxResults 101 (Valid Range: 1-100)',
        input: { MaxResults: 101 },
        path: 'maxResults',
        constraint: maxValue(100),
      },
      {
        what: 'StatusEquals outside the enum',
        input: { StatusEquals: 'Done' },
        path: 'statusEquals',
        constraint: ENUM,
      },
    ],
  },
];

let svc: LocalService;
let client: sagemakerSdk.SageMakerClient;

beforeAll(async () => {
  svc = await startConformanceService();
  client = conformanceSageMaker(svc);
});
afterAll(async () => svc?.close());

type Command = new (input: Record<string, unknown>) => Parameters<sagemakerSdk.SageMakerClient['send']>[0];
const send = (operation: string, input: Record<string, unknown>): Promise<unknown> => {
  const Ctor = (sagemakerSdk as unknown as Record<string, Command>)[`${operation}Command`];
  if (!Ctor) throw new Error(`no SDK command for ${operation}`);
  return client.send(new Ctor(input));
};

const refusals = CASES.flatMap((op) => op.refused.map((c) => ({ ...c, operation: op.operation, doc: op.doc })));

test.each(refusals)('$operation refuses $what ($doc)', async ({ operation, input, path, constraint }) => {
  const err = await failure(send(operation, input));
  expect(err?.name).toBe('ValidationException');
  expect({ message: err?.message, quoted: constraintAt(err?.message ?? '', path) }).toEqual({
    message: err?.message,
    quoted: expect.stringMatching(constraint),
  });
});

test.each(CASES)('$operation: a valid request passes validation ($doc)', async ({ operation, valid }) => {
  const err = await failure(send(operation, valid));
  expect(err?.message ?? '').not.toMatch(/validation errors? detected/);
  expect(err?.name).not.toBe('SerializationException');
});

test('CreateTransformJob names the missing model as SageMaker does', async () => {
  const err = await failure(send('CreateTransformJob', transform));
  expect(err).toEqual({
    name: 'ValidationException',
    message: 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/conf-model".',
  });
});
