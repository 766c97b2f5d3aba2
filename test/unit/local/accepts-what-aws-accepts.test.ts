/**
 * Request shapes AWS's model allows and the local service used to refuse with a constraint AWS does not have:
 * served now, for real (trials run on the resources the request names), or refused with a message that says the
 * local service cannot serve them.
 */
import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import {
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
let stateDir: string;
let sm: SageMakerClient;
const bucket = 'accepts';

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/b.txt': 'b' });
  stateDir = tmpDir('local-accepts-');
  svc = await startService(moto.url, stateDir);
  sm = sagemaker(svc.url);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

/** A tuning request as the SageMaker Python SDK v2's HyperparameterTuner.fit() sends it: no ResourceConfig. */
function sdkV2Tuning(name: string, resources: Record<string, unknown>): CreateHyperParameterTuningJobCommandInput {
  const t = trainingRequest('unused', bucket);
  return {
    HyperParameterTuningJobName: name,
    HyperParameterTuningJobConfig: {
      Strategy: 'Random',
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:loss' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2 },
      ParameterRanges: { ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.01', MaxValue: '0.1' }] },
    },
    TrainingJobDefinition: {
      StaticHyperParameters: { sleep: '0.05', steps: '2' },
      AlgorithmSpecification: t.AlgorithmSpecification,
      RoleArn: t.RoleArn,
      InputDataConfig: t.InputDataConfig,
      OutputDataConfig: t.OutputDataConfig,
      HyperParameterTuningResourceConfig: resources,
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    },
  };
}

async function trialsOf(name: string): Promise<string[]> {
  await waitUntil(
    async () =>
      (await sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })))
        .HyperParameterTuningJobStatus === 'Completed',
    90_000,
    `tuning job ${name}`,
    200,
  );
  const list = await sm.send(
    new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name }),
  );
  return (list.TrainingJobSummaries ?? []).map((t) => t.TrainingJobName as string);
}

test('a tuning definition with HyperParameterTuningResourceConfig (SDK v2) runs its trials on those resources', async () => {
  // Before: "Value null at 'trainingJobDefinition.resourceConfig' failed to satisfy constraint: Member must not be
  // null".
  await sm.send(
    new CreateHyperParameterTuningJobCommand(
      sdkV2Tuning('tune-sdkv2', { InstanceType: 'ml.m5.xlarge', InstanceCount: 2, VolumeSizeInGB: 30 }),
    ),
  );
  const trials = await trialsOf('tune-sdkv2');
  expect(trials).toHaveLength(2);
  for (const trial of trials) {
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: trial }));
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.ResourceConfig).toEqual({ InstanceType: 'ml.m5.xlarge', InstanceCount: 2, VolumeSizeInGB: 30 });
    // Two instances really ran: each host got the two-host resource config.
    const rc = JSON.parse(
      fs.readFileSync(path.join(stateDir, `jobs/${trial}/algo-2/input/config/resourceconfig.json`), 'utf8'),
    ) as { hosts: string[]; current_instance_type: string };
    expect(rc).toMatchObject({ hosts: ['algo-1', 'algo-2'], current_instance_type: 'ml.m5.xlarge' });
  }
  const tuning = await sm.send(
    new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'tune-sdkv2' }),
  );
  expect(tuning.TrainingJobDefinition?.HyperParameterTuningResourceConfig?.InstanceCount).toBe(2);
});

test('InstanceConfigs in order of preference: local capacity never runs out, so the first is granted', async () => {
  await sm.send(
    new CreateHyperParameterTuningJobCommand(
      sdkV2Tuning('tune-flex', {
        AllocationStrategy: 'Prioritized',
        InstanceConfigs: [
          { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
          { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
        ],
      }),
    ),
  );
  for (const trial of await trialsOf('tune-flex')) {
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: trial }));
    expect(d.ResourceConfig?.InstanceType).toBe('ml.g5.xlarge');
  }
});

test('documented combinations AWS refuses are refused: both resource configs, InstanceConfigs with InstanceType', async () => {
  const both = sdkV2Tuning('tune-both', { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
  both.TrainingJobDefinition!.ResourceConfig = { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 };
  await expect(sm.send(new CreateHyperParameterTuningJobCommand(both))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('either ResourceConfig or HyperParameterTuningResourceConfig'),
  });
  const mixed = sdkV2Tuning('tune-mixed', {
    InstanceType: 'ml.m5.xlarge',
    InstanceConfigs: [{ InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 }],
  });
  await expect(sm.send(new CreateHyperParameterTuningJobCommand(mixed))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('do not provide values for InstanceType'),
  });
});

test('a training job without StoppingCondition gets the documented default of one day', async () => {
  const { StoppingCondition: _s, ...req } = trainingRequest('job-no-stop', bucket);
  await sm.send(new CreateTrainingJobCommand(req));
  const d = await waitForJob(sm, 'job-no-stop', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  expect(d.StoppingCondition?.MaxRuntimeInSeconds).toBe(86_400);
});

test('S3 locations as HTTPS URLs (the model allows https://) are read and written', async () => {
  const req = trainingRequest('job-https', bucket);
  req.OutputDataConfig = { S3OutputPath: `https://${bucket}.s3.us-east-1.amazonaws.com/https-out` };
  req.InputDataConfig[0]!.DataSource!.S3DataSource!.S3Uri = `https://s3.us-east-1.amazonaws.com/${bucket}/data/train/`;
  await sm.send(new CreateTrainingJobCommand(req));
  const d = await waitForJob(sm, 'job-https', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  await s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: 'https-out/job-https/output/model.tar.gz' }));
});

test('ListTags takes MaxResults above 100 (the model says at least 50, no maximum)', async () => {
  const job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-no-stop' }));
  await expect(
    sm.send(new ListTagsCommand({ ResourceArn: job.TrainingJobArn, MaxResults: 500 })),
  ).resolves.toBeDefined();
});

test('shapes the local service cannot serve are refused as such, not as AWS constraints', async () => {
  const t = trainingRequest('job-efs', bucket);
  const req: CreateTrainingJobCommandInput = {
    ...t,
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: {
          FileSystemDataSource: {
            FileSystemId: 'fs-12345678',
            FileSystemType: 'EFS',
            FileSystemAccessMode: 'ro',
            DirectoryPath: '/data',
          },
        },
      },
    ],
  };
  await expect(sm.send(new CreateTrainingJobCommand(req))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringMatching(/^The local SageMaker service does not serve channels from FileSystemDataSource/),
  });
});
