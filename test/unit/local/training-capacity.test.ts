/**
 * LOCAL_FAULTS capacity/internal and SageMaker's RetryStrategy in the local service: a start on a scarce instance
 * type that finds no capacity waits in Starting and fails with SageMaker's CapacityError (nothing billed, and not
 * retried); a start that fails with InternalServerError is started again under RetryStrategy (SecondaryStatus back at
 * Starting, the retry counted in the status message) and fails once its retries are spent.
 */
import { CreateTrainingJobCommand, type SageMakerClient, StopTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { classifyAwsError } from '../../../activities/aws-errors';
import { ErrorType } from '../../../contracts/errors';
import {
  CAPACITY_FAILURE,
  CAPACITY_WAIT_MESSAGE,
  INTERNAL_FAILURE,
} from '../../../local/service/sagemaker/jobs/training/training';
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
  seedFailingOnce,
} from './helpers';

jest.setTimeout(90_000);

let moto: Moto;
const services: LocalService[] = [];
const bucket = 'capacity';

beforeAll(async () => {
  moto = await startMoto();
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/b.txt': 'b' });
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  await moto?.stop();
});

async function service(faults: string, quotas?: string): Promise<SageMakerClient> {
  const svc = await startService(moto.url, tmpDir('local-capacity-'), { faults, capacityWaitMs: 300, quotas });
  services.push(svc);
  return sagemaker(svc.url);
}

test('without RetryStrategy a start without capacity fails with CapacityError, unbilled; small types are unaffected', async () => {
  const sm = await service('capacity:1');
  await sm.send(new CreateTrainingJobCommand(trainingRequest('no-capacity', bucket, {}, 4)));
  const d = await waitForJob(sm, 'no-capacity', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Failed');
  expect(d.FailureReason).toBe(CAPACITY_FAILURE);
  expect(d.SecondaryStatusTransitions?.map((t) => [t.Status, t.StatusMessage])).toEqual([
    ['Starting', CAPACITY_WAIT_MESSAGE],
    ['Failed', 'Training job failed'],
  ]);
  expect(d.TrainingStartTime).toBeUndefined();
  expect(d.BillableTimeInSeconds).toBeUndefined();

  await sm.send(
    new CreateTrainingJobCommand({
      ...trainingRequest('small-type', bucket),
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
    }),
  );
  expect((await waitForJob(sm, 'small-type', (j) => j.TrainingJobStatus !== 'InProgress')).TrainingJobStatus).toBe(
    'Completed',
  );
});

test('with RetryStrategy the job starts again after an InternalServerError at start and completes', async () => {
  const sm = await service(`internal:0.5,seed:${seedFailingOnce()}`);
  await sm.send(
    new CreateTrainingJobCommand({ ...trainingRequest('retried', bucket), RetryStrategy: { MaximumRetryAttempts: 2 } }),
  );
  const d = await waitForJob(sm, 'retried', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  expect(d.FailureReason).toBeUndefined();
  expect(d.RetryStrategy).toEqual({ MaximumRetryAttempts: 2 });
  expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
    'Starting',
    'Starting',
    'Downloading',
    'Training',
    'Uploading',
    'Completed',
  ]);
  expect(d.SecondaryStatusTransitions?.[1]?.StatusMessage).toBe(
    `Retrying the training job (retry 1 of 2) after ${INTERNAL_FAILURE}`,
  );
});

test('RetryStrategy does not cover a capacity failure: the job fails with CapacityError, retries unused', async () => {
  // API_RetryStrategy: retries are for a job that fails with InternalServerError; a CapacityError is final.
  const sm = await service('capacity:1');
  await sm.send(
    new CreateTrainingJobCommand({ ...trainingRequest('spent', bucket), RetryStrategy: { MaximumRetryAttempts: 2 } }),
  );
  const d = await waitForJob(sm, 'spent', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Failed');
  expect(d.FailureReason).toBe(CAPACITY_FAILURE);
  expect(d.SecondaryStatusTransitions?.filter((t) => t.Status === 'Starting')).toHaveLength(1);
});

test('a job that keeps failing internally fails with InternalServerError once its retries are spent', async () => {
  const sm = await service('internal:1');
  await sm.send(
    new CreateTrainingJobCommand({
      ...trainingRequest('internal', bucket),
      RetryStrategy: { MaximumRetryAttempts: 2 },
    }),
  );
  const d = await waitForJob(sm, 'internal', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Failed');
  expect(d.FailureReason).toBe(INTERNAL_FAILURE);
  expect(d.SecondaryStatusTransitions?.filter((t) => t.Status === 'Starting')).toHaveLength(3);
});

test('an account quota (LOCAL_QUOTAS) refuses a create as SageMaker does; the pipeline waits when it is in use, fails when it is too small', async () => {
  const sm = await service('', 'ml.p4de.24xlarge=4');
  // Holds all four instances of the quota while it trains.
  await sm.send(new CreateTrainingJobCommand(trainingRequest('holder', bucket, { steps: '100', sleep: '1' }, 4)));
  const refused = async (name: string, instances: number) => {
    try {
      await sm.send(new CreateTrainingJobCommand(trainingRequest(name, bucket, {}, instances)));
    } catch (err) {
      return err as Error;
    }
    throw new Error(`${name} was accepted`);
  };
  const full = await refused('waits', 1);
  expect(full.name).toBe('ResourceLimitExceeded');
  expect(full.message).toMatch(
    /^The account-level service limit 'ml\.p4de\.24xlarge for training job usage' is 4 Instances, with current utilization of 4 Instances and a request delta of 1 Instances\./,
  );
  expect(classifyAwsError(full)).toBe(ErrorType.CapacityWait);
  expect(classifyAwsError(await refused('too-big', 8))).toBe(ErrorType.AwsValidation);

  await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'holder' }));
  await waitForJob(sm, 'holder', (j) => j.TrainingJobStatus === 'Stopped' || j.TrainingJobStatus === 'Failed');
  // The quota is free again: the same create now starts.
  await sm.send(new CreateTrainingJobCommand(trainingRequest('waits', bucket, {}, 1)));
  expect((await waitForJob(sm, 'waits', (j) => j.TrainingJobStatus !== 'InProgress')).TrainingJobStatus).toBe(
    'Completed',
  );
});
