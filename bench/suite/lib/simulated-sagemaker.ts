/**
 * A scripted SageMaker inside the bench process (aws-sdk-client-mock): a training job and a tuning job that stay
 * InProgress for a given number of polls, so the real waiting activities (activities/training.ts, tuning.ts,
 * polling.ts) can "wait" days of simulated time in seconds when their sleep is injected as instant.
 */
import {
  CreateHyperParameterTuningJobCommand,
  CreateTrainingJobCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';

/** Describe calls the waits made, per job kind. */
export interface DescribeCounts {
  training: number;
  tuning: number;
}

/**
 * Installs the script on every SageMakerClient: training goes Starting (2 polls), Downloading (1), Training
 * (`polls`), Uploading (1), Completed; tuning stays InProgress for `polls` polls while its `trials` trials complete
 * one by one (counters and best objective change, the status does not), then Completed.
 */
export function simulateSageMaker(
  polls: number,
  trials: number,
): { counts: DescribeCounts; client: SageMakerClient; restore: () => void } {
  const mock = mockClient(SageMakerClient);
  const counts: DescribeCounts = { training: 0, tuning: 0 };
  const training: string[] = [
    'Starting',
    'Starting',
    'Downloading',
    ...Array<string>(polls).fill('Training'),
    'Uploading',
  ];
  mock.on(CreateTrainingJobCommand).callsFake((i: { TrainingJobName: string }) => ({
    TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${i.TrainingJobName}`,
  }));
  mock.on(DescribeTrainingJobCommand).callsFake((i: { TrainingJobName: string }) => {
    const secondary = training[counts.training++];
    const done = secondary === undefined;
    return {
      TrainingJobName: i.TrainingJobName,
      TrainingJobStatus: done ? 'Completed' : 'InProgress',
      SecondaryStatus: done ? 'Completed' : secondary,
      ...(done
        ? {
            ModelArtifacts: { S3ModelArtifacts: `s3://b/models/${i.TrainingJobName}/output/model.tar.gz` },
            FinalMetricDataList: [{ MetricName: 'val_loss', Value: 2.4 }],
            BillableTimeInSeconds: polls * 60,
          }
        : {}),
    };
  });
  mock.on(CreateHyperParameterTuningJobCommand).callsFake((i: { HyperParameterTuningJobName: string }) => ({
    HyperParameterTuningJobArn:
      `arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/` + i.HyperParameterTuningJobName,
  }));
  mock.on(DescribeHyperParameterTuningJobCommand).callsFake((i: { HyperParameterTuningJobName: string }) => {
    const n = counts.tuning++;
    const done = n >= polls;
    const completed = done ? trials : Math.floor((n * trials) / Math.max(1, polls));
    return {
      HyperParameterTuningJobName: i.HyperParameterTuningJobName,
      HyperParameterTuningJobStatus: done ? 'Completed' : 'InProgress',
      TrainingJobStatusCounters: {
        Completed: completed,
        InProgress: done ? 0 : Math.min(10, trials - completed),
        RetryableError: 0,
        NonRetryableError: 0,
        Stopped: 0,
      },
      ...(completed > 0
        ? {
            BestTrainingJob: {
              TrainingJobName: `${i.HyperParameterTuningJobName}-${String(completed).padStart(3, '0')}-abcdef12`,
              FinalHyperParameterTuningJobObjectiveMetric: { MetricName: 'val_loss', Value: 2.2 - completed / 1000 },
            },
          }
        : {}),
    };
  });
  const client = new SageMakerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  return { counts, client, restore: () => mock.restore() };
}
