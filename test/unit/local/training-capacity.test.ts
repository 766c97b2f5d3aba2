/**
 * LOCAL_FAULTS capacity/internal and SageMaker's RetryStrategy in the local service: a start on a scarce instance
 * type that finds no capacity waits in Starting and fails with SageMaker's CapacityError (nothing billed, and not
 * retried); a start that fails with InternalServerError is started again under RetryStrategy (SecondaryStatus back at
 * Starting, the retry counted in the status message) and fails once its retries are spent.
 */
import { CreateTrainingJobCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CAPACITY_FAILURE, CAPACITY_WAIT_MESSAGE, INTERNAL_FAILURE } from '../../../local/service/sagemaker/training';
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

async function service(faults: string): Promise<SageMakerClient> {
  const svc = await startService(moto.url, tmpDir('local-capacity-'), { faults, capacityWaitMs: 300 });
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
