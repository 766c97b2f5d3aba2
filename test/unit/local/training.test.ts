/** The local SageMaker service's training jobs, driven with the real SageMaker SDK client against moto S3. */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  AddTagsCommand,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTagsCommand,
  ListTrainingJobsCommand,
  SearchCommand,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LocalService } from '../../../local/service/server';
import { roleCredentials } from '../../../local/shared/credentials';
import { waitUntil } from '../../../local/shared/procs';
import {
  credentials,
  type Moto,
  ROLE,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
  trainingRequest,
  waitForJob,
} from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let stateDir: string;
const bucket = 'train-bucket';

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, {
    'data/train/part-0.txt': 'hello world',
    'data/train/sub/part-1.txt': 'more',
    'data/val/v.txt': 'val',
  });
  stateDir = tmpDir('local-train-');
  svc = await startService(moto.url, stateDir);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

test('a training job runs the container, reports metrics, uploads model.tar.gz and ships logs', async () => {
  const sm = sagemaker(svc.url);
  const created = await sm.send(
    new CreateTrainingJobCommand({
      ...trainingRequest('job-ok', bucket, {}, 2),
      TensorBoardOutputConfig: { S3OutputPath: `s3://${bucket}/tensorboard/job-ok/` },
      Tags: [{ Key: 'owner', Value: 'test' }],
    }),
  );
  expect(created.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:training-job/job-ok');
  const d = await waitForJob(sm, 'job-ok', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  expect(d.SecondaryStatus).toBe('Completed');
  expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
    'Starting',
    'Downloading',
    'Training',
    'Uploading',
    'Completed',
  ]);
  expect(d.CreationTime).toBeInstanceOf(Date);
  const metrics = Object.fromEntries((d.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value]));
  expect(metrics['train:loss']).toBeCloseTo(5 / 4 + 0.09, 3);
  expect(metrics['validation:loss']).toBeCloseTo(5 / 4 + 0.19, 3);
  expect(d.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${bucket}/output/job-ok/output/model.tar.gz`);

  // The model tarball holds what the container wrote to /opt/ml/model, with the downloaded channels.
  const obj = await s3(moto.url).send(
    new GetObjectCommand({ Bucket: bucket, Key: 'output/job-ok/output/model.tar.gz' }),
  );
  const tgz = path.join(stateDir, 'check.tar.gz');
  fs.writeFileSync(tgz, await obj.Body!.transformToByteArray());
  const model = JSON.parse(execFileSync('tar', ['-xzOf', tgz, './model.json'], { encoding: 'utf8' })) as {
    channels: Record<string, string[]>;
    steps: number;
  };
  expect(model.channels).toEqual({ train: ['part-0.txt', 'sub'], val: ['v.txt'] });
  expect(model.steps).toBe(3);

  // Two hosts, each with its own resourceconfig.json and the shared coordinator address.
  const rc = JSON.parse(
    fs.readFileSync(path.join(stateDir, 'jobs/job-ok/algo-2/input/config/resourceconfig.json'), 'utf8'),
  ) as { current_host: string; hosts: string[] };
  expect(rc).toMatchObject({ current_host: 'algo-2', hosts: ['algo-1', 'algo-2'] });
  const log = fs.readFileSync(path.join(stateDir, 'logs/training-jobs/job-ok.log'), 'utf8');
  expect(log).toMatch(/\[algo-1\] host=algo-1 hosts=algo-1,algo-2 coordinator=127\.0\.0\.1:\d+/);
  expect(log).toMatch(/\[algo-2\] step=3 train_loss=/);
  // Each host reaches AWS as a session of the job's role, through the local endpoints (script mode downloads from S3).
  const session = roleCredentials(ROLE).sessionToken;
  // The hosts reach AWS through the service, whose gateway holds them to the role's policy.
  expect(log).toContain(`[algo-1] aws session_token=${session} s3=${svc.url} region=us-east-1`);
  expect(log).toContain(`[algo-2] aws session_token=${session} s3=${svc.url} region=us-east-1`);

  // Checkpoints were synced to CheckpointConfig.S3Uri.
  const ck = await s3(moto.url).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'checkpoints/job-ok/' }));
  expect((ck.Contents ?? []).map((o) => o.Key)).toContain('checkpoints/job-ok/ckpt-3');

  // The first host's TensorBoard files were synced to TensorBoardOutputConfig.S3OutputPath, grown to the last step.
  expect(d.TensorBoardOutputConfig).toEqual({ S3OutputPath: `s3://${bucket}/tensorboard/job-ok/` });
  const tb = await s3(moto.url).send(
    new GetObjectCommand({ Bucket: bucket, Key: 'tensorboard/job-ok/events.out.tfevents.fake' }),
  );
  expect((await tb.Body!.transformToString()).trim().split('\n').at(-1)).toMatch(/^step=3 loss=/);

  // Each host's lines are in CloudWatch Logs, one stream per host.
  const logs = new CloudWatchLogsClient({ endpoint: moto.url, region: 'us-east-1', credentials });
  const streams = await logs.send(
    new DescribeLogStreamsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamNamePrefix: 'job-ok/' }),
  );
  const names = (streams.logStreams ?? []).map((s) => s.logStreamName ?? '').sort();
  expect(names).toHaveLength(2);
  expect(names[0]).toMatch(/^job-ok\/algo-1-\d+$/);
  const events = await logs.send(
    new GetLogEventsCommand({ logGroupName: '/aws/sagemaker/TrainingJobs', logStreamName: names[1] }),
  );
  expect((events.events ?? []).map((e) => e.message)).toContain('training finished');

  // Tags given at creation, plus AddTags, come back from ListTags.
  await sm.send(new AddTagsCommand({ ResourceArn: created.TrainingJobArn, Tags: [{ Key: 'stage', Value: 'unit' }] }));
  const tags = await sm.send(new ListTagsCommand({ ResourceArn: created.TrainingJobArn }));
  expect(tags.Tags).toEqual([
    { Key: 'owner', Value: 'test' },
    { Key: 'stage', Value: 'unit' },
  ]);
});

