import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AddTagsCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createRegistryActivities,
  META,
  metadataValue,
  modelPackageClientToken,
  versionFromArn,
} from '../../../activities/registry';
import { stableHash } from '../../../contracts/names';
import {
  type ChampionCandidate,
  type CreateModelPackageInput,
  decideApproval,
  pickChampion,
} from '../../../contracts/register-model';
import { awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const sm = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const acts = createRegistryActivities(testDeps());
const GROUP = 'jax-lm';
const GROUP_ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${GROUP}`;
const pkgArn = (v: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${v}`;
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + 'b'.repeat(64);

beforeEach(() => {
  sm.reset();
  s3.reset();
});

describe('pickChampion', () => {
  const c = (source: 'training' | 'tuning', v: number | null): ChampionCandidate => ({
    source,
    trainingJobName: source,
    modelArtifactS3Uri: `s3://b/${source}`,
    objectiveValue: v,
    hyperparameters: {},
  });
  it('takes the best objective in the objective’s direction', () => {
    expect(pickChampion([c('training', 2), c('tuning', 1.5)], 'Minimize')?.source).toBe('tuning');
    expect(pickChampion([c('training', 2), c('tuning', 1.5)], 'Maximize')?.source).toBe('training');
  });
  it('keeps the first on a tie, skips missing objectives, and is null when none has one', () => {
    expect(pickChampion([c('training', 1), c('tuning', 1)], 'Minimize')?.source).toBe('training');
    expect(pickChampion([c('training', null), c('tuning', 3)], 'Minimize')?.source).toBe('tuning');
    expect(pickChampion([c('training', null)], 'Minimize')).toBeNull();
  });
});

describe('decideApproval', () => {
  const objective = { metricName: 'val_loss', type: 'Minimize' as const };
  it('auto-approves a champion that beats the approved version by the margin', () => {
    expect(decideApproval({ policy: 'auto', margin: 0.1 }, objective, 1.7, 1.9).status).toBe('Approved');
    expect(decideApproval({ policy: 'auto', margin: 0.1 }, objective, 1.85, 1.9).status).toBe('PendingManualApproval');
    expect(decideApproval({ policy: 'auto', margin: 0 }, objective, 1.9, 1.9).status).toBe('PendingManualApproval');
    expect(decideApproval({ policy: 'auto', margin: 1 }, { ...objective, type: 'Maximize' }, 0.9, 0.1).status).toBe(
      'PendingManualApproval',
    );
  });
  it('approves a first version only when the spec says so; manual always waits', () => {
    expect(decideApproval({ policy: 'auto' }, objective, 2, null).status).toBe('Approved');
    expect(decideApproval({ policy: 'auto', approveFirstVersion: false }, objective, 2, null).status).toBe(
      'PendingManualApproval',
    );
    expect(decideApproval({ policy: 'manual' }, objective, 0.1, 9).status).toBe('PendingManualApproval');
  });
});

describe('ensureModelPackageGroup', () => {
  it('creates the group when it is missing', async () => {
    sm.on(DescribeModelPackageGroupCommand).rejects(
      awsError('ValidationException', 400, `ModelPackageGroup ${GROUP} does not exist.`),
    );
    sm.on(CreateModelPackageGroupCommand).resolves({ ModelPackageGroupArn: GROUP_ARN });
    await expect(acts.ensureModelPackageGroup({ modelPackageGroupName: GROUP, tags: { team: 'lm' } })).resolves.toEqual(
      { modelPackageGroupArn: GROUP_ARN, created: true },
    );
    expect(sm).toHaveReceivedCommandWith(CreateModelPackageGroupCommand, {
      ModelPackageGroupName: GROUP,
      Tags: [{ Key: 'team', Value: 'lm' }],
    });
  });
  it('keeps an existing group, including one created concurrently', async () => {
    sm.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupArn: GROUP_ARN });
    await expect(acts.ensureModelPackageGroup({ modelPackageGroupName: GROUP })).resolves.toEqual({
      modelPackageGroupArn: GROUP_ARN,
      created: false,
    });
    sm.reset();
    sm.on(DescribeModelPackageGroupCommand)
      .rejectsOnce(awsError('ValidationException', 400, 'does not exist'))
      .resolves({ ModelPackageGroupArn: GROUP_ARN });
    sm.on(CreateModelPackageGroupCommand).rejects(
      awsError('ValidationException', 400, 'Model Package Group already exists'),
    );
    await expect(acts.ensureModelPackageGroup({ modelPackageGroupName: GROUP })).resolves.toEqual({
      modelPackageGroupArn: GROUP_ARN,
      created: false,
    });
  });
});

