/**
 * Every List*Jobs local mode answers filters by the time fields SageMaker's service model documents for it
 * (CreationTimeAfter/Before, LastModifiedTimeAfter/Before: ListTrainingJobs, ListProcessingJobs, ListTransformJobs,
 * ListHyperParameterTuningJobs). The jobs are finished records in the service's state, so nothing runs.
 */
import {
  ListHyperParameterTuningJobsCommand,
  ListProcessingJobsCommand,
  ListTrainingJobsCommand,
  ListTransformJobsCommand,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import type { LocalService } from '../../../local/service/server';
import { type Moto, sagemaker, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(60_000);

// Three finished jobs of each kind: created and last modified at these times (seconds since the epoch).
const TIMES = {
  early: { CreationTime: 1_000, LastModifiedTime: 1_100 },
  // Created early, modified late: only the LastModifiedTime filters tell it from `early`.
  touched: { CreationTime: 1_000, LastModifiedTime: 3_100 },
  late: { CreationTime: 3_000, LastModifiedTime: 3_100 },
};
const names = (prefix: string) => Object.keys(TIMES).map((t) => `${prefix}-${t}`);

function records(prefix: string, fields: (name: string) => Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(TIMES).map(([t, times]) => [`${prefix}-${t}`, { ...fields(`${prefix}-${t}`), ...times }]),
  );
}

let moto: Moto;
let svc: LocalService;

beforeAll(async () => {
  moto = await startMoto();
  const stateDir = tmpDir('local-list-jobs-');
  // The service keeps one JSON file per kind under <stateDir>/state and reads it back when it starts.
  fs.mkdirSync(path.join(stateDir, 'state'), { recursive: true });
  const write = (kind: string, data: Record<string, unknown>) =>
    fs.writeFileSync(path.join(stateDir, 'state', `${kind}.json`), JSON.stringify(data));
  write(
    'training-jobs',
    records('train', (n) => ({ TrainingJobName: n, TrainingJobStatus: 'Completed', SecondaryStatus: 'Completed' })),
  );
  write(
    'processing-jobs',
    records('proc', (n) => ({ ProcessingJobName: n, ProcessingJobStatus: 'Completed' })),
  );
  write(
    'transform-jobs',
    records('xform', (n) => ({ TransformJobName: n, TransformJobStatus: 'Completed' })),
  );
  write(
    'tuning-jobs',
    records('tune', (n) => ({
      HyperParameterTuningJobName: n,
      HyperParameterTuningJobStatus: 'Completed',
      HyperParameterTuningJobConfig: { Strategy: 'Random', ResourceLimits: { MaxNumberOfTrainingJobs: 1 } },
      _trials: [],
    })),
  );
  svc = await startService(moto.url, stateDir);
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

const filters = {
  CreationTimeAfter: new Date(2_000_000),
  CreationTimeBefore: new Date(2_000_000),
  LastModifiedTimeAfter: new Date(2_000_000),
  LastModifiedTimeBefore: new Date(2_000_000),
};
// Which of early, touched, late each filter keeps.
const expected: Record<keyof typeof filters, string[]> = {
  CreationTimeAfter: ['late'],
  CreationTimeBefore: ['early', 'touched'],
  LastModifiedTimeAfter: ['touched', 'late'],
  LastModifiedTimeBefore: ['early'],
};

const listers: [string, string, (filter: Record<string, Date>) => Promise<string[]>][] = [
  [
    'ListTrainingJobs',
    'train',
    async (f) =>
      (
        (await sagemaker(svc.url).send(new ListTrainingJobsCommand({ ...f, MaxResults: 100 }))).TrainingJobSummaries ??
        []
      ).map((s) => s.TrainingJobName ?? ''),
  ],
  [
    'ListProcessingJobs',
    'proc',
    async (f) =>
      (
        (await sagemaker(svc.url).send(new ListProcessingJobsCommand({ ...f, MaxResults: 100 })))
          .ProcessingJobSummaries ?? []
      ).map((s) => s.ProcessingJobName ?? ''),
  ],
  [
    'ListTransformJobs',
    'xform',
    async (f) =>
      (
        (await sagemaker(svc.url).send(new ListTransformJobsCommand({ ...f, MaxResults: 100 })))
          .TransformJobSummaries ?? []
      ).map((s) => s.TransformJobName ?? ''),
  ],
  [
    'ListHyperParameterTuningJobs',
    'tune',
    async (f) =>
      (
        (await sagemaker(svc.url).send(new ListHyperParameterTuningJobsCommand({ ...f, MaxResults: 100 })))
          .HyperParameterTuningJobSummaries ?? []
      ).map((s) => s.HyperParameterTuningJobName ?? ''),
  ],
];

describe.each(listers)('%s', (_, prefix, list) => {
  it('lists every job without a time filter', async () => {
    expect((await list({})).sort()).toEqual(names(prefix).sort());
  });

  it.each(Object.keys(filters) as (keyof typeof filters)[])('keeps only the jobs %s selects', async (filter) => {
    const listed = await list({ [filter]: filters[filter] });
    expect(listed.sort()).toEqual(expected[filter].map((t) => `${prefix}-${t}`).sort());
  });
});
