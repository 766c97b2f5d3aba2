/**
 * Requests judged by AWS's models alone, answered in AWS's words: required members, lengths, ranges, patterns,
 * enums, nested paths (`x.1.member.y`), lists and maps of scalars judged as a whole, sensitive values withheld,
 * wrong JSON types refused like AWS's deserializer, unknown members skipped but reported.
 */
import { validateInput, validateRestInput } from '../../../../local/service/core/aws-models/validate-request';
import type { loadServiceModel } from '../../../../local/service/core/aws-models/botocore-models';
import { javaDouble } from '../../../../local/service/core/aws-models/java-values';

const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const training = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  TrainingJobName: 'job-1',
  RoleArn: ROLE,
  AlgorithmSpecification: { TrainingImage: 'img', TrainingInputMode: 'File' },
  OutputDataConfig: { S3OutputPath: 's3://b/o' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  ...extra,
});

test('a valid request passes', () => {
  const v = validateInput('sagemaker', 'CreateTrainingJob', training());
  expect(v.error).toBeUndefined();
  expect(v.unknownMembers).toEqual([]);
});

test('a missing required member: Value null … Member must not be null', () => {
  const { TrainingJobName: _, ...body } = training();
  expect(validateInput('sagemaker', 'CreateTrainingJob', body).error).toEqual({
    code: 'ValidationException',
    status: 400,
    message:
      "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null",
  });
});

test('pattern and length failures of one member are separate errors, counted', () => {
  const v = validateInput('sagemaker', 'CreateTrainingJob', training({ TrainingJobName: `a_${'b'.repeat(70)}` }));
  expect(v.error?.message).toMatch(/^2 validation errors detected: Value 'a_b+' at 'trainingJobName' failed/);
  expect(v.error?.message).toContain('Member must have length less than or equal to 63; Value');
  expect(v.error?.message).toContain(
    "at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
  );
});

test('nested members and list elements use AWS paths (lowerCamelCase, .N.member.)', () => {
  const v = validateInput(
    'sagemaker',
    'CreateTrainingJob',
    training({
      StoppingCondition: { MaxRuntimeInSeconds: 0 },
      Tags: [{ Key: 'ok', Value: 'v' }, { Value: 'no key' }],
      InputDataConfig: [
        { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'Bogus', S3Uri: 's3://b/t' } } },
      ],
    }),
  );
  const msg = v.error?.message ?? '';
  expect(msg).toMatch(/^3 validation errors detected: /);
  expect(msg).toContain(
    "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1",
  );
  expect(msg).toContain("Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null");
  expect(msg).toContain(
    "Value 'Bogus' at 'inputDataConfig.1.member.dataSource.s3DataSource.s3DataType' failed to satisfy constraint: Member must satisfy enum value set: [ManifestFile, S3Prefix, AugmentedManifestFile, Converse]",
  );
});

test('a map of scalars is judged as a whole, printed as Java prints maps', () => {
  const v = validateInput(
    'sagemaker',
    'CreateTrainingJob',
    training({ HyperParameters: { eta: '0.1', big: 'x'.repeat(2501) } }),
  );
  expect(v.error?.message).toBe(
    `1 validation error detected: Value '{eta=0.1, big=${'x'.repeat(2501)}}' at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 2500, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: .*]`,
  );
  const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
  expect(validateInput('sagemaker', 'CreateTrainingJob', training({ HyperParameters: many })).error?.message).toMatch(
    /at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100$/,
  );
});

test('a list of scalars is judged as a whole: Member must satisfy constraint: […]', () => {
  const v = validateInput('sagemaker', 'DeleteTags', {
    ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/m',
    TagKeys: ['ok', ''],
  });
  expect(v.error?.message).toMatch(
    /^1 validation error detected: Value '\[ok, \]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: \[Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: /,
  );
  expect(validateInput('logs', 'GetLogEvents', { logGroupName: 'g', logStreamName: '' }).error).toEqual({
    code: 'InvalidParameterException',
    status: 400,
    message:
      "1 validation error detected: Value '' at 'logStreamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
  });
});

test('values of the wrong JSON type are refused as AWS JSON deserializes them (SerializationException)', () => {
  expect(validateInput('sagemaker', 'CreateTrainingJob', training({ TrainingJobName: 5 })).error).toMatchObject({
    code: 'SerializationException',
    message: expect.stringContaining('can not be converted to an String'),
  });
  expect(
    validateInput('sagemaker', 'CreateTrainingJob', training({ StoppingCondition: { MaxRuntimeInSeconds: '3600' } }))
      .error,
  ).toMatchObject({ code: 'SerializationException', message: 'STRING_VALUE can not be converted to an Integer' });
  expect(validateInput('sagemaker', 'CreateTrainingJob', training({ Tags: { Key: 'k' } })).error?.message).toBe(
    'Start of structure or map found where not expected.',
  );
});

test('members the model does not define are skipped, as AWS does, and reported', () => {
  const v = validateInput(
    'sagemaker',
    'CreateTrainingJob',
    training({
      Bogus: 1,
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1, Extra: true },
    }),
  );
  expect(v.error).toBeUndefined();
  expect(v.unknownMembers).toEqual(['resourceConfig.extra', 'bogus']);
});

test('CodeBuild answers with its own InvalidInputException', () => {
  const v = validateInput('codebuild', 'StartBuild', {});
  expect(v.error).toEqual({
    code: 'InvalidInputException',
    status: 400,
    message:
      "1 validation error detected: Value null at 'projectName' failed to satisfy constraint: Member must not be null",
  });
});

test('REST JSON: path labels and headers are members; a sensitive payload is never echoed', () => {
  const ok = validateRestInput('sagemaker-runtime', 'InvokeEndpoint', {
    labels: { EndpointName: 'ep-1' },
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{}'),
  });
  expect(ok.error).toBeUndefined();
  const bad = validateRestInput('sagemaker-runtime', 'InvokeEndpoint', {
    labels: { EndpointName: 'bad_name' },
    headers: { 'x-amzn-sagemaker-custom-attributes': 'é' },
    body: Buffer.alloc(6 * 1024 * 1024 + 1),
  });
  expect(bad.error?.code).toBe('ValidationError');
  expect(bad.error?.message).toMatch(/^3 validation errors detected: /);
  expect(bad.error?.message).toContain(
    "Value 'bad_name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
  );
  expect(bad.error?.message).toContain(
    "Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456",
  );
  expect(bad.error?.message).toContain("at 'customAttributes' failed to satisfy constraint");
});

test("doubles print as Java's Double.toString", () => {
  expect([javaDouble(5), javaDouble(0.5), javaDouble(1e-4), javaDouble(12345678.9)]).toEqual([
    '5.0',
    '0.5',
    '1.0E-4',
    '1.23456789E7',
  ]);
});

test('models that are not on disk fail with a message saying where they were looked for', () => {
  jest.isolateModules(() => {
    const saved = process.env.LOCAL_BOTOCORE_DATA;
    process.env.LOCAL_BOTOCORE_DATA = '/nonexistent/botocore/data';
    try {
      // A fresh module: the data directory is resolved once per process.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require('../../../../local/service/core/aws-models/botocore-models') as {
        loadServiceModel: typeof loadServiceModel;
      };
      expect(() => fresh.loadServiceModel('sagemaker')).toThrow(
        'LOCAL_BOTOCORE_DATA=/nonexistent/botocore/data does not exist',
      );
    } finally {
      if (saved === undefined) delete process.env.LOCAL_BOTOCORE_DATA;
      else process.env.LOCAL_BOTOCORE_DATA = saved;
    }
  });
});