describe('findApprovedModelPackage', () => {
  it('reads the latest approved version’s objective from its metadata', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: pkgArn(3), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
      ],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: pkgArn(3),
      ModelPackageVersion: 3,
      CustomerMetadataProperties: { [META.objectiveMetric]: 'val_loss', [META.objectiveValue]: '1.75' },
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: 's3://b/m3.tar.gz' }] },
    });
    await expect(
      acts.findApprovedModelPackage({ modelPackageGroupName: GROUP, objectiveMetric: 'val_loss' }),
    ).resolves.toEqual({
      modelPackageArn: pkgArn(3),
      modelPackageVersion: 3,
      objectiveValue: 1.75,
      modelDataUrl: 's3://b/m3.tar.gz',
    });
    expect(sm).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      ModelPackageGroupName: GROUP,
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 1,
    });
  });

  it('reads the recorded eval_nll with the objective, for the champion rule', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: pkgArn(3), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
      ],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: pkgArn(3),
      ModelPackageVersion: 3,
      CustomerMetadataProperties: {
        [META.objectiveMetric]: 'val_loss',
        [META.objectiveValue]: '1.75',
        [META.evalNll]: '2.125',
      },
    });
    await expect(
      acts.findApprovedModelPackage({ modelPackageGroupName: GROUP, objectiveMetric: 'val_loss' }),
    ).resolves.toMatchObject({ objectiveValue: 1.75, evalNll: 2.125 });
  });

  it('falls back to the ModelMetrics statistics document', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: pkgArn(2), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
      ],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: pkgArn(2),
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://b/metrics/2.json' } },
      },
    });
    const body = {
      transformToString: () => Promise.resolve(JSON.stringify({ metrics: { val_loss: { value: 2.5 } } })),
    };
    s3.on(GetObjectCommand).resolves({ Body: body as never });
    const found = await acts.findApprovedModelPackage({ modelPackageGroupName: GROUP, objectiveMetric: 'val_loss' });
    expect(found?.objectiveValue).toBe(2.5);
    expect(found?.modelPackageVersion).toBe(2);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'b', Key: 'metrics/2.json' });
  });

  it('is null for a group without an approved version', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    await expect(
      acts.findApprovedModelPackage({ modelPackageGroupName: GROUP, objectiveMetric: 'val_loss' }),
    ).resolves.toBeNull();
  });
});

