/**
 * Processing conformance: requests SageMaker's API reference documents as refused (CreateProcessingJob,
 * DescribeProcessingJob, StopProcessingJob, ListProcessingJobs) are refused by the local service with SageMaker's
 * code (ValidationException) and message shape, naming the member; a valid request is never refused by validation;
 * and the documented rules the model cannot express (LocalPath under /opt/ml/processing/, unique names) are refused
 * before anything is created.
 */
import * as sagemakerSdk from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import { constraintAt, failure, startConformanceService, conformanceSageMaker } from './conformance-service';
import type { OperationCases } from './conformance-cases';

const SM = 'https://docs.aws.amazon.com/sagemaker/latest/APIReference';
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'0'.repeat(64)}`;
const NOT_NULL = /^Member must not be null$/;
const ENUM = /^Member must satisfy enum value set: \[/;
const PATTERN = /^Member must satisfy regular expression pattern: /;
const minValue = (n: number): RegExp => new RegExp(`^Member must have value greater than or equal to ${n}$`);
const maxValue = (n: number): RegExp => new RegExp(`^Member must have value less than or equal to ${n}$`);
const maxLength = (n: number): RegExp => new RegExp(`^Member must have length less than or equal to ${n}$`);

const input = {
  InputName: 'raw',
  S3Input: {
    S3Uri: 's3://conf/raw',
    LocalPath: '/opt/ml/processing/input/raw',
    S3DataType: 'S3Prefix',
    S3InputMode: 'File',
  },
};
const output = {
  OutputName: 'train',
  S3Output: { S3Uri: 's3://conf/out/train', LocalPath: '/opt/ml/processing/output/train', S3UploadMode: 'EndOfJob' },
};
const job = {
  ProcessingJobName: 'conf-processing',
  RoleArn: ROLE,
  AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['prepare'] },
  ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 } },
  ProcessingInputs: [input],
  ProcessingOutputConfig: { Outputs: [output] },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
};
const cluster = (c: Record<string, unknown>) => ({ ...job, ProcessingResources: { ClusterConfig: c } });

const CASES: OperationCases[] = [
  {
    operation: 'CreateProcessingJob',
    doc: `${SM}/API_CreateProcessingJob.html`,
    valid: job,
    refused: [
      {
        what: 'no AppSpecification',
        input: { ...job, AppSpecification: undefined },
        path: 'appSpecification',
        constraint: NOT_NULL,
      },
      {
        what: 'a job name with a space',
        input: { ...job, ProcessingJobName: 'bad name' },
        path: 'processingJobName',
        constraint: PATTERN,
      },
      {
        what: 'InstanceCount 0',
        input: cluster({ InstanceCount: 0, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 }),
        path: 'processingResources.clusterConfig.instanceCount',
        constraint: minValue(1),
      },
      {
        what: 'MaxRuntimeInSeconds over 777,600 (API_ProcessingStoppingCondition)',
        input: { ...job, StoppingCondition: { MaxRuntimeInSeconds: 777_601 } },
        path: 'stoppingCondition.maxRuntimeInSeconds',
        constraint: maxValue(777_600),
      },
      {
        what: 'an S3UploadMode outside Continuous/EndOfJob',
        input: {
          ...job,
          ProcessingOutputConfig: { Outputs: [{ ...output, S3Output: { ...output.S3Output, S3UploadMode: 'Later' } }] },
        },
        path: 'processingOutputConfig.outputs.1.member.s3Output.s3UploadMode',
        constraint: ENUM,
      },
      {
        what: 'more than 10 inputs',
        input: {
          ...job,
          ProcessingInputs: Array.from({ length: 11 }, (_, i) => ({
            InputName: `in${i}`,
            S3Input: { ...input.S3Input, LocalPath: `/opt/ml/processing/in${i}` },
          })),
        },
        path: 'processingInputs',
        constraint: maxLength(10),
      },
      {
        what: 'a LocalPath outside /opt/ml/processing/ (API_ProcessingS3Input)',
        input: { ...job, ProcessingInputs: [{ ...input, S3Input: { ...input.S3Input, LocalPath: '/data/raw' } }] },
        path: 'processingInputs.1.member.s3Input.localPath',
        constraint: /^LocalPath must be an absolute path that begins with \/opt\/ml\/processing\/$/,
      },
      {
        what: 'an output LocalPath that climbs out of /opt/ml/processing/',
        input: {
          ...job,
          ProcessingOutputConfig: {
            Outputs: [{ ...output, S3Output: { ...output.S3Output, LocalPath: '/opt/ml/processing/../model' } }],
          },
        },
        path: 'processingOutputConfig.outputs.1.member.s3Output.localPath',
        constraint: /begins with \/opt\/ml\/processing\//,
      },
    ],
  },
  {
    operation: 'DescribeProcessingJob',
    doc: `${SM}/API_DescribeProcessingJob.html`,
    valid: { ProcessingJobName: 'conf-missing' },
    refused: [{ what: 'no job name', input: {}, path: 'processingJobName', constraint: NOT_NULL }],
  },
  {
    operation: 'StopProcessingJob',
    doc: `${SM}/API_StopProcessingJob.html`,
    valid: { ProcessingJobName: 'conf-missing' },
    refused: [
      {
        what: 'a name over 63 characters',
        input: { ProcessingJobName: 'x'.repeat(64) },
        path: 'processingJobName',
        constraint: maxLength(63),
      },
    ],
  },
  {
    operation: 'ListProcessingJobs',
    doc: `${SM}/API_ListProcessingJobs.html`,
    valid: { SortBy: 'Status', SortOrder: 'Descending', MaxResults: 5 },
    refused: [
      { what: 'an unknown SortBy', input: { SortBy: 'Size' }, path: 'sortBy', constraint: ENUM },
      { what: 'an unknown StatusEquals', input: { StatusEquals: 'Done' }, path: 'statusEquals', constraint: ENUM },
      { what: 'MaxResults 0', input: { MaxResults: 0 }, path: 'maxResults', constraint: minValue(1) },
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
const send = (operation: string, body: Record<string, unknown>): Promise<unknown> => {
  const Ctor = (sagemakerSdk as unknown as Record<string, Command>)[`${operation}Command`];
  if (!Ctor) throw new Error(`no SDK command for ${operation}`);
  return client.send(new Ctor(body));
};

const refusals = CASES.flatMap((op) => op.refused.map((c) => ({ ...c, operation: op.operation, doc: op.doc })));

test.each(refusals)('$operation refuses $what ($doc)', async ({ operation, input: body, path, constraint }) => {
  const err = await failure(send(operation, body));
  expect(err?.name).toBe('ValidationException');
  expect(constraintAt(err?.message ?? '', path)).toEqual(expect.stringMatching(constraint));
});

test.each(CASES)('$operation: a valid request passes validation ($doc)', async ({ operation, valid }) => {
  const err = await failure(send(operation, valid));
  expect(err?.message ?? '').not.toMatch(/validation errors? detected/);
  expect(err?.name).not.toBe('SerializationException');
});

test('duplicate input names are refused, and the refused job is not created', async () => {
  const dup = { ...job, ProcessingJobName: 'conf-dup', ProcessingInputs: [input, { ...input }] };
  const err = await failure(send('CreateProcessingJob', dup));
  expect(err).toEqual({
    name: 'ValidationException',
    message: "ProcessingInputs must have unique InputName values: 'raw' repeats.",
  });
  expect(await failure(send('DescribeProcessingJob', { ProcessingJobName: 'conf-dup' }))).toEqual({
    name: 'ValidationException',
    message: 'Could not find requested job with name conf-dup',
  });
});

test('what local mode does not serve is refused by name', async () => {
  const pipe = { ...job, ProcessingInputs: [{ ...input, S3Input: { ...input.S3Input, S3InputMode: 'Pipe' } }] };
  expect(await failure(send('CreateProcessingJob', pipe))).toEqual({
    name: 'ValidationException',
    message:
      "The local SageMaker service does not serve Pipe mode inputs: local mode downloads inputs ('File') (at 'processingInputs.1.member.s3Input.s3InputMode').",
  });
  const dataset = {
    ...job,
    ProcessingInputs: [{ InputName: 'q', DatasetDefinition: { LocalPath: '/opt/ml/processing/q' } }],
  };
  expect((await failure(send('CreateProcessingJob', dataset)))?.message).toMatch(/does not serve DatasetDefinition/);
});
