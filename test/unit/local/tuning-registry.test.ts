/** Tuning jobs (trials as real fixture training jobs) and the model registry of the local service. */
import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  ListTagsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  StopHyperParameterTuningJobCommand,
  UpdateModelPackageCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { grid, rng, sampleRandom } from '../../../local/service/sagemaker/tuning-strategy';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { type Moto, s3, sagemaker, seedBucket, startMoto, startService, tmpDir, trainingRequest } from './helpers';

jest.setTimeout(90_000);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
const bucket = 'tune';

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/b.txt': 'b' });
  svc = await startService(moto.url, tmpDir('local-tune-'));
  sm = sagemaker(svc.url);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

function tuningRequest(
  name: string,
  strategy: 'Random' | 'Grid' | 'Bayesian',
  maxJobs: number | undefined,
  parallel: number,
  extraStatic: Record<string, string> = {},
): CreateHyperParameterTuningJobCommandInput {
  const t = trainingRequest('unused', bucket);
  return {
    HyperParameterTuningJobName: name,
    HyperParameterTuningJobConfig: {
      Strategy: strategy,
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:loss' },
      ResourceLimits: { MaxNumberOfTrainingJobs: maxJobs, MaxParallelTrainingJobs: parallel },
      ParameterRanges:
        strategy === 'Grid'
          ? { CategoricalParameterRanges: [{ Name: 'lr', Values: ['0.5', '0.01', '0.2'] }] }
          : {
              ContinuousParameterRanges: [
                { Name: 'lr', MinValue: '0.001', MaxValue: '0.5', ScalingType: 'Logarithmic' },
              ],
              IntegerParameterRanges: [{ Name: 'steps', MinValue: '2', MaxValue: '4' }],
            },
    },
    TrainingJobDefinition: {
      StaticHyperParameters: { sleep: '0.05', ...(strategy === 'Grid' ? { steps: '2' } : {}), ...extraStatic },
      AlgorithmSpecification: t.AlgorithmSpecification,
      RoleArn: t.RoleArn,
      InputDataConfig: t.InputDataConfig,
      OutputDataConfig: t.OutputDataConfig,
      ResourceConfig: { InstanceType: 'ml.c5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    },
  };
}

async function waitTuning(
  name: string,
  done: (d: DescribeHyperParameterTuningJobCommandOutput) => boolean,
  onPoll?: (d: DescribeHyperParameterTuningJobCommandOutput) => void,
): Promise<DescribeHyperParameterTuningJobCommandOutput> {
  let d: DescribeHyperParameterTuningJobCommandOutput | undefined;
  await waitUntil(
    async () => {
      d = await sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }));
      onPoll?.(d);
      return done(d);
    },
    60_000,
    `tuning job ${name}`,
    100,
  );
  return d as DescribeHyperParameterTuningJobCommandOutput;
}

test(
  'strategies: Random samples within ranges (log scale), ' + 'reproducibly; Grid enumerates categorical combinations',
  () => {
    const ranges = {
      ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.001', MaxValue: '0.1', ScalingType: 'Logarithmic' }],
      IntegerParameterRanges: [{ Name: 'n', MinValue: '1', MaxValue: '3' }],
      CategoricalParameterRanges: [{ Name: 'act', Values: ['relu', 'gelu'] }],
    };
    const r = rng('seed');
    const draws = Array.from({ length: 200 }, () => sampleRandom(ranges, r));
    const lrs = draws.map((d) => Number(d.lr));
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(0.001);
    expect(Math.max(...lrs)).toBeLessThanOrEqual(0.1);
    // log-uniform: half the draws below the geometric middle
    expect(lrs.filter((x) => x < 0.01).length).toBeGreaterThan(60);
    expect(new Set(draws.map((d) => d.n))).toEqual(new Set(['1', '2', '3']));
    expect(sampleRandom(ranges, rng('same'))).toEqual(sampleRandom(ranges, rng('same')));
    expect(
      grid({
        CategoricalParameterRanges: [
          { Name: 'a', Values: ['1', '2'] },
          { Name: 'b', Values: ['x', 'y', 'z'] },
        ],
      }),
    ).toHaveLength(6);
  },
);