describe('createModelPackage', () => {
  const input: CreateModelPackageInput = {
    modelPackageGroupName: GROUP,
    workflowId: 'pipelines/jax-lm#42',
    imageUri: IMAGE,
    modelDataUrl: 's3://b/out/model.tar.gz',
    contentTypes: ['application/json'],
    inferenceInstanceTypes: ['ml.g5.2xlarge'],
    approvalStatus: 'Approved',
    approvalDescription: 'auto-approved',
    objective: { metricName: 'val_loss', type: 'Minimize', value: 1.5 },
    metrics: { val_loss: 1.5, train_loss: 1.2 },
    metricsS3Uri: 's3://b/registry/run-42/metrics.json',
    hyperparameters: { learning_rate: '0.003', config: '{"layers": 6}' },
    dataUris: { train: 's3://b/data/train' },
    trainingJobName: 'tj-7',
  };

  it('registers one version with lineage metadata, metrics and an idempotency token', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: pkgArn(4), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
      ],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: pkgArn(4),
      CustomerMetadataProperties: { [META.workflowIdHash]: 'another-run' },
    });
    sm.on(CreateModelPackageCommand).resolves({ ModelPackageArn: pkgArn(5) });
    s3.on(PutObjectCommand).resolves({});
    await expect(acts.createModelPackage(input)).resolves.toEqual({
      modelPackageArn: pkgArn(5),
      modelPackageVersion: 5,
      approvalStatus: 'Approved',
      reattached: false,
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'b',
      Key: 'registry/run-42/metrics.json',
      ContentType: 'application/json',
    });
    expect(sm).toHaveReceivedCommandWith(CreateModelPackageCommand, {
      ModelPackageGroupName: GROUP,
      ModelApprovalStatus: 'Approved',
      ClientToken: modelPackageClientToken(input.workflowId),
      InferenceSpecification: {
        Containers: [
          { Image: IMAGE, ImageDigest: 'sha256:' + 'b'.repeat(64), ModelDataUrl: 's3://b/out/model.tar.gz' },
        ],
        SupportedContentTypes: ['application/json'],
        SupportedResponseMIMETypes: ['application/json'],
        SupportedRealtimeInferenceInstanceTypes: ['ml.g5.2xlarge'],
      },
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://b/registry/run-42/metrics.json' } },
      },
    });
    // A version uses its group's tags: SageMaker refuses Tags beside ModelPackageGroupName.
    expect(sm.commandCalls(CreateModelPackageCommand)[0]!.args[0].input.Tags).toBeUndefined();
    const meta = sm.commandCalls(CreateModelPackageCommand)[0]!.args[0].input.CustomerMetadataProperties!;
    expect(meta).toMatchObject({
      [META.workflowId]: 'pipelines/jax-lm_42',
      [META.workflowIdHash]: stableHash(input.workflowId),
      [META.imageDigest]: 'sha256:' + 'b'.repeat(64),
      [META.objectiveValue]: '1.5',
      'pipeline:data:train': 's3://b/data/train',
      'metric:val_loss': '1.5',
      'hp:learning_rate': '0.003',
      'hp:config': '__layers_: 6_',
    });
    expect(modelPackageClientToken(input.workflowId)).toMatch(/^[a-zA-Z0-9-]{1,36}$/);
  });

  it('records the evaluation: eval_nll as a fixed metadata entry, the whole evaluation in the statistics', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    sm.on(CreateModelPackageCommand).resolves({ ModelPackageArn: pkgArn(5) });
    s3.on(PutObjectCommand).resolves({});
    const evaluation = {
      evalNll: 2.25,
      evalPerplexity: Math.exp(2.25),
      records: 100,
      tokens: 4000,
      trainingJobName: 'tj-7',
      transformJobName: 'eval-7',
      modelDataUrl: 's3://b/out/model.tar.gz',
      inputS3Uri: 's3://b/eval/',
      s3Uri: 's3://b/evaluations/eval-7/evaluation.json',
    };
    // 60 hyperparameters: more optional entries than fit, so eval_nll must not be among those left out.
    const hyperparameters = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`hp${i}`, String(i)]));
    await acts.createModelPackage({ ...input, hyperparameters, evaluation });
    const call = sm.commandCalls(CreateModelPackageCommand)[0]!.args[0].input;
    expect(Object.keys(call.CustomerMetadataProperties!)).toHaveLength(50);
    expect(call.CustomerMetadataProperties![META.evalNll]).toBe('2.25');
    expect(call.ModelMetrics).toEqual({
      ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: input.metricsS3Uri } },
    });
    const doc = JSON.parse(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as string);
    expect(doc.evaluation).toEqual(evaluation);
  });

  it('re-attaches to the version this workflow already registered instead of creating a second one', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: pkgArn(6), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
        { ModelPackageArn: pkgArn(5), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
      ],
    });
    sm.on(DescribeModelPackageCommand, { ModelPackageName: pkgArn(6) }).resolves({
      ModelPackageArn: pkgArn(6),
      CustomerMetadataProperties: {},
    });
    sm.on(DescribeModelPackageCommand, { ModelPackageName: pkgArn(5) }).resolves({
      ModelPackageArn: pkgArn(5),
      ModelPackageVersion: 5,
      ModelApprovalStatus: 'PendingManualApproval',
      CustomerMetadataProperties: { [META.workflowIdHash]: stableHash(input.workflowId) },
    });
    await expect(acts.createModelPackage(input)).resolves.toEqual({
      modelPackageArn: pkgArn(5),
      modelPackageVersion: 5,
      approvalStatus: 'PendingManualApproval',
      reattached: true,
    });
    expect(sm).not.toHaveReceivedCommand(CreateModelPackageCommand);
  });

  describe('SageMaker refuses tags on a model package version', () => {
    // What SageMaker answers AddTags on a versioned ARN (aws/aws-cdk#33699).
    const versionTagsRefused = () =>
      awsError(
        'ValidationException',
        400,
        'Tags are not supported in Model Package versions. Please add them to the Model Package Group',
      );
    beforeEach(() => {
      sm.on(AddTagsCommand).rejects(versionTagsRefused());
      s3.on(PutObjectCommand).resolves({});
    });

    it('a new version is registered without tagging it; its owner is in its metadata', async () => {
      sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
      sm.on(CreateModelPackageCommand).resolves({ ModelPackageArn: pkgArn(5) });
      await expect(acts.createModelPackage({ ...input, tags: { team: 'lm' } })).resolves.toMatchObject({
        modelPackageArn: pkgArn(5),
        reattached: false,
      });
      expect(sm).not.toHaveReceivedCommand(AddTagsCommand);
      const call = sm.commandCalls(CreateModelPackageCommand)[0]!.args[0].input;
      expect(call.Tags).toBeUndefined();
      expect(call.CustomerMetadataProperties).toMatchObject({
        [META.workflowId]: 'pipelines/jax-lm_42',
        [META.workflowIdHash]: stableHash(input.workflowId),
      });
    });

    it('a retry re-attaches to its version without tagging it', async () => {
      sm.on(ListModelPackagesCommand).resolves({
        ModelPackageSummaryList: [
          { ModelPackageArn: pkgArn(5), CreationTime: new Date(0), ModelPackageStatus: 'Completed' },
        ],
      });
      sm.on(DescribeModelPackageCommand).resolves({
        ModelPackageArn: pkgArn(5),
        ModelPackageVersion: 5,
        ModelApprovalStatus: 'Approved',
        CustomerMetadataProperties: { [META.workflowIdHash]: stableHash(input.workflowId) },
      });
      await expect(acts.createModelPackage(input)).resolves.toMatchObject({
        modelPackageArn: pkgArn(5),
        reattached: true,
      });
      expect(sm).not.toHaveReceivedCommand(AddTagsCommand);
      expect(sm).not.toHaveReceivedCommand(CreateModelPackageCommand);
    });
  });

  it('throttling is retryable, validation is not', async () => {
    sm.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    s3.on(PutObjectCommand).resolves({});
    sm.on(CreateModelPackageCommand).rejectsOnce(throttled()).rejectsOnce(invalid());
    await expectFailure(acts.createModelPackage(input), 'AwsTransient', false);
    await expectFailure(acts.createModelPackage(input), 'AwsValidation', true, /CreateModelPackage jax-lm/);
  });
});

