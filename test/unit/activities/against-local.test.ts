/**
 * Regression tests for the defects of issue 11, run with the real activities against the in-process local service
 * (SageMaker and Application Auto Scaling) and moto, the requests built by the real plan functions. Each of these
 * failed on the earlier code because local mode now refuses what AWS refuses: a tag key twice, Tags beside
 * ModelPackageGroupName (and, issue 20, AddTags on a version), more than 50 CustomerMetadataProperties,
 * DeleteEndpoint while Creating (the cleanup failed for good), an ObjectNotFoundException right after
 * RegisterScalableTarget and an endpoint Updating for auto scaling (both treated as permanent),
 * IdenticalDataAndAlgorithm after new data was synced, and the current run's own tuning job taken as the previous one.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { IAMClient } from '@aws-sdk/client-iam';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointConfigCommand,
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelPackageCommand,
  ListTagsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../../activities';
import { metadataValue } from '../../../activities/registry';
import type { ActivityDeps } from '../../../activities/deps';
import { childWorkflowId, runResourceNames } from '../../../contracts/names';
import * as plan from '../../../contracts/pipeline-plan';
import type { PipelineSpec } from '../../../contracts/pipeline-spec';
import { PIPELINE_RUN_TAG } from '../../../contracts/retrain';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { validateSpec } from '../../../contracts/validation';
import type { LocalService } from '../../../local/service/server';
import { waitUntil } from '../../../local/shared/procs';
import { seedModelTarball, waitEndpoint } from '../local/hosting-fixture';
import { credentials, type Moto, startMoto, startService, tmpDir } from '../local/helpers';
import { activityEnv } from './helpers';

jest.setTimeout(180_000);

const CONSISTENCY_MS = 1_500;
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'a'.repeat(64)}`;
let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
let acts: ReturnType<typeof createActivities>;
let dataDir: string;
let spec: PipelineSpec;

beforeAll(async () => {
  moto = await startMoto();
  await seedModelTarball(moto.url, 'local-pipeline');
  svc = await startService(moto.url, tmpDir('local-regress-'), { autoscalingConsistencyMs: CONSISTENCY_MS });
  const common = { region: 'us-east-1', credentials, maxAttempts: 1 };
  const atService = { ...common, endpoint: svc.url };
  const atMoto = { ...common, endpoint: moto.url };
  sm = new SageMakerClient(atService);
  const deps: ActivityDeps = {
    clients: {
      sagemaker: sm,
      autoscaling: new ApplicationAutoScalingClient(atService),
      codebuild: new CodeBuildClient(atService),
      s3: new S3Client({ ...atMoto, forcePathStyle: true }),
      ecr: new ECRClient(atMoto),
      logs: new CloudWatchLogsClient(atMoto),
      cloudwatch: new CloudWatchClient(atMoto),
      servicequotas: new ServiceQuotasClient(atService),
      iam: new IAMClient(atService),
      sts: new STSClient(atService),
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100))),
  };
  acts = createActivities(deps);
  dataDir = tmpDir('regress-data-');
  fs.mkdirSync(path.join(dataDir, 'train'));
  fs.mkdirSync(path.join(dataDir, 'val'));
  fs.writeFileSync(path.join(dataDir, 'train', 'a.txt'), 'alpha');
  fs.writeFileSync(path.join(dataDir, 'val', 'v.txt'), 'victor');
  const parsed = validateSpec({
    pipelineName: 'regress',
    roleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
    bucket: 'local-pipeline',
    tags: { team: 'lm' },
    image: { repository: 'jax-lm', codeBuild: { serviceRoleArn: 'arn:aws:iam::123456789012:role/CodeBuildImageRole' } },
    data: { source: { localPath: dataDir } },
    training: {
      instanceType: 'ml.m5.xlarge',
      instanceCount: 1,
      volumeSizeGb: 10,
      hyperparameters: { steps: 2, sleep: 0.01 },
    },
    tuning: {
      enabled: true,
      strategy: 'Random',
      ranges: { continuous: [{ name: 'lr', min: 0.01, max: 0.5 }] },
      maxJobs: 1,
      maxParallelJobs: 1,
    },
    registry: { modelPackageGroup: 'regress-lm' },
    deployment: { endpointName: 'regress-lm', instanceType: 'ml.m5.large', instanceCount: 1 },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  spec = parsed.spec;
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

/** Runs an activity in a mock activity context (heartbeats and the attempt number, as Temporal gives them). */
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  activityEnv().run(fn, ...args) as Promise<R>;