test('TensorBoard files reach S3 while the job is still running, as SageMaker syncs them', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(
    new CreateTrainingJobCommand({
      ...trainingRequest('job-tb-live', bucket, { steps: '40', sleep: '0.1' }),
      TensorBoardOutputConfig: { S3OutputPath: `s3://${bucket}/tb-live/`, LocalPath: '/opt/ml/output/tensorboard' },
    }),
  );
  const key = 'tb-live/events.out.tfevents.fake';
  let seenWhileRunning = false;
  await waitUntil(
    async () => {
      const listed = await s3(moto.url).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tb-live/' }));
      if (!(listed.Contents ?? []).some((o) => o.Key === key)) return false;
      // Seen before the last step was written: uploaded while the host was still training.
      const got = await s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      seenWhileRunning = !(await got.Body!.transformToString()).includes('step=40 ');
      return true;
    },
    30_000,
    'the TensorBoard file in S3',
    100,
  );
  expect(seenWhileRunning).toBe(true);
  await waitForJob(sm, 'job-tb-live', (j) => j.TrainingJobStatus !== 'InProgress');
  // The end-of-job sync brings the last step.
  const tb = await s3(moto.url).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect((await tb.Body!.transformToString()).trim().split('\n').at(-1)).toMatch(/^step=40 loss=/);
});

test('Search finds a training job by its model artefact, as estimator.register() asks', async () => {
  const res = await sagemaker(svc.url).send(
    new SearchCommand({
      Resource: 'TrainingJob',
      SearchExpression: {
        Filters: [
          {
            Name: 'ModelArtifacts.S3ModelArtifacts',
            Operator: 'Equals',
            Value: `s3://${bucket}/output/job-ok/output/model.tar.gz`,
          },
        ],
      },
    }),
  );
  expect(res.Results?.map((r) => [r.TrainingJob?.TrainingJobName, r.TrainingJob?.TrainingJobStatus])).toEqual([
    ['job-ok', 'Completed'],
  ]);
  expect(res.Results?.[0]?.TrainingJob?.Tags).toContainEqual({ Key: 'owner', Value: 'test' });
});

test('a failing host fails the job with the failure file as FailureReason', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(
    new CreateTrainingJobCommand(
      trainingRequest('job-fail', bucket, { fail: '1', fail_host: 'algo-2', steps: '100', sleep: '0.1' }, 2),
    ),
  );
  const d = await waitForJob(sm, 'job-fail', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Failed');
  expect(d.SecondaryStatus).toBe('Failed');
  expect(d.FailureReason).toBe("AlgorithmError: ValueError: bad hyperparameter 'fail'");
});

test('StopTrainingJob moves through Stopping to Stopped; stopping it again is rejected once stopped', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(new CreateTrainingJobCommand(trainingRequest('job-stop', bucket, { steps: '1000', sleep: '0.05' })));
  await waitForJob(sm, 'job-stop', (j) => (j.FinalMetricDataList?.length ?? 0) > 0);
  await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'job-stop' }));
  const stopping = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-stop' }));
  expect(['Stopping', 'Stopped']).toContain(stopping.TrainingJobStatus);
  const d = await waitForJob(sm, 'job-stop', (j) => j.TrainingJobStatus === 'Stopped');
  expect(d.SecondaryStatus).toBe('Stopped');
  expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toContain('Stopping');
  // The fake trainer saved its model on SIGTERM, and SageMaker uploads what a stopped job left.
  expect(d.ModelArtifacts?.S3ModelArtifacts).toMatch(/job-stop\/output\/model\.tar\.gz$/);
  await expect(sm.send(new StopTrainingJobCommand({ TrainingJobName: 'job-stop' }))).rejects.toMatchObject({
    name: 'ValidationException',
  });
});

