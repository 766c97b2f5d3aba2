/**
 * The grants iam/ narrows to what the pipeline does, each shown refusing what it should (and allowing what the
 * pipeline sends): tags on a model package version (SageMaker refuses them anyway) and on another owner's endpoint,
 * CodeBuild projects the pipeline never reads, Application Auto Scaling outside SageMaker variants, instance types
 * off the worker policy's list, and execution-role writes outside the jobs' output prefixes (never the build
 * contexts CodeBuild builds from or the code jobs run).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PipelineSpecSchema } from '../../../../contracts/pipeline-spec';
import type { Caller, Denial } from '../../../../local/service/iam/authorizer';
import { IamEnforcer } from '../../../../local/service/iam/enforcer';
import { PolicySet } from '../../../../local/service/iam/policies';

const ACCT = '123456789012';
const REPO = path.resolve(__dirname, '../../../..');
const sm = (r: string): string => `arn:aws:sagemaker:us-east-1:${ACCT}:${r}`;
const ROLE = `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`;
const iam = new IamEnforcer(PolicySet.fromDocuments());
const caller = (r: ReturnType<IamEnforcer['resolve']>): Caller => {
  if (r.kind !== 'caller') throw new Error('must resolve');
  return r.caller;
};
const worker = caller(iam.resolve({ kind: 'worker' }));
const executionRole = caller(iam.resolve({ kind: 'role', roleArn: ROLE }));
const call = (
  prefix: string,
  operation: string,
  body: Record<string, unknown>,
  tags?: Record<string, Record<string, string>>,
): Promise<Denial | undefined> => iam.denyCall(worker, { prefix, operation, body }, tags && ((arn) => tags[arn]));
const OURS = { 'pipeline:workflow-id': 'wf-1' };

describe('tags', () => {
  it('no tags on a model package version: there is no grant for it', async () => {
    expect(
      await call('sagemaker', 'AddTags', {
        ResourceArn: sm('model-package/jax-lm/3'),
        Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf-1' }],
      }),
    ).toMatchObject({ action: 'sagemaker:AddTags', resource: sm('model-package/jax-lm/3') });
  });

  it("the update request tag comes and goes on the pipeline's endpoints only", async () => {
    const ep = sm('endpoint/jax-lm');
    const mark = { ResourceArn: ep, Tags: [{ Key: 'pipeline:update-requested', Value: 'cfg@2026-12-07T00:00:00Z' }] };
    const unmark = { ResourceArn: ep, TagKeys: ['pipeline:update-requested'] };
    expect(await call('sagemaker', 'AddTags', mark, { [ep]: OURS })).toBeUndefined();
    expect(await call('sagemaker', 'DeleteTags', unmark, { [ep]: OURS })).toBeUndefined();
    // Someone else's endpoint (no pipeline tag).
    expect(await call('sagemaker', 'AddTags', mark, { [ep]: { team: 'web' } })).toMatchObject({
      action: 'sagemaker:AddTags',
    });
    expect(await call('sagemaker', 'DeleteTags', unmark, { [ep]: { team: 'web' } })).toMatchObject({
      action: 'sagemaker:DeleteTags',
    });
  });

  it('no other tag key: the owner tag that proves whose a resource is cannot be rewritten or removed', async () => {
    const ep = sm('endpoint/jax-lm');
    expect(
      await call(
        'sagemaker',
        'AddTags',
        { ResourceArn: ep, Tags: [{ Key: 'pipeline:workflow-id', Value: 'someone-else' }] },
        { [ep]: OURS },
      ),
    ).toMatchObject({ action: 'sagemaker:AddTags' });
    expect(
      await call('sagemaker', 'DeleteTags', { ResourceArn: ep, TagKeys: ['pipeline:workflow-id'] }, { [ep]: OURS }),
    ).toMatchObject({ action: 'sagemaker:DeleteTags' });
  });
});

it('codebuild:BatchGetProjects is not granted (the pipeline never calls it)', async () => {
  expect(await call('codebuild', 'BatchGetProjects', { names: ['lm-migration-image-build'] })).toMatchObject({
    action: 'codebuild:BatchGetProjects',
  });
});

describe('Application Auto Scaling', () => {
  const target = (ServiceNamespace: string, ScalableDimension: string, ResourceId: string) => ({
    ServiceNamespace,
    ScalableDimension,
    ResourceId,
    MinCapacity: 1,
    MaxCapacity: 2,
  });

  it("scales SageMaker variants, and nothing of another service's", async () => {
    expect(
      await call(
        'application-autoscaling',
        'RegisterScalableTarget',
        target('sagemaker', 'sagemaker:variant:DesiredInstanceCount', 'endpoint/jax-lm/variant/AllTraffic'),
        { [sm('endpoint/jax-lm')]: OURS },
      ),
    ).toBeUndefined();
    expect(
      await call(
        'application-autoscaling',
        'RegisterScalableTarget',
        target('ecs', 'ecs:service:DesiredCount', 'service/c/s'),
      ),
    ).toMatchObject({ action: 'application-autoscaling:RegisterScalableTarget' });
    expect(
      await call('application-autoscaling', 'DeleteScalingPolicy', {
        ...target('dynamodb', 'dynamodb:table:ReadCapacityUnits', 'table/t'),
        PolicyName: 'p',
      }),
    ).toMatchObject({ action: 'application-autoscaling:DeleteScalingPolicy' });
    // The describes accept no resource or condition key: allowed on every resource.
    expect(
      await call('application-autoscaling', 'DescribeScalableTargets', { ServiceNamespace: 'sagemaker' }),
    ).toBeUndefined();
  });
});

describe('instance types (sagemaker:InstanceTypes)', () => {
  const training = (InstanceType: string) => ({
    TrainingJobName: 'j',
    RoleArn: ROLE,
    ResourceConfig: { InstanceType, InstanceCount: 1, VolumeSizeInGB: 10 },
    Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf-1' }],
  });
  const requests = (type: string): [string, Record<string, unknown>][] => [
    ['CreateTrainingJob', training(type)],
    ['CreateHyperParameterTuningJob', { HyperParameterTuningJobName: 't', TrainingJobDefinition: training(type) }],
    [
      'CreateProcessingJob',
      {
        ProcessingJobName: 'p',
        RoleArn: ROLE,
        ProcessingResources: { ClusterConfig: { InstanceType: type, InstanceCount: 1, VolumeSizeInGB: 10 } },
      },
    ],
    [
      'CreateTransformJob',
      { TransformJobName: 'x', ModelName: 'm', TransformResources: { InstanceType: type, InstanceCount: 1 } },
    ],
    [
      'CreateEndpointConfig',
      {
        EndpointConfigName: 'c',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm', InstanceType: type }],
      },
    ],
  ];

  it('every instance type the example specs launch is on the list', async () => {
    for (const file of fs.readdirSync(path.join(REPO, 'examples')).filter((f) => f.endsWith('.json'))) {
      const spec = PipelineSpecSchema.parse(JSON.parse(fs.readFileSync(path.join(REPO, 'examples', file), 'utf8')));
      const launched: [string, string][] = [
        ['CreateTrainingJob', spec.training.instanceType],
        ['CreateHyperParameterTuningJob', spec.tuning.resources?.instanceType ?? spec.training.instanceType],
        ['CreateProcessingJob', spec.prepareData.instanceType],
        ['CreateTransformJob', spec.evaluation.instanceType],
        ['CreateEndpointConfig', spec.deployment.instanceType],
      ];
      for (const [operation, type] of launched) {
        const body = requests(type).find(([op]) => op === operation)?.[1] ?? {};
        expect({ file, operation, type, denial: await call('sagemaker', operation, body) }).toEqual({
          file,
          operation,
          type,
          denial: undefined,
        });
      }
    }
  });

  it.each(['ml.p5.48xlarge', 'ml.trn1.32xlarge'])('%s, off the list, is refused for every launch', async (type) => {
    for (const [operation, body] of requests(type))
      expect({ operation, denial: await call('sagemaker', operation, body) }).toEqual({
        operation,
        denial: expect.objectContaining({ action: `sagemaker:${operation}`, explicit: false }),
      });
  });

  it('a request that names one listed and one unlisted type is refused (every type must be on the list)', async () => {
    const body = {
      EndpointConfigName: 'c',
      ProductionVariants: [
        { VariantName: 'a', ModelName: 'm', InstanceType: 'ml.m5.large' },
        { VariantName: 'b', ModelName: 'm', InstanceType: 'ml.p5.48xlarge' },
      ],
    };
    expect(await call('sagemaker', 'CreateEndpointConfig', body)).toMatchObject({
      action: 'sagemaker:CreateEndpointConfig',
    });
  });
});

describe('the execution role writes only job outputs', () => {
  const put = (key: string) =>
    iam.deny(executionRole, [{ action: 's3:PutObject', resource: `arn:aws:s3:::acme-ml-pipelines/${key}` }]);

  it.each([
    'pipelines/lm/models/train-1/output/model.tar.gz',
    'pipelines/lm/checkpoints/train-1/step-100/ckpt',
    'pipelines/lm/prepared/prepare-1/train/part-0.jsonl',
    'pipelines/lm/evaluations/eval-1/output/records.jsonl.out',
  ])('may write %s', (key) => expect(put(key)).toBeUndefined());

  it.each([
    // What CodeBuild builds the image from, and the code every job runs.
    ['pipelines/lm/build-contexts/ctx-abc.tar.gz', true],
    ['pipelines/lm/code/sourcedir-abc.tar.gz', true],
    // A key that also matches an output prefix is still refused: the Deny wins.
    ['pipelines/lm/build-contexts/models/x', true],
    // The rest of the pipeline's prefix is the worker's: data, metrics, repacked models.
    ['pipelines/lm/data/train/a.jsonl', false],
    ['pipelines/lm/model-metrics/m.json', false],
    ['pipelines/lm/repacked-models/m.tar.gz', false],
  ])('may not write %s (explicit deny: %s)', (key, explicit) =>
    expect(put(key)).toMatchObject({ action: 's3:PutObject', explicit }),
  );

  it('still reads everything under the pipeline prefix (channels, code, models)', () => {
    for (const key of ['pipelines/lm/data/train/a', 'pipelines/lm/code/sourcedir.tar.gz', 'pipelines/lm/models/x'])
      expect(
        iam.deny(executionRole, [{ action: 's3:GetObject', resource: `arn:aws:s3:::acme-ml-pipelines/${key}` }]),
      ).toBeUndefined();
  });
});