/** The ApplicationFailure a call fails with. */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => {
      throw new Error('expected the activity to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const tagsOf = async (arn: string) =>
  Object.fromEntries(
    ((await sm.send(new ListTagsCommand({ ResourceArn: arn }))).Tags ?? []).map((t) => [t.Key, t.Value]),
  );

describe('tags (one workflow-id key per request; model package versions take none: their group has them)', () => {
  const runId = 'regress-run-1';
  const deployStep = childWorkflowId(runId, 'deployModel');

  test('model, endpoint config and endpoint are created with one owner tag and the run tag', async () => {
    const input = plan.deployModelInput(spec, runId, IMAGE, 's3://local-pipeline/m/model.tar.gz', undefined);
    const model = await run(acts.createModel, {
      modelName: input.modelName,
      workflowId: deployStep,
      imageUri: IMAGE,
      modelDataUrl: input.modelDataUrl,
      roleArn: input.roleArn,
      tags: input.tags,
    });
    expect(await tagsOf(model.modelArn)).toEqual({
      team: 'lm',
      'pipeline:name': 'regress',
      [PIPELINE_RUN_TAG]: runId,
      [WORKFLOW_ID_TAG]: deployStep,
    });
    const cfg = await run(acts.createEndpointConfig, {
      endpointConfigName: input.endpointConfigName,
      workflowId: deployStep,
      modelName: input.modelName,
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      startupHealthCheckTimeoutSeconds: 60,
      tags: input.tags,
    });
    expect((await tagsOf(cfg.endpointConfigArn))[WORKFLOW_ID_TAG]).toBe(deployStep);
    // A retried create re-attaches through the same owner tag.
    expect(
      await run(acts.createModel, {
        modelName: input.modelName,
        workflowId: deployStep,
        imageUri: IMAGE,
        modelDataUrl: input.modelDataUrl,
        roleArn: input.roleArn,
        tags: input.tags,
      }),
    ).toEqual({ modelArn: model.modelArn, reattached: true });
  });

  test('CreateModelPackage goes without Tags and the version is never tagged, also when a retry re-attaches', async () => {
    const runId2 = 'regress-run-2';
    const registerStep = childWorkflowId(runId2, 'registerModel');
    const input = plan.registerModelInput(spec, runId2, IMAGE, { train: 's3://local-pipeline/d/train/' }, [], {});
    const group = await run(acts.ensureModelPackageGroup, {
      modelPackageGroupName: input.modelPackageGroupName,
      tags: input.tags,
    });
    const create = {
      modelPackageGroupName: input.modelPackageGroupName,
      workflowId: registerStep,
      imageUri: IMAGE,
      modelDataUrl: 's3://local-pipeline/m/model.tar.gz',
      contentTypes: spec.registry.contentTypes,
      inferenceInstanceTypes: [spec.deployment.instanceType],
      approvalStatus: 'Approved' as const,
      objective: { metricName: 'val_loss', type: 'Minimize' as const, value: 1.5 },
      // More than SageMaker's 50 CustomerMetadataProperties: 6 fixed + 1 channel + 60 metrics.
      metrics: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`m${String(i).padStart(2, '0')}`, i])),
      metricsS3Uri: input.metricsS3Uri,
      dataUris: input.dataUris,
      trainingJobName: 'tj-1',
      tags: input.tags,
    };
    const first = await run(acts.createModelPackage, create);
    expect(first.reattached).toBe(false);
    // A version takes no tags (SageMaker refuses them): the group has the run's tags, the version its owner in
    // its metadata.
    expect(await tagsOf(first.modelPackageArn)).toEqual({});
    expect((await tagsOf(group.modelPackageGroupArn))[WORKFLOW_ID_TAG]).toBe(input.tags?.[WORKFLOW_ID_TAG]);
    const pkg = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: first.modelPackageArn }));
    const meta = pkg.CustomerMetadataProperties ?? {};
    expect(meta['pipeline:workflow-id']).toBe(metadataValue(registerStep));
    expect(Object.keys(meta)).toHaveLength(50);
    expect(meta['metric:m00']).toBe('0');
    // The note names where everything is, then as many of the left-out keys as 256 characters hold.
    expect(meta['pipeline:metadata-omitted']).toMatch(
      /^all values are in s3:\/\/local-pipeline\/\S+ \/ 18 left out at the limit of 50: metric:m42 metric:m43 /,
    );
    expect(meta['pipeline:metadata-omitted']?.length).toBeLessThanOrEqual(256);
    const again = await run(acts.createModelPackage, create);
    expect(again).toMatchObject({ modelPackageArn: first.modelPackageArn, reattached: true });
  });
});