test(
  'a Random tuning job runs its trials as training jobs, at most MaxParallelTrainingJobs at a time, and picks the ' +
    'best',
  async () => {
    await sm.send(new CreateHyperParameterTuningJobCommand(tuningRequest('tune-rand', 'Random', 4, 2)));
    let maxRunning = 0;
    const d = await waitTuning(
      'tune-rand',
      (x) => x.HyperParameterTuningJobStatus !== 'InProgress',
      (x) => (maxRunning = Math.max(maxRunning, x.TrainingJobStatusCounters?.InProgress ?? 0)),
    );
    expect(d.HyperParameterTuningJobStatus).toBe('Completed');
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(d.TrainingJobStatusCounters).toEqual({
      Completed: 4,
      InProgress: 0,
      RetryableError: 0,
      NonRetryableError: 0,
      Stopped: 0,
    });
    expect(d.ObjectiveStatusCounters).toEqual({ Succeeded: 4, Pending: 0, Failed: 0 });
    const list = await sm.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'tune-rand',
        SortBy: 'FinalObjectiveMetricValue',
        SortOrder: 'Ascending',
      }),
    );
    const trials = list.TrainingJobSummaries ?? [];
    expect(trials).toHaveLength(4);
    expect(trials[0]?.TrainingJobName).toBe(d.BestTrainingJob?.TrainingJobName);
    expect(trials[0]?.TrainingJobName).toMatch(/^tune-rand-\d{3}-[0-9a-f]{8}$/);
    const values = trials.map((t) => t.FinalHyperParameterTuningJobObjectiveMetric?.Value as number);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    const best = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: d.BestTrainingJob!.TrainingJobName }));
    expect(best.TuningJobArn).toBe(d.HyperParameterTuningJobArn);
    expect(best.HyperParameters).toMatchObject({
      sleep: '0.05',
      _tuning_objective_metric: 'validation:loss',
      lr: d.BestTrainingJob!.TunedHyperParameters!.lr,
    });
    const lr = Number(d.BestTrainingJob!.TunedHyperParameters!.lr);
    expect(lr).toBeGreaterThanOrEqual(0.001);
    expect(lr).toBeLessThanOrEqual(0.5);
  },
);

test('Grid runs every categorical value; Bayesian is emulated with Random and says so', async () => {
  await sm.send(new CreateHyperParameterTuningJobCommand(tuningRequest('tune-grid', 'Grid', undefined, 3)));
  const g = await waitTuning('tune-grid', (x) => x.HyperParameterTuningJobStatus !== 'InProgress');
  expect(g.HyperParameterTuningJobStatus).toBe('Completed');
  const list = await sm.send(
    new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'tune-grid' }),
  );
  expect(new Set(list.TrainingJobSummaries?.map((t) => t.TunedHyperParameters?.lr))).toEqual(
    new Set(['0.5', '0.01', '0.2']),
  );
  expect(g.BestTrainingJob?.TunedHyperParameters?.lr).toBe('0.01');
  const bad = tuningRequest('tune-gridc', 'Grid', undefined, 1);
  bad.HyperParameterTuningJobConfig!.ParameterRanges = {
    ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.1', MaxValue: '0.2' }],
  };
  await expect(sm.send(new CreateHyperParameterTuningJobCommand(bad))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('categorical'),
  });

  const created = await sm.send(
    new CreateHyperParameterTuningJobCommand(tuningRequest('tune-bayes', 'Bayesian', 1, 1)),
  );
  const tags = await sm.send(new ListTagsCommand({ ResourceArn: created.HyperParameterTuningJobArn }));
  expect(tags.Tags).toContainEqual({
    Key: 'local:strategy',
    Value: 'Bayesian emulated with Random search by the local service',
  });
  await waitTuning('tune-bayes', (x) => x.HyperParameterTuningJobStatus === 'Completed');
  await expect(
    sm.send(new CreateHyperParameterTuningJobCommand(tuningRequest('tune-bayes', 'Bayesian', 1, 1))),
  ).rejects.toMatchObject({ name: 'ResourceInUse' });
  await expect(
    sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'nope' })),
  ).rejects.toMatchObject({ name: 'ResourceNotFound' });
});

