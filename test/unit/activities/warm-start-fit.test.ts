/**
 * checkWarmStartParent and its rules (activities/warm-start-fit.ts): a parent SageMaker would refuse means tuning
 * cold, with the reason; IdenticalDataAndAlgorithm with a new image or data falls back to TransferLearning.
 */
import {
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createPreviousRunActivities } from '../../../activities/previous-run';
import { tuningJobRequest } from '../../../activities/tuning';
import { warmStartFit } from '../../../activities/warm-start-fit';
import { type CheckWarmStartParentInput, CheckWarmStartParentInput as Input } from '../../../contracts/retrain';
import { awsError, testDeps } from './helpers';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'a'.repeat(64)}`;
const OTHER = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'b'.repeat(64)}`;

const tuningJob = (
  type: 'IdenticalDataAndAlgorithm' | 'TransferLearning' = 'IdenticalDataAndAlgorithm',
): CheckWarmStartParentInput['tuningJob'] => ({
  tuningJobName: 'run-2-tune',
  workflowId: 'run-2/tuneModel',
  definition: {
    imageUri: IMAGE,
    roleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
    channels: { train: 's3://b/data/train/', val: 's3://b/data/val/' },
    outputS3Uri: 's3://b/models/',
    resources: { instanceType: 'ml.m5.large', instanceCount: 1, volumeSizeGb: 10 },
    maxRuntimeSeconds: 3600,
    spot: { enabled: false },
    hyperparameters: { max_steps: '100', learning_rate: '0.001', batch_size: '8' },
    metricDefinitions: [{ name: 'val_loss', regex: 'val_loss=([0-9.]+)' }],
  },
  tuning: {
    strategy: 'Random',
    ranges: { continuous: [{ name: 'learning_rate', min: 0.0001, max: 0.01 }] },
    objective: { metricName: 'val_loss', type: 'Minimize' },
    maxJobs: 4,
    maxParallelJobs: 2,
    warmStart: { parentTuningJobs: ['run-1-tune'], type },
  },
});

/** The parent as DescribeHyperParameterTuningJob shows it: this request, Completed, with SageMaker's reserved key. */
function parentOf(
  job: CheckWarmStartParentInput['tuningJob'],
  edit: (d: DescribeHyperParameterTuningJobCommandOutput) => void = () => undefined,
): DescribeHyperParameterTuningJobCommandOutput {
  const request = tuningJobRequest(Input.parse({ tuningJob: job }).tuningJob);
  const described = structuredClone({
    ...request,
    HyperParameterTuningJobName: 'run-1-tune',
    HyperParameterTuningJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/run-1-tune',
    HyperParameterTuningJobStatus: 'Completed',
    CreationTime: new Date('2026-11-01T00:00:00Z'),
    TrainingJobStatusCounters: {},
    ObjectiveStatusCounters: {},
    $metadata: {},
  }) as DescribeHyperParameterTuningJobCommandOutput;
  const def = described.TrainingJobDefinition;
  if (def) def.StaticHyperParameters = { ...def.StaticHyperParameters, _tuning_objective_metric: 'val_loss' };
  edit(described);
  return described;
}

const fit = (job: CheckWarmStartParentInput['tuningJob'], parent: DescribeHyperParameterTuningJobCommandOutput) =>
  warmStartFit(tuningJobRequest(Input.parse({ tuningJob: job }).tuningJob), [parent]);

