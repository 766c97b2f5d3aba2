/**
 * The documented rules (local/service/core/documented-rules): each one refused by the in-process local service with
 * AWS's error code, through the real SageMaker SDK client, and nothing created by a refused request. The table itself
 * is checked too: every rule names its operations and an https source, behaviour rules name a file that exists, and
 * docs/local-mode-fidelity.md lists every rule by id.
 */
import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  GetDashboardCommand,
  PutDashboardCommand,
} from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  AddTagsCommand,
  CreateEndpointCommand,
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateModelCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreateTrainingJobCommand,
  DeleteEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  ListTagsCommand,
  StopHyperParameterTuningJobCommand,
  StopTrainingJobCommand,
  UpdateEndpointCommand,
  UpdateModelPackageCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import { DOCUMENTED_RULES } from '../../../local/service/core/documented-rules';
import { alarmFires } from '../../../local/service/sagemaker/endpoint-metrics';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { modelAndConfig, seedModelTarball, waitEndpoint } from './hosting-fixture';
import {
  credentials,
  REPO,
  ROLE,
  type Moto,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
  trainingRequest,
  waitForJob,
} from './helpers';

jest.setTimeout(120_000);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
const bucket = 'rules';

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/b.txt': 'b' });
  await seedModelTarball(moto.url, 'models');
  svc = await startService(moto.url, tmpDir('local-rules-'));
  sm = sagemaker(svc.url);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

/** The SDK error a refused call throws (fails the test if the call succeeds). */
async function refused(call: Promise<unknown>): Promise<Error & { name: string }> {
  const err = await call.then(
    () => {
      throw new Error('expected the local service to refuse the request, but it succeeded');
    },
    (e: unknown) => e as Error,
  );
  return err as Error & { name: string };
}

function model(name: string, tags: { Key: string; Value: string }[]) {
  return new CreateModelCommand({
    ModelName: name,
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { Image: 'jax:latest' },
    Tags: tags,
  });
}

describe('tag rules', () => {
  test('a key twice in one request is refused ("Duplicate tag key"), on creates and AddTags, creating nothing', async () => {
    const dup = [
      { Key: 'pipeline:workflow-id', Value: 'run-1' },
      { Key: 'pipeline:workflow-id', Value: 'run-1/deployModel' },
    ];
    const err = await refused(sm.send(model('dup-tags', dup)));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe('Duplicate tag key');
    expect((await refused(sm.send(new DescribeModelCommand({ ModelName: 'dup-tags' })))).name).toBe(
      'ValidationException',
    );

    const job = await refused(
      sm.send(new CreateTrainingJobCommand({ ...trainingRequest('dup-job', bucket), Tags: dup })),
    );
    expect(job.message).toBe('Duplicate tag key');
    expect((await refused(sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'dup-job' })))).message).toMatch(
      /not found/,
    );

    const ok = await sm.send(model('tagged', [{ Key: 'team', Value: 'lm' }]));
    expect((await refused(sm.send(new AddTagsCommand({ ResourceArn: ok.ModelArn, Tags: dup })))).message).toBe(
      'Duplicate tag key',
    );
  });

  test('keys starting with aws: are reserved', async () => {
    const err = await refused(sm.send(model('aws-tag', [{ Key: 'AWS:owner', Value: 'me' }])));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/reserved for AWS use/);
  });

  test('at most 50 tags: 51 in one request, or AddTags taking a resource past 50, is refused', async () => {
    const tags = (n: number, prefix = 'k') =>
      Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: 'v' }));
    const err = await refused(sm.send(model('too-many', tags(51))));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/Member must have length less than or equal to 50/);

    const m = await sm.send(model('forty-nine', tags(49)));
    // Re-setting existing keys does not add tags; one new key does.
    await sm.send(
      new AddTagsCommand({ ResourceArn: m.ModelArn, Tags: [...tags(49).slice(0, 10), { Key: 'x', Value: 'y' }] }),
    );
    const past = await refused(
      sm.send(new AddTagsCommand({ ResourceArn: m.ModelArn, Tags: [{ Key: 'z', Value: 'z' }] })),
    );
    expect(past.message).toMatch(/at most 50 tags/);
  });

  test("keys and values outside SageMaker's character set are refused, naming the member", async () => {
    const err = await refused(sm.send(model('bad-key', [{ Key: 'team#1', Value: 'lm' }])));
    expect(err.message).toMatch(
      /at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });
});

