/** The training job definition the workflow tests and benches start from (4 x ml.p4de.24xlarge, val_loss metric). */
import type { TrainModelInput } from '../contracts';

/** A valid definition; `overrides` replace whole fields. */
export function trainingDefinition(
  overrides: Partial<TrainModelInput['definition']> = {},
): TrainModelInput['definition'] {
  return {
    imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'a'.repeat(64)}`,
    roleArn: 'arn:aws:iam::123456789012:role/SageMaker',
    channels: { train: 's3://b/data/train/', val: 's3://b/data/val/' },
    outputS3Uri: 's3://b/output/',
    resources: { instanceType: 'ml.p4de.24xlarge', instanceCount: 4, volumeSizeGb: 500 },
    maxRuntimeSeconds: 86400,
    spot: { enabled: false },
    hyperparameters: { max_steps: '100' },
    metricDefinitions: [{ name: 'val_loss', regex: 'val_loss=([0-9.]+)' }],
    ...overrides,
  };
}