describe('warmStartFit', () => {
  it("keeps the asked type for a parent that matches (SageMaker's reserved static hyperparameter aside)", () => {
    const job = tuningJob();
    expect(fit(job, parentOf(job))).toEqual({
      type: 'IdenticalDataAndAlgorithm',
      reason: 'IdenticalDataAndAlgorithm from run-1-tune',
    });
  });

  it('allows moving a hyperparameter between static and tunable while the total stays the same', () => {
    const job = tuningJob('TransferLearning');
    const parent = parentOf(job, (d) => {
      const ranges = d.HyperParameterTuningJobConfig?.ParameterRanges;
      if (ranges) ranges.ContinuousParameterRanges = [];
      if (d.TrainingJobDefinition)
        d.TrainingJobDefinition.StaticHyperParameters = {
          ...d.TrainingJobDefinition.StaticHyperParameters,
          learning_rate: '0.001',
        };
    });
    expect(fit(job, parent).type).toBe('TransferLearning');
  });

  test.each<[string, (d: DescribeHyperParameterTuningJobCommandOutput) => void, RegExp]>([
    [
      'a hyperparameter added since (the parent had one fewer)',
      (d) => {
        delete d.TrainingJobDefinition?.StaticHyperParameters?.batch_size;
      },
      /the number of static plus tunable hyperparameters changed \(2 in run-1-tune, 3 now; added: batch_size; removed: none\)/,
    ],
    [
      'a hyperparameter removed since',
      (d) => {
        if (d.TrainingJobDefinition?.StaticHyperParameters)
          d.TrainingJobDefinition.StaticHyperParameters.dropout = '0.1';
      },
      /changed \(4 in run-1-tune, 3 now; added: none; removed: dropout\)/,
    ],
    [
      'another objective metric',
      (d) => {
        const o = d.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective;
        if (o) o.MetricName = 'train_loss';
      },
      /the objective metric changed \(train_loss in run-1-tune, val_loss now\)/,
    ],
    [
      'a tunable hyperparameter that changed type',
      (d) => {
        const r = d.HyperParameterTuningJobConfig?.ParameterRanges;
        if (r) {
          r.ContinuousParameterRanges = [];
          r.CategoricalParameterRanges = [{ Name: 'learning_rate', Values: ['0.001', '0.01'] }];
        }
      },
      /tunable hyperparameter learning_rate changed type \(categorical in run-1-tune, continuous now\)/,
    ],
    [
      'a parent still in progress',
      (d) => {
        d.HyperParameterTuningJobStatus = 'InProgress';
      },
      /parent run-1-tune is InProgress; a warm start parent must be Completed, Stopped or Failed/,
    ],
    [
      'a parent created before 2018-10-01',
      (d) => {
        d.CreationTime = new Date('2018-09-30T00:00:00Z');
      },
      /created before 2018-10-01/,
    ],
  ])('tunes cold with %s', (_label, edit, reason) => {
    const job = tuningJob();
    const verdict = fit(job, parentOf(job, edit));
    expect(verdict.type).toBeNull();
    expect(verdict.reason).toMatch(/^cannot warm-start from run-1-tune: /);
    expect(verdict.reason).toMatch(reason);
  });

  it('falls back to TransferLearning when only the image or the channels changed', () => {
    const job = tuningJob();
    const rebuilt = parentOf(job, (d) => {
      if (d.TrainingJobDefinition?.AlgorithmSpecification)
        d.TrainingJobDefinition.AlgorithmSpecification.TrainingImage = OTHER;
    });
    expect(fit(job, rebuilt)).toEqual({
      type: 'TransferLearning',
      reason:
        "TransferLearning from run-1-tune: IdenticalDataAndAlgorithm the training image differs from run-1-tune's",
    });
    const moved = parentOf(job, (d) => {
      const c = d.TrainingJobDefinition?.InputDataConfig?.[0]?.DataSource?.S3DataSource;
      if (c) c.S3Uri = 's3://b/older/train/';
    });
    expect(fit(job, moved).type).toBe('TransferLearning');
    // TransferLearning itself does not depend on the image or data.
    expect(fit(tuningJob('TransferLearning'), rebuilt).type).toBe('TransferLearning');
  });

  it('refuses more than 5 parents', () => {
    const job = tuningJob();
    const parent = parentOf(job);
    const request = tuningJobRequest(Input.parse({ tuningJob: job }).tuningJob);
    expect(
      warmStartFit(
        request,
        Array.from({ length: 6 }, () => parent),
      ),
    ).toEqual({
      type: null,
      reason: '6 parents; a warm start takes at most 5',
    });
  });
});

describe('checkWarmStartParent', () => {
  const sm = mockClient(SageMakerClient);
  const acts = createPreviousRunActivities(testDeps());
  beforeEach(() => sm.reset());

  it('describes the parent and judges it against the request this run would send', async () => {
    const job = tuningJob();
    sm.on(DescribeHyperParameterTuningJobCommand, { HyperParameterTuningJobName: 'run-1-tune' }).resolves(
      parentOf(job, (d) => {
        if (d.TrainingJobDefinition?.StaticHyperParameters) d.TrainingJobDefinition.StaticHyperParameters.dropout = '0';
      }),
    );
    const verdict = await acts.checkWarmStartParent({ tuningJob: job });
    expect(verdict.type).toBeNull();
    expect(verdict.reason).toMatch(/removed: dropout/);
  });

  it('tunes cold when the parent no longer exists', async () => {
    sm.on(DescribeHyperParameterTuningJobCommand).rejects(
      awsError('ResourceNotFound', 400, "Amazon SageMaker can't find a tuning job with name run-1-tune"),
    );
    await expect(acts.checkWarmStartParent({ tuningJob: tuningJob() })).resolves.toEqual({
      type: null,
      reason: 'cannot warm-start from run-1-tune: it no longer exists',
    });
  });
});