describe('model registry rules', () => {
  beforeAll(async () => {
    await sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'rules-group' }));
  });

  const pkg = (extra: Record<string, unknown> = {}) =>
    new CreateModelPackageCommand({
      ModelPackageGroupName: 'rules-group',
      InferenceSpecification: {
        Containers: [{ Image: 'jax:latest', ModelDataUrl: `s3://${bucket}/m.tar.gz` }],
        SupportedContentTypes: ['application/json'],
        SupportedResponseMIMETypes: ['application/json'],
      },
      ...extra,
    });

  test('CreateModelPackage refuses Tags beside ModelPackageGroupName, and creates no version', async () => {
    const err = await refused(sm.send(pkg({ Tags: [{ Key: 'team', Value: 'lm' }] })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      'Tags are not supported in Model Package versions. Please add them to the Model Package Group',
    );
    const list = await sm.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'rules-group' }));
    expect(list.ModelPackageSummaryList).toEqual([]);
  });

  test('AddTags on a version is refused before the handler: the version keeps no tags of its own', async () => {
    const created = await sm.send(pkg());
    const err = await refused(
      sm.send(new AddTagsCommand({ ResourceArn: created.ModelPackageArn, Tags: [{ Key: 'team', Value: 'lm' }] })),
    );
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      'Tags are not supported in Model Package versions. Please add them to the Model Package Group',
    );
    const listed = await sm.send(new ListTagsCommand({ ResourceArn: created.ModelPackageArn }));
    expect(listed.Tags ?? []).toEqual([]);
  });

  test('CustomerMetadataProperties: at most 50 entries, also after an update merges new ones in', async () => {
    const props = (n: number, prefix: string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));
    const err = await refused(sm.send(pkg({ CustomerMetadataProperties: props(51, 'a') })));
    expect(err.message).toMatch(
      /at 'customerMetadataProperties' failed to satisfy constraint: Member must have length less than or equal to 50/,
    );

    const created = await sm.send(pkg({ CustomerMetadataProperties: props(45, 'a') }));
    const over = await refused(
      sm.send(
        new UpdateModelPackageCommand({
          ModelPackageArn: created.ModelPackageArn,
          CustomerMetadataProperties: props(6, 'b'),
        }),
      ),
    );
    expect(over.name).toBe('ValidationException');
    expect(over.message).toMatch(/at most 50 CustomerMetadataProperties/);
    // Removing as many as are added keeps it within the limit.
    await sm.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: created.ModelPackageArn,
        CustomerMetadataProperties: props(6, 'b'),
        CustomerMetadataPropertiesToRemove: ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'],
      }),
    );
  });
});

describe('job and endpoint state rules', () => {
  test('StopTrainingJob on a Completed job is refused', async () => {
    await sm.send(new CreateTrainingJobCommand(trainingRequest('done-job', bucket)));
    await waitForJob(sm, 'done-job', (j) => j.TrainingJobStatus === 'Completed');
    const err = await refused(sm.send(new StopTrainingJobCommand({ TrainingJobName: 'done-job' })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe('The request was rejected because the training job is in status Completed.');
  });

  test('DeleteEndpoint and UpdateEndpoint are refused while the endpoint is Creating; Delete works once InService', async () => {
    await modelAndConfig(sm, 'models', 'creating', { env: { FAKE_PING_DELAY: '2' } });
    await sm.send(new CreateEndpointCommand({ EndpointName: 'creating', EndpointConfigName: 'creating' }));
    const del = await refused(sm.send(new DeleteEndpointCommand({ EndpointName: 'creating' })));
    expect(del.name).toBe('ValidationException');
    expect(del.message).toBe(
      'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/creating".',
    );
    const upd = await refused(
      sm.send(new UpdateEndpointCommand({ EndpointName: 'creating', EndpointConfigName: 'creating' })),
    );
    expect(upd.message).toMatch(/^Cannot update in-progress endpoint/);
    await waitEndpoint(sm, 'creating', (d) => d.EndpointStatus === 'InService');
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'creating' }));
  });
});