describe('updateModelPackageApproval', () => {
  it('writes the decision naming the reviewer, once', async () => {
    sm.on(DescribeModelPackageCommand).resolvesOnce({
      ModelPackageArn: pkgArn(5),
      ModelApprovalStatus: 'PendingManualApproval',
    });
    sm.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: pkgArn(5) });
    const decision = {
      modelPackageArn: pkgArn(5),
      status: 'Approved' as const,
      reviewer: 'ada',
      reason: 'eval looks good',
    };
    await expect(acts.updateModelPackageApproval(decision)).resolves.toEqual({
      modelPackageArn: pkgArn(5),
      approvalStatus: 'Approved',
      changed: true,
    });
    expect(sm).toHaveReceivedCommandWith(UpdateModelPackageCommand, {
      ModelPackageArn: pkgArn(5),
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'Approved by ada: eval looks good',
    });

    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: pkgArn(5),
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'Approved by ada: eval looks good',
    });
    await expect(acts.updateModelPackageApproval(decision)).resolves.toMatchObject({ changed: false });
    expect(sm).toHaveReceivedCommandTimes(UpdateModelPackageCommand, 1);
  });

  it("writes a reason the pipeline composed with line breaks on one line (ApprovalDescription's `.*` refuses them)", async () => {
    sm.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: pkgArn(6), ModelApprovalStatus: 'Approved' });
    sm.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: pkgArn(6) });
    await acts.updateModelPackageApproval({
      modelPackageArn: pkgArn(6),
      status: 'Rejected',
      reviewer: 'pipeline',
      reason: 'rolled back: alarm demo-5xx fired\r\nlast value 3\u2028threshold 1',
    });
    expect(sm).toHaveReceivedCommandWith(UpdateModelPackageCommand, {
      ApprovalDescription: 'Rejected by pipeline: rolled back: alarm demo-5xx fired last value 3 threshold 1',
    });
  });
});

describe('input validation', () => {
  it('a decision without a reviewer is SpecInvalid (non-retryable), before any AWS call', async () => {
    await expectFailure(
      acts.updateModelPackageApproval({ modelPackageArn: pkgArn(5), status: 'Rejected', reviewer: '', reason: 'no' }),
      'SpecInvalid',
      true,
      /reviewer/,
    );
    expect(sm).not.toHaveReceivedAnyCommand();
  });
});

describe('helpers', () => {
  it('parses versions from ARNs and cleans metadata values', () => {
    expect(versionFromArn(pkgArn(12))).toBe(12);
    expect(versionFromArn('arn:aws:sagemaker:us-east-1:1:model-package/unversioned')).toBeNull();
    expect(metadataValue('a{b}c'.repeat(100))).toHaveLength(256);
  });
});