describe('an endpoint that is Creating, or resizing for auto scaling, is waited out', () => {
  const runId = 'regress-run-3';
  const step = childWorkflowId(runId, 'deployModel');

  async function createEndpoint(name: string, env: Record<string, string> = {}) {
    const input = plan.deployModelInput(
      { ...spec, deployment: { ...spec.deployment, endpointName: name } },
      runId,
      IMAGE,
      's3://local-pipeline/m/model.tar.gz',
      undefined,
    );
    const modelName = `${name}-m`;
    await run(acts.createModel, {
      modelName,
      workflowId: step,
      imageUri: IMAGE,
      modelDataUrl: input.modelDataUrl,
      roleArn: input.roleArn,
      environment: env,
      tags: input.tags,
    });
    await run(acts.createEndpointConfig, {
      endpointConfigName: `${name}-c`,
      workflowId: step,
      modelName,
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      startupHealthCheckTimeoutSeconds: 60,
      tags: input.tags,
    });
    await run(acts.createEndpoint, {
      endpointName: name,
      endpointConfigName: `${name}-c`,
      workflowId: step,
      tags: input.tags,
    });
    return { modelName, configName: `${name}-c` };
  }

  test('cancelling a first deployment while Creating: the cleanup waits (retryable), then deletes', async () => {
    await createEndpoint('regress-creating', { FAKE_PING_DELAY: '2' });
    const busy = await failureOf(
      run(acts.deleteCreatedEndpoint, { endpointName: 'regress-creating', workflowId: step }),
    );
    expect({ type: busy.type, nonRetryable: busy.nonRetryable }).toEqual({ type: 'ResourceBusy', nonRetryable: false });
    expect(busy.message).toMatch(/is Creating/);
    // What Temporal's retries do: the same call again until the endpoint has left Creating.
    let out: { deleted: boolean; reason: string | null } | undefined;
    await waitUntil(
      async () => {
        out = await run(acts.deleteCreatedEndpoint, { endpointName: 'regress-creating', workflowId: step }).catch(
          (e: unknown) => {
            if (e instanceof ApplicationFailure && e.type === 'ResourceBusy') return undefined;
            throw e;
          },
        );
        return out !== undefined;
      },
      30_000,
      'cleanup deletes the endpoint',
      250,
    );
    expect(out).toEqual({ deleted: true, reason: null });
  });

  test('registerAutoscaling right after deploy retries ObjectNotFoundException; an update waits out the resize', async () => {
    const { modelName } = await createEndpoint('regress-scaled');
    await waitEndpoint(sm, 'regress-scaled', (d) => d.EndpointStatus === 'InService');
    const register = {
      endpointName: 'regress-scaled',
      variantName: 'AllTraffic',
      minCapacity: 2,
      maxCapacity: 3,
      targetInvocationsPerInstance: 100,
      scaleInCooldownSeconds: 300,
      scaleOutCooldownSeconds: 60,
    };
    const early = await failureOf(run(acts.registerAutoscaling, register));
    expect({ type: early.type, nonRetryable: early.nonRetryable }).toEqual({
      type: 'AwsTransient',
      nonRetryable: false,
    });
    expect(early.message).toMatch(/ObjectNotFoundException: No scalable target registered/);

    // Registering with MinCapacity 2 resized the 1-instance endpoint: it is Updating, and an update must wait.
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'regress-scaled' }))).EndpointStatus).toBe(
      'Updating',
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'regress-scaled-next',
        ProductionVariants: [
          { VariantName: 'AllTraffic', ModelName: modelName, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
        ],
      }),
    );
    const alarms = await run(acts.ensureRollbackAlarms, {
      endpointName: 'regress-scaled',
      endpointConfigName: 'regress-scaled-next',
      max5xxErrors: 0,
      maxModelLatencyMs: 5000,
      periodSeconds: 60,
    });
    const update = {
      endpointName: 'regress-scaled',
      endpointConfigName: 'regress-scaled-next',
      alarmNames: alarms.alarmNames,
      blueGreen: spec.deployment.blueGreen,
      retainVariantProperties: true,
    };
    const busy = await failureOf(run(acts.updateEndpoint, update));
    expect({ type: busy.type, nonRetryable: busy.nonRetryable }).toEqual({ type: 'ResourceBusy', nonRetryable: false });

    await waitEndpoint(sm, 'regress-scaled', (d) => d.EndpointStatus === 'InService');
    await new Promise((r) => setTimeout(r, CONSISTENCY_MS));
    await expect(run(acts.registerAutoscaling, register)).resolves.toMatchObject({ policyName: expect.any(String) });
    await expect(run(acts.updateEndpoint, update)).resolves.toMatchObject({ reattached: false });
  });
});

