/**
 * The fake SageMaker job activities the workflow tests share: what createTrainingJob returns for a job, and the
 * snapshot of a training job that completed. Tests override what they observe; the shapes stay in one place.
 */
import type { CreateTrainingJobOutput, TrainingJobSnapshot } from '../../contracts/train-model';

/** A training job's ARN in the test account. */
export function trainingJobArn(name: string): string {
  return `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`;
}

/** What createTrainingJob answers for `name`: created, or re-attached to the job a retried create finds. */
export function createdTrainingJob(name: string, reattached = false): CreateTrainingJobOutput {
  return { trainingJobArn: trainingJobArn(name), reattached };
}

/** The snapshot waitForTrainingJob returns for a job that completed (artefact s3://b/m.tar.gz, one billable second). */
export function completedTrainingJob(name: string, finalMetrics: Record<string, number> = {}): TrainingJobSnapshot {
  return {
    trainingJobName: name,
    status: 'Completed',
    secondaryStatus: 'Completed',
    finalMetrics,
    billableSeconds: 1,
    modelArtifactS3Uri: 's3://b/m.tar.gz',
  };
}