test('StopHyperParameterTuningJob stops running trials: Stopping → Stopped', async () => {
  await sm.send(new CreateHyperParameterTuningJobCommand(tuningRequest('tune-stop', 'Random', 6, 2, { sleep: '0.2' })));
  await waitTuning('tune-stop', (x) => (x.TrainingJobStatusCounters?.InProgress ?? 0) > 0);
  await new Promise((r) => setTimeout(r, 500));
  await sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'tune-stop' }));
  const d = await waitTuning('tune-stop', (x) => x.HyperParameterTuningJobStatus === 'Stopped');
  expect(d.TrainingJobStatusCounters?.InProgress).toBe(0);
  const trials = await sm.send(
    new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'tune-stop' }),
  );
  expect(trials.TrainingJobSummaries!.length).toBeLessThan(6);
});

test(
  'model registry: groups, versioned packages with ' + 'ClientToken idempotency, approval updates and listing',
  async () => {
    const g = await sm.send(
      new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'lm', ModelPackageGroupDescription: 'the LM' }),
    );
    expect(g.ModelPackageGroupArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model-package-group/lm');
    await expect(sm.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'lm' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/already exists/),
    });
    await expect(
      sm.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'nope' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/does not exist/),
    });
    const spec = {
      Containers: [{ Image: 'img@sha256:' + 'a'.repeat(64), ModelDataUrl: 's3://b/model.tar.gz' }],
      SupportedContentTypes: ['application/json'],
      SupportedResponseMIMETypes: ['application/json'],
    };
    const v1 = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'lm',
        InferenceSpecification: spec,
        ModelApprovalStatus: 'Approved',
        CustomerMetadataProperties: { objective: '1.5' },
        ClientToken: 'tok-1',
      }),
    );
    const again = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'lm',
        InferenceSpecification: spec,
        ModelApprovalStatus: 'Approved',
        CustomerMetadataProperties: { objective: '1.5' },
        ClientToken: 'tok-1',
      }),
    );
    expect(again.ModelPackageArn).toBe(v1.ModelPackageArn);
    const v2 = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'lm',
        InferenceSpecification: spec,
        ClientToken: 'tok-2',
      }),
    );
    expect(v1.ModelPackageArn).toMatch(/model-package\/lm\/1$/);
    expect(v2.ModelPackageArn).toMatch(/model-package\/lm\/2$/);
    const d2 = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: v2.ModelPackageArn }));
    expect(d2).toMatchObject({
      ModelPackageVersion: 2,
      ModelApprovalStatus: 'PendingManualApproval',
      ModelPackageGroupName: 'lm',
      ModelPackageStatus: 'Completed',
    });
    expect(d2.InferenceSpecification?.Containers?.[0]?.ModelDataUrl).toBe('s3://b/model.tar.gz');
    const approved = await sm.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: 'lm',
        ModelApprovalStatus: 'Approved',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 1,
      }),
    );
    expect(approved.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([1]);
    await sm.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: v2.ModelPackageArn,
        ModelApprovalStatus: 'Approved',
        ApprovalDescription: 'ok by alice',
      }),
    );
    const latest = await sm.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: 'lm',
        ModelApprovalStatus: 'Approved',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 1,
      }),
    );
    expect(latest.ModelPackageSummaryList?.[0]?.ModelPackageArn).toBe(v2.ModelPackageArn);
    expect(
      (await sm.send(new DescribeModelPackageCommand({ ModelPackageName: v2.ModelPackageArn }))).ApprovalDescription,
    ).toBe('ok by alice');
    await expect(
      sm.send(
        new DescribeModelPackageCommand({
          ModelPackageName: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/lm/9',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  },
);
