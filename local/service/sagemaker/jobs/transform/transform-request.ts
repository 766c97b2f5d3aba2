/**
 * A CreateTransformJob request as the local service runs it. Types, required members, ranges and enums have been
 * checked by the model gate; this refuses, by name, what local mode cannot serve (a local limitation, never
 * dressed up as an AWS rule).
 */
import { type Body, unsupported } from '../../../core/request-fields';

export interface TransformRequest {
  TransformJobName: string;
  ModelName: string;
  MaxConcurrentTransforms?: number;
  ModelClientConfig?: { InvocationsTimeoutInSeconds?: number; InvocationsMaxRetries?: number };
  MaxPayloadInMB?: number;
  BatchStrategy?: 'SingleRecord' | 'MultiRecord';
  Environment?: Record<string, string>;
  TransformInput: {
    DataSource: { S3DataSource: { S3DataType: string; S3Uri: string } };
    ContentType?: string;
    CompressionType?: string;
    SplitType?: string;
  };
  TransformOutput: { S3OutputPath: string; Accept?: string; AssembleWith?: string; KmsKeyId?: string };
  TransformResources: { InstanceType: string; InstanceCount: number; VolumeKmsKeyId?: string };
  DataProcessing?: { InputFilter?: string; OutputFilter?: string; JoinSource?: string };
  ExperimentConfig?: Record<string, unknown>;
}

/** The request as a TransformRequest; what local mode cannot do is refused here, before anything is created. */
export function parseTransformRequest(b: Body): TransformRequest {
  const req = b as unknown as TransformRequest;
  const input = req.TransformInput;
  const dataType = input.DataSource.S3DataSource.S3DataType;
  if (dataType !== 'S3Prefix')
    unsupported(
      'TransformInput.DataSource.S3DataSource.S3DataType',
      `S3DataType ${dataType} in local mode (use S3Prefix)`,
    );
  if (input.SplitType === 'RecordIO' || input.SplitType === 'TFRecord')
    unsupported('TransformInput.SplitType', `SplitType ${input.SplitType} in local mode (use None or Line)`);
  const dp = req.DataProcessing;
  // The defaults ("$", "$", None) change nothing; any other filter or join is not implemented locally.
  if (
    dp &&
    ((dp.InputFilter ?? '$') !== '$' || (dp.OutputFilter ?? '$') !== '$' || (dp.JoinSource ?? 'None') !== 'None')
  )
    unsupported('DataProcessing', 'DataProcessing filters or JoinSource in local mode');
  if (b.DataCaptureConfig !== undefined) unsupported('DataCaptureConfig', 'batch data capture in local mode');
  if (req.TransformOutput.KmsKeyId !== undefined || req.TransformResources.VolumeKmsKeyId !== undefined)
    unsupported(
      req.TransformOutput.KmsKeyId ? 'TransformOutput.KmsKeyId' : 'TransformResources.VolumeKmsKeyId',
      'KMS encryption in local mode',
    );
  return {
    TransformJobName: req.TransformJobName,
    ModelName: req.ModelName,
    MaxConcurrentTransforms: req.MaxConcurrentTransforms,
    ModelClientConfig: req.ModelClientConfig,
    MaxPayloadInMB: req.MaxPayloadInMB,
    BatchStrategy: req.BatchStrategy,
    Environment: req.Environment && Object.keys(req.Environment).length ? req.Environment : undefined,
    TransformInput: input,
    TransformOutput: req.TransformOutput,
    TransformResources: req.TransformResources,
    DataProcessing: dp,
    ExperimentConfig: req.ExperimentConfig,
  };
}