describe('warm start rules', () => {
  const definition = () => {
    const t = trainingRequest('unused', bucket);
    return {
      StaticHyperParameters: { sleep: '0.01', steps: '2' },
      AlgorithmSpecification: t.AlgorithmSpecification,
      RoleArn: t.RoleArn,
      InputDataConfig: t.InputDataConfig,
      OutputDataConfig: t.OutputDataConfig,
      ResourceConfig: { InstanceType: 'ml.c5.xlarge' as const, InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    };
  };
  const tuning = (
    name: string,
    warm?: { parents: string[]; type: 'IdenticalDataAndAlgorithm' | 'TransferLearning' },
    change: (r: CreateHyperParameterTuningJobCommandInput) => void = () => undefined,
  ): CreateHyperParameterTuningJobCommandInput => {
    const r: CreateHyperParameterTuningJobCommandInput = {
      HyperParameterTuningJobName: name,
      HyperParameterTuningJobConfig: {
        Strategy: 'Random',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:loss' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 },
        ParameterRanges: { ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.01', MaxValue: '0.5' }] },
      },
      TrainingJobDefinition: definition(),
      ...(warm
        ? {
            WarmStartConfig: {
              ParentHyperParameterTuningJobs: warm.parents.map((n) => ({ HyperParameterTuningJobName: n })),
              WarmStartType: warm.type,
            },
          }
        : {}),
    };
    change(r);
    return r;
  };

  beforeAll(async () => {
    await sm.send(new CreateHyperParameterTuningJobCommand(tuning('ws-parent')));
    await waitUntil(
      async () =>
        (await sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'ws-parent' })))
          .HyperParameterTuningJobStatus === 'Completed',
      60_000,
      'parent tuning job',
      200,
    );
  });

  const identical = { parents: ['ws-parent'], type: 'IdenticalDataAndAlgorithm' as const };

  test('a parent that is still InProgress is refused; so is stopping a Completed tuning job', async () => {
    await sm.send(
      new CreateHyperParameterTuningJobCommand(
        tuning('ws-running', undefined, (r) => {
          (r.TrainingJobDefinition as { StaticHyperParameters: Record<string, string> }).StaticHyperParameters.sleep =
            '1';
        }),
      ),
    );
    const err = await refused(
      sm.send(
        new CreateHyperParameterTuningJobCommand(
          tuning('ws-child-1', { parents: ['ws-running'], type: 'TransferLearning' }),
        ),
      ),
    );
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/must be in a terminal state/);
    await sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'ws-running' }));
    const stop = await refused(
      sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'ws-parent' })),
    );
    expect(stop.message).toBe('The request was rejected because the tuning job is in status Completed.');
  });

  test('a different objective metric, or a different number of hyperparameters, is refused', async () => {
    const objective = await refused(
      sm.send(
        new CreateHyperParameterTuningJobCommand(
          tuning('ws-child-2', identical, (r) => {
            r.HyperParameterTuningJobConfig!.HyperParameterTuningJobObjective!.MetricName = 'train:loss';
          }),
        ),
      ),
    );
    expect(objective.message).toMatch(/objective metric of a warm start tuning job must be the same/);
    const count = await refused(
      sm.send(
        new CreateHyperParameterTuningJobCommand(
          tuning('ws-child-3', identical, (r) => {
            r.TrainingJobDefinition!.StaticHyperParameters = { sleep: '0.01', steps: '2', extra: '1' };
          }),
        ),
      ),
    );
    expect(count.message).toMatch(/total number of static plus tunable hyperparameters/);
  });

  test('IdenticalDataAndAlgorithm refuses another image, and data that changed since the parent ran', async () => {
    const image = await refused(
      sm.send(
        new CreateHyperParameterTuningJobCommand(
          tuning('ws-child-4', identical, (r) => {
            r.TrainingJobDefinition!.AlgorithmSpecification!.TrainingImage = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'1'.repeat(64)}`;
          }),
        ),
      ),
    );
    expect(image.message).toMatch(/same training image .* Use TransferLearning/);

    // New data synced into the same prefix: the URIs are equal, the data is not.
    await s3(moto.url).send(new PutObjectCommand({ Bucket: bucket, Key: 'data/train/new.txt', Body: 'new' }));
    const data = await refused(sm.send(new CreateHyperParameterTuningJobCommand(tuning('ws-child-5', identical))));
    expect(data.message).toMatch(/data of channel\(s\) train changed since ws-parent ran/);

    // TransferLearning takes new data.
    await sm.send(
      new CreateHyperParameterTuningJobCommand(
        tuning('ws-child-6', { parents: ['ws-parent'], type: 'TransferLearning' }),
      ),
    );
    await sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'ws-child-6' }));
  });
});

describe('alarm periods on SageMaker one-minute metrics (cloudwatch.sub-minute-period)', () => {
  const minute = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
  const alarm = {
    AlarmName: 'five-xx',
    Namespace: 'AWS/SageMaker',
    MetricName: 'Invocation5XXErrors',
    Statistic: 'Sum' as const,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold' as const,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  };
  const error = (t: number) => ({ t, status: 500, latencyUs: 1000 });

  test('a 10 s period sees data only when its window holds a minute boundary; otherwise data is missing', () => {
    const events = [error(minute + 2_000), error(minute + 30_000)];
    expect(alarmFires({ ...alarm, Period: 10 }, events, 0, minute + 5_000)).toEqual({ fires: true, value: 1 });
    expect(alarmFires({ ...alarm, Period: 10 }, events, 0, minute + 35_000)).toEqual({
      fires: false,
      missingData: true,
    });
    expect(alarmFires({ ...alarm, Period: 30, TreatMissingData: 'breaching' }, [], 0, minute + 45_000).fires).toBe(
      true,
    );
    // A one-minute period sees both errors.
    expect(alarmFires({ ...alarm, Period: 60 }, events, 0, minute + 35_000)).toEqual({ fires: true, value: 2 });
  });
});

describe('dashboards, served by moto behind the gateway (cloudwatch.dashboard-name, cloudwatch.dashboard-body)', () => {
  const cw = () => new CloudWatchClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const body = JSON.stringify({
    widgets: [{ type: 'text', x: 0, y: 0, width: 24, height: 2, properties: { markdown: 'hi' } }],
  });

  test('a name outside A-Z, a-z, 0-9, "-" and "_" (or over 255) is refused, and nothing is created', async () => {
    for (const name of ['jax.lm', 'jax lm', 'x'.repeat(256)]) {
      const err = await refused(cw().send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body })));
      expect(err.name).toBe('DashboardInvalidInputError');
      expect(err.message).toMatch(/DashboardName/);
    }
    const gone = await refused(cw().send(new GetDashboardCommand({ DashboardName: 'jax.lm' })));
    expect(['DashboardNotFoundError', 'ResourceNotFound']).toContain(gone.name); // AWS's code is ResourceNotFound
  });

  test('a body that is not a JSON object, or a widget off the 24-column grid, is refused', async () => {
    const put = (b: string) => cw().send(new PutDashboardCommand({ DashboardName: 'grid', DashboardBody: b }));
    expect((await refused(put('not json'))).message).toMatch(/valid JSON object/);
    expect((await refused(put('[]'))).message).toMatch(/valid JSON object/);
    const wide = JSON.stringify({ widgets: [{ type: 'text', x: 12, width: 25, properties: { markdown: 'x' } }] });
    expect((await refused(put(wide))).message).toMatch(/widgets\[0\]\.width/);
  });

  test('a valid dashboard is put (twice: an upsert), read back and deleted; deleting it again is not found', async () => {
    const name = 'sagemaker-endpoint-jax-lm';
    await cw().send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
    await cw().send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
    expect((await cw().send(new GetDashboardCommand({ DashboardName: name }))).DashboardBody).toBe(body);
    await cw().send(new DeleteDashboardsCommand({ DashboardNames: [name] }));
    const again = await refused(cw().send(new DeleteDashboardsCommand({ DashboardNames: [name] })));
    expect(['DashboardNotFoundError', 'ResourceNotFound']).toContain(again.name);
  });
});

describe('the table', () => {
  test('every rule names operations and an https source; behaviour rules name a file that exists', () => {
    const ids = DOCUMENTED_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of DOCUMENTED_RULES) {
      expect(rule.operations.length).toBeGreaterThan(0);
      expect(rule.source).toMatch(/^https:\/\//);
      expect(rule.statement.length).toBeGreaterThan(20);
      if ('enforcedBy' in rule)
        expect(fs.existsSync(path.join(REPO, rule.enforcedBy.split(' ')[0] as string))).toBe(true);
    }
  });

  test("docs/local-mode-fidelity.md's documented-rules section lists every rule by id, with its source", () => {
    const fidelity = fs.readFileSync(path.join(REPO, 'docs/local-mode-fidelity.md'), 'utf8');
    const missing = DOCUMENTED_RULES.filter((r) => !fidelity.includes(`\`${r.id}\``) || !fidelity.includes(r.source));
    expect(missing.map((r) => r.id)).toEqual([]);
  });
});