describe('retraining: warm-start type and the previous run', () => {
  async function tune(
    runId: string,
    warmStart?: { parentTuningJob: string; type: 'IdenticalDataAndAlgorithm' | 'TransferLearning' },
    runSpec: PipelineSpec = spec,
  ) {
    const data = await run(acts.syncDataset, plan.syncDataInput(runSpec));
    const definition = plan.trainingDefinition(runSpec, runId, IMAGE, data.channels);
    const t = plan.tuneModelInput(runSpec, runId, definition, warmStart);
    const create = () =>
      run(acts.createTuningJob, {
        tuningJobName: t.tuningJobName,
        workflowId: childWorkflowId(runId, 'tuneModel'),
        definition: t.definition,
        tuning: t.tuning,
      });
    const tuningJob = {
      tuningJobName: t.tuningJobName,
      workflowId: childWorkflowId(runId, 'tuneModel'),
      definition: t.definition,
      tuning: t.tuning,
    };
    return { data, name: t.tuningJobName, create, tuningJob };
  }

  async function completed(name: string): Promise<void> {
    await waitUntil(
      async () =>
        (await sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })))
          .HyperParameterTuningJobStatus === 'Completed',
      60_000,
      `tuning job ${name}`,
      200,
    );
  }

  test('new data means TransferLearning (IdenticalDataAndAlgorithm is refused); the current run is never its own parent', async () => {
    const first = await tune('regress-rt-1');
    await first.create();
    await completed(first.name);

    // The second run syncs a new file into the same prefix.
    fs.writeFileSync(path.join(dataDir, 'train', 'b.txt'), 'bravo');
    const previous = await run(acts.findPreviousTuningJob, {
      pipelineName: 'regress',
      excludeWorkflowId: 'regress-rt-2',
    });
    expect(previous).toMatchObject({ tuningJobName: first.name, trainingImage: IMAGE });
    const probe = await tune('regress-rt-2');
    expect(probe.data.copied).toBe(1);
    const decided = plan.warmStartType(
      { ...previous, tuningJobName: previous.tuningJobName as string },
      { imageUri: IMAGE, imageReused: true, data: probe.data },
    );
    expect(decided.type).toBe('TransferLearning');

    // What the earlier plan sent: refused by local mode, as the data is not the parent's.
    const identical = await tune('regress-rt-2', { parentTuningJob: first.name, type: 'IdenticalDataAndAlgorithm' });
    const refused = await failureOf(identical.create());
    expect(refused.type).toBe('AwsValidation');
    expect(refused.message).toMatch(/data of channel\(s\) train changed/);

    const second = await tune('regress-rt-2', { parentTuningJob: first.name, type: decided.type });
    await second.create();
    await completed(second.name);

    // The second run's own tuning job (newer, Completed) is not its previous run; it is the third run's.
    await expect(
      run(acts.findPreviousTuningJob, { pipelineName: 'regress', excludeWorkflowId: 'regress-rt-2' }),
    ).resolves.toMatchObject({ tuningJobName: first.name });
    const forThird = await run(acts.findPreviousTuningJob, {
      pipelineName: 'regress',
      excludeWorkflowId: 'regress-rt-3',
    });
    expect(forThird.tuningJobName).toBe(second.name);

    // Nothing changed since: the third run keeps IdenticalDataAndAlgorithm, and local mode accepts it.
    const third = await tune('regress-rt-3');
    expect(third.data.copied).toBe(0);
    const same = plan.warmStartType(
      { ...forThird, tuningJobName: second.name },
      { imageUri: IMAGE, imageReused: true, data: third.data },
    );
    expect(same.type).toBe('IdenticalDataAndAlgorithm');
    const accepted = await tune('regress-rt-3', { parentTuningJob: second.name, type: same.type });
    await accepted.create();
    expect(runResourceNames('regress-rt-3').tuningJob).toBe(accepted.name);
  });

  test('checkWarmStartParent judges the real parent as local mode does: a hyperparameter added since means cold', async () => {
    const previous = await run(acts.findPreviousTuningJob, {
      pipelineName: 'regress',
      excludeWorkflowId: 'regress-rt-4',
    });
    const parentTuningJob = previous.tuningJobName as string;
    const warm = { parentTuningJob, type: 'TransferLearning' as const };
    // Unchanged spec: the parent fits.
    const same = await tune('regress-rt-4', warm);
    await expect(run(acts.checkWarmStartParent, { tuningJob: same.tuningJob })).resolves.toEqual({
      type: 'TransferLearning',
      reason: `TransferLearning from ${parentTuningJob}`,
    });
    // A hyperparameter added to the spec since the parent ran: the check says cold, and local mode (like SageMaker)
    // refuses the warm start the run would otherwise have sent.
    const edited = {
      ...spec,
      training: { ...spec.training, hyperparameters: { ...spec.training.hyperparameters, dropout: 0.1 } },
    };
    const changed = await tune('regress-rt-4', warm, edited);
    const verdict = await run(acts.checkWarmStartParent, { tuningJob: changed.tuningJob });
    expect(verdict.type).toBeNull();
    expect(verdict.reason).toMatch(
      /the number of static plus tunable hyperparameters changed .*added: dropout; removed: none/,
    );
    const refused = await failureOf(changed.create());
    expect(refused.type).toBe('AwsValidation');
    expect(refused.message).toMatch(/total number of static plus tunable hyperparameters must stay the same/);
  });
});
