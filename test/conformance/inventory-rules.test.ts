/**
 * The documented rules added with the constraint inventory (local/service/core/documented-rules/inventory.ts): each
 * is refused by the local service, through the real SDK clients, with AWS's error code, before any handler runs; the
 * same request within the documented bounds is not refused by the rule. Sources: each rule's page in table.ts.
 */
import { CodeBuildClient, CreateProjectCommand, ListBuildsForProjectCommand } from '@aws-sdk/client-codebuild';
import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateModelCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import type { LocalService } from '../../local/service/server';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { failure, startConformanceService } from './conformance-service';

let svc: LocalService;
let sm: SageMakerClient;
let cb: CodeBuildClient;

beforeAll(async () => {
  svc = await startConformanceService();
  // The documented rules are under test, not IAM: the administrator's requests reach them.
  const opts = { endpoint: svc.url, region: 'us-east-1', credentials: ADMIN_CREDENTIALS, maxAttempts: 1 };
  sm = new SageMakerClient(opts);
  cb = new CodeBuildClient(opts);
});
afterAll(async () => svc?.close());

const ROLE = 'arn:aws:iam::123456789012:role/SageMakerExecutionRole';
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'0'.repeat(64)}`;

type Ranges = NonNullable<
  CreateHyperParameterTuningJobCommandInput['HyperParameterTuningJobConfig']
>['ParameterRanges'];

function tuning(
  ranges: Ranges,
  opts: { statics?: number; strategy?: 'Bayesian' | 'Hyperband'; earlyStopping?: 'Off' | 'Auto' } = {},
): CreateHyperParameterTuningJobCommandInput {
  return {
    HyperParameterTuningJobName: 'inv-tune',
    HyperParameterTuningJobConfig: {
      Strategy: opts.strategy ?? 'Bayesian',
      TrainingJobEarlyStoppingType: opts.earlyStopping ?? 'Off',
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'val_loss' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1 },
      ParameterRanges: ranges,
    },
    TrainingJobDefinition: {
      AlgorithmSpecification: {
        TrainingImage: IMAGE,
        TrainingInputMode: 'File',
        MetricDefinitions: [{ Name: 'val_loss', Regex: 'val_loss=([0-9.]+)' }],
      },
      StaticHyperParameters: Object.fromEntries(
        Array.from({ length: opts.statics ?? 1 }, (_, i) => [`static_${i}`, '1']),
      ),
      RoleArn: ROLE,
      OutputDataConfig: { S3OutputPath: 's3://inv/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    },
  };
}

const continuous = (n: number, scaling: 'Linear' | 'ReverseLogarithmic' = 'Linear', max = '0.5') =>
  Array.from({ length: n }, (_, i) => ({ Name: `c${i}`, MinValue: '0', MaxValue: max, ScalingType: scaling }));
const integer = (n: number) => Array.from({ length: n }, (_, i) => ({ Name: `i${i}`, MinValue: '1', MaxValue: '9' }));
const categorical = (n: number) => Array.from({ length: n }, (_, i) => ({ Name: `k${i}`, Values: ['a', 'b'] }));

/** The error a request got, when it is the rule's refusal (so a control request that fails later does not count). */
async function refusal(call: Promise<unknown>, rule: RegExp): Promise<{ name: string; message: string } | undefined> {
  const err = await failure(call);
  return err && rule.test(err.message) ? err : undefined;
}

describe('tuning-job.hyperparameter-counts (API_ParameterRanges, automatic-model-tuning-define-ranges)', () => {
  const RULE = /sum of the number of hyperparameters for all the ranges|Static plus tunable hyperparameters/;

  test('31 ranges in all (each kind within its own 30) are refused; 30 are not', async () => {
    const over = tuning({
      ContinuousParameterRanges: continuous(11),
      IntegerParameterRanges: integer(10),
      CategoricalParameterRanges: categorical(10),
    });
    const err = await refusal(sm.send(new CreateHyperParameterTuningJobCommand(over)), RULE);
    expect(err?.name).toBe('ValidationException');
    expect(err?.message).toContain("at 'hyperParameterTuningJobConfig.parameterRanges'");
    const at = tuning({
      ContinuousParameterRanges: continuous(10),
      IntegerParameterRanges: integer(10),
      CategoricalParameterRanges: categorical(10),
    });
    expect(await refusal(sm.send(new CreateHyperParameterTuningJobCommand(at)), RULE)).toBeUndefined();
  });

  test('static plus tunable plus _tuning_objective_metric over 100 is refused', async () => {
    const over = tuning({ ContinuousParameterRanges: continuous(1) }, { statics: 99 });
    const err = await refusal(sm.send(new CreateHyperParameterTuningJobCommand(over)), RULE);
    expect(err?.name).toBe('ValidationException');
    expect(err?.message).toContain('_tuning_objective_metric');
    const at = tuning({ ContinuousParameterRanges: continuous(1) }, { statics: 98 });
    expect(await refusal(sm.send(new CreateHyperParameterTuningJobCommand(at)), RULE)).toBeUndefined();
  });
});

test('tuning-job.reverse-logarithmic-range: a ReverseLogarithmic range reaching 1 is refused (API_ContinuousParameterRange)', async () => {
  const RULE = /Reverse logarithmic scaling works only/;
  const over = tuning({ ContinuousParameterRanges: continuous(1, 'ReverseLogarithmic', '1') });
  const err = await refusal(sm.send(new CreateHyperParameterTuningJobCommand(over)), RULE);
  expect(err?.name).toBe('ValidationException');
  const within = tuning({ ContinuousParameterRanges: continuous(1, 'ReverseLogarithmic', '0.999') });
  expect(await refusal(sm.send(new CreateHyperParameterTuningJobCommand(within)), RULE)).toBeUndefined();
});

test('tuning-job.hyperband-early-stopping: Hyperband with early stopping Auto is refused (API_HyperParameterTuningJobConfig)', async () => {
  const RULE = /must be Off to use the Hyperband strategy/;
  const ranges = { ContinuousParameterRanges: continuous(1) };
  const auto = tuning(ranges, { strategy: 'Hyperband', earlyStopping: 'Auto' });
  const err = await refusal(sm.send(new CreateHyperParameterTuningJobCommand(auto)), RULE);
  expect(err?.name).toBe('ValidationException');
  const off = tuning(ranges, { strategy: 'Hyperband', earlyStopping: 'Off' });
  expect(await refusal(sm.send(new CreateHyperParameterTuningJobCommand(off)), RULE)).toBeUndefined();
});

describe('endpoint.blue-green-step-size (API_TrafficRoutingConfig)', () => {
  const RULE = /variant's total instance count/;
  const update = (
    type: 'CANARY' | 'LINEAR',
    size: { Type: 'INSTANCE_COUNT' | 'CAPACITY_PERCENT'; Value: number },
  ): UpdateEndpointCommandInput => ({
    EndpointName: 'inv-endpoint',
    EndpointConfigName: 'inv-config-4',
    DeploymentConfig: {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: type,
          WaitIntervalInSeconds: 60,
          ...(type === 'CANARY' ? { CanarySize: size } : { LinearStepSize: size }),
        },
      },
    },
  });

  beforeAll(() => {
    // An endpoint config of 4 instances, as CreateEndpointConfig leaves it in the service's state.
    svc.ctx.store.kind('endpoint-configs').put('inv-config-4', {
      EndpointConfigName: 'inv-config-4',
      EndpointConfigArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/inv-config-4',
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'm',
          InitialInstanceCount: 4,
          InstanceType: 'ml.m5.large',
          InitialVariantWeight: 1,
        },
      ],
      CreationTime: 0,
    });
  });

  test.each([
    ['CANARY', 'CAPACITY_PERCENT', 60],
    ['CANARY', 'INSTANCE_COUNT', 3],
    ['LINEAR', 'CAPACITY_PERCENT', 5],
    ['LINEAR', 'CAPACITY_PERCENT', 60],
    ['LINEAR', 'INSTANCE_COUNT', 3],
  ] as const)('%s of %s %d is refused', async (type, Type, Value) => {
    const err = await refusal(sm.send(new UpdateEndpointCommand(update(type, { Type, Value }))), RULE);
    expect(err?.name).toBe('ValidationException');
  });

  test.each([
    ['CANARY', 'INSTANCE_COUNT', 2],
    ['CANARY', 'CAPACITY_PERCENT', 50],
    ['LINEAR', 'INSTANCE_COUNT', 1],
    ['LINEAR', 'CAPACITY_PERCENT', 10],
  ] as const)('%s of %s %d is not refused by the rule', async (type, Type, Value) => {
    expect(await refusal(sm.send(new UpdateEndpointCommand(update(type, { Type, Value }))), RULE)).toBeUndefined();
  });
});

test('codebuild.list-builds-sort-order: a sort order on a project with more than 100 builds is refused (API_ListBuildsForProject)', async () => {
  await cb.send(
    new CreateProjectCommand({
      name: 'inv-project',
      source: { type: 'S3', location: 'inv/source.zip' },
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/standard:7.0',
        computeType: 'BUILD_GENERAL1_SMALL',
      },
      serviceRole: 'arn:aws:iam::123456789012:role/CodeBuildImageRole',
    }),
  );
  // A project that has had 100 finished builds, as the service keeps them across runs.
  const builds = svc.ctx.store.kind('codebuild-builds');
  const add = (n: number) =>
    builds.put(`inv-project:${n}`, {
      id: `inv-project:${n}`,
      arn: `arn:aws:codebuild:us-east-1:123456789012:build/inv-project:${n}`,
      buildNumber: n,
      startTime: n,
      endTime: n,
      currentPhase: 'COMPLETED',
      buildStatus: 'SUCCEEDED',
      buildComplete: true,
      projectName: 'inv-project',
      phases: [],
    });
  for (let n = 1; n <= 100; n++) add(n);
  const sorted = () =>
    cb.send(new ListBuildsForProjectCommand({ projectName: 'inv-project', sortOrder: 'DESCENDING' }));
  expect((await sorted()).ids).toHaveLength(100);
  add(101);
  const err = await failure(sorted());
  expect(err?.name).toBe('InvalidInputException');
  expect(err?.message).toMatch(/more than 100/);
  // Without a sort order the newest come first, as the pipeline now asks.
  const listed = await cb.send(new ListBuildsForProjectCommand({ projectName: 'inv-project' }));
  expect(listed.ids?.[0]).toBe('inv-project:101');
});

test('model.environment-size: Environment maps over 32 KB in all are refused (API_ContainerDefinition)', async () => {
  const RULE = /combined, is 32 KB/;
  // 40 entries of 1 KB values: each within the model's 1024-byte limit, 40 KB in all.
  const env = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'x'.repeat(1000)]));
  const model = (Environment: Record<string, string>) =>
    new CreateModelCommand({
      ModelName: 'inv-model',
      PrimaryContainer: { Image: IMAGE, Environment },
      ExecutionRoleArn: ROLE,
    });
  const err = await refusal(sm.send(model(env(40))), RULE);
  expect(err?.name).toBe('ValidationException');
  expect(err?.message).toContain("at 'primaryContainer.environment'");
  expect(await refusal(sm.send(model(env(30))), RULE)).toBeUndefined();
});