test('MaxRuntimeInSeconds stops the job with SecondaryStatus MaxRuntimeExceeded', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(
    new CreateTrainingJobCommand({
      ...trainingRequest('job-maxrt', bucket, { steps: '1000', sleep: '0.05' }),
      StoppingCondition: { MaxRuntimeInSeconds: 1 },
    }),
  );
  const d = await waitForJob(
    sm,
    'job-maxrt',
    (j) => j.TrainingJobStatus === 'Stopped' || j.TrainingJobStatus === 'Failed',
  );
  expect(d.TrainingJobStatus).toBe('Stopped');
  expect(d.SecondaryStatus).toBe('MaxRuntimeExceeded');
});

test('AWS error shapes: ResourceInUse, ResourceNotFound, ValidationException naming the field', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(new CreateTrainingJobCommand(trainingRequest('job-dup', bucket)));
  await expect(sm.send(new CreateTrainingJobCommand(trainingRequest('job-dup', bucket)))).rejects.toMatchObject({
    name: 'ResourceInUse',
    $metadata: { httpStatusCode: 400 },
  });
  await expect(sm.send(new StopTrainingJobCommand({ TrainingJobName: 'no-such-job' }))).rejects.toMatchObject({
    name: 'ResourceNotFound',
  });
  // As on AWS, describing a missing job is a ValidationException "Requested resource not found."
  await expect(sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'no-such-job' }))).rejects.toMatchObject({
    name: 'ValidationException',
    message: 'Requested resource not found.',
  });
  const bad = {
    ...trainingRequest('job-bad', bucket),
    ResourceConfig: { InstanceType: 'ml.p4de.24xlarge' as const, InstanceCount: 0, VolumeSizeInGB: 10 },
  };
  await expect(sm.send(new CreateTrainingJobCommand(bad))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining("'resourceConfig.instanceCount'"),
  });
  const badName = trainingRequest('bad_name!', bucket);
  await expect(sm.send(new CreateTrainingJobCommand(badName))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining("'trainingJobName'"),
  });
  const badRegex = trainingRequest('job-badre', bucket);
  badRegex.AlgorithmSpecification.MetricDefinitions = [{ Name: 'x', Regex: 'x=([0-9' }];
  await expect(sm.send(new CreateTrainingJobCommand(badRegex))).rejects.toMatchObject({
    name: 'ValidationException',
    message: expect.stringContaining('regex'),
  });
  await waitForJob(sm, 'job-dup', (j) => j.TrainingJobStatus !== 'InProgress');
});

test('ListTrainingJobs filters, sorts and paginates', async () => {
  const sm = sagemaker(svc.url);
  const all = await sm.send(
    new ListTrainingJobsCommand({ NameContains: 'job-', SortBy: 'Name', SortOrder: 'Ascending', MaxResults: 100 }),
  );
  const names = (all.TrainingJobSummaries ?? []).map((s) => s.TrainingJobName);
  expect(names).toEqual([...names].sort());
  expect(names).toEqual(expect.arrayContaining(['job-ok', 'job-fail', 'job-stop']));
  const failed = await sm.send(new ListTrainingJobsCommand({ StatusEquals: 'Failed' }));
  expect(failed.TrainingJobSummaries?.map((s) => s.TrainingJobName)).toEqual(['job-fail']);
  const page1 = await sm.send(new ListTrainingJobsCommand({ MaxResults: 2 }));
  expect(page1.TrainingJobSummaries).toHaveLength(2);
  expect(page1.NextToken).toBeDefined();
  const page2 = await sm.send(new ListTrainingJobsCommand({ MaxResults: 2, NextToken: page1.NextToken }));
  expect(page2.TrainingJobSummaries?.[0]?.TrainingJobName).not.toBe(page1.TrainingJobSummaries?.[0]?.TrainingJobName);
});

test('state survives a restart of the service; a job that was running runs again and completes', async () => {
  const sm = sagemaker(svc.url);
  await sm.send(new CreateTrainingJobCommand(trainingRequest('job-restart', bucket, { steps: '30', sleep: '0.1' })));
  await waitForJob(sm, 'job-restart', (j) => (j.FinalMetricDataList?.length ?? 0) > 0);
  await new Promise((r) => setTimeout(r, 1000));
  await svc.close();
  svc = await startService(moto.url, stateDir);
  const sm2 = sagemaker(svc.url);
  const ok = await sm2.send(new DescribeTrainingJobCommand({ TrainingJobName: 'job-ok' }));
  expect(ok.TrainingJobStatus).toBe('Completed');
  expect(ok.FinalMetricDataList?.length).toBe(2);
  const d = await waitForJob(sm2, 'job-restart', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  expect(d.SecondaryStatusTransitions?.filter((t) => t.Status === 'Starting')).toHaveLength(2);
  // It resumed from the checkpoints it had synced before the restart.
  const log = fs.readFileSync(path.join(stateDir, 'logs/training-jobs/job-restart.log'), 'utf8');
  expect(log).toMatch(/resumed from checkpoint step \d+/);
});
