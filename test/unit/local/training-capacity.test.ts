/**
 * LOCAL_FAULTS capacity and SageMaker's RetryStrategy in the local service: a start on a scarce instance type that
 * finds no capacity waits in Starting and fails with SageMaker's CapacityError (nothing billed); with RetryStrategy the
 * job starts again (SecondaryStatus back at Starting, the retry counted in the status message) and completes once
 * capacity is there; without capacity for every attempt it fails after its retries.
 */
import { CreateTrainingJobCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CAPACITY_FAILURE, CAPACITY_WAIT_MESSAGE } from '../../../local/service/sagemaker/training';
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

test('with RetryStrategy the job starts again after a capacity failure and completes', async () => {
  const sm = await service(`capacity:0.5,seed:${seedFailingOnce()}`);
  await sm.send(
    new CreateTrainingJobCommand({ ...trainingRequest('retried', bucket), RetryStrategy: { MaximumRetryAttempts: 2 } }),
  );
  const d = await waitForJob(sm, 'retried', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Completed');
  expect(d.FailureReason).toBeUndefined();
  expect(d.RetryStrategy).toEqual({ MaximumRetryAttempts: 2 });
  expect(d.SecondaryStatusTransitions?.map((t) => [t.Status, t.StatusMessage])).toEqual([
    ['Starting', CAPACITY_WAIT_MESSAGE],
    ['Starting', `Retrying the training job (retry 1 of 2) after ${CAPACITY_FAILURE}`],
    ['Downloading', 'Downloading input data'],
    ['Training', 'Training image download completed. Training in progress.'],
    ['Uploading', 'Uploading generated training model'],
    ['Completed', 'Training job completed'],
  ]);
});

test('a job that never finds capacity fails with CapacityError once its retries are spent', async () => {
  const sm = await service('capacity:1');
  await sm.send(
    new CreateTrainingJobCommand({ ...trainingRequest('spent', bucket), RetryStrategy: { MaximumRetryAttempts: 2 } }),
  );
  const d = await waitForJob(sm, 'spent', (j) => j.TrainingJobStatus !== 'InProgress');
  expect(d.TrainingJobStatus).toBe('Failed');
  expect(d.FailureReason).toBe(CAPACITY_FAILURE);
  expect(d.SecondaryStatusTransitions?.filter((t) => t.Status === 'Starting')).toHaveLength(3);
  expect(d.SecondaryStatusTransitions?.at(-2)?.StatusMessage).toBe(CAPACITY_WAIT_MESSAGE);
});
