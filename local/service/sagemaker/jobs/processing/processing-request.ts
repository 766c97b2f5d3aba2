/**
 * CreateProcessingJob request reading, with the limits of what the local service can run. Types, lengths, ranges,
 * enums and patterns were checked against AWS's model before the handler runs (core/model-gate.ts); the rules AWS
 * documents that the model cannot express (LocalPath under /opt/ml/processing/, unique input and output names) are
 * documented rules (core/documented-rules/processing.ts). What is left here: reading the request, SageMaker's
 * defaults, and a named refusal for what local mode does not serve.
 */
import { type Body, fail, s3Uri, unsupported } from '../../../core/request-fields';

/** One ProcessingInput with an S3Input (the only kind local mode downloads). */
export interface ProcessingInputSpec {
  InputName: string;
  AppManaged?: boolean;
  S3Input: {
    S3Uri: string;
    LocalPath: string;
    S3DataType: 'S3Prefix';
    S3InputMode: 'File';
    S3DataDistributionType: 'FullyReplicated' | 'ShardedByS3Key';
    S3CompressionType: 'None';
  };
}

/** One ProcessingOutput with an S3Output. */
export interface ProcessingOutputSpec {
  OutputName: string;
  AppManaged?: boolean;
  S3Output: { S3Uri: string; LocalPath: string; S3UploadMode: 'EndOfJob' | 'Continuous' };
}

export interface ProcessingRequest {
  ProcessingJobName: string;
  RoleArn: string;
  AppSpecification: { ImageUri: string; ContainerEntrypoint?: string[]; ContainerArguments?: string[] };
  Environment?: Record<string, string>;
  ProcessingInputs?: ProcessingInputSpec[];
  ProcessingOutputConfig?: { Outputs: ProcessingOutputSpec[]; KmsKeyId?: string };
  ProcessingResources: { ClusterConfig: { InstanceCount: number; InstanceType: string; VolumeSizeInGB: number } };
  StoppingCondition: { MaxRuntimeInSeconds: number };
  NetworkConfig?: unknown;
  ExperimentConfig?: unknown;
}

/**
 * MaxRuntimeInSeconds when StoppingCondition is left out: one day, SageMaker's documented default for a job's
 * runtime ("The default value is 1 day": https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-sagemaker-processingjob-stoppingcondition.html).
 */
export const DEFAULT_PROCESSING_MAX_RUNTIME = 24 * 3600;

function readInput(o: Body, i: number): ProcessingInputSpec {
  const p = `processingInputs.${i + 1}.member`;
  const InputName = o.InputName as string;
  if (o.AppManaged === true)
    unsupported(`${p}.appManaged`, 'application-managed inputs (AppManaged): local mode downloads every input');
  if (o.DatasetDefinition !== undefined)
    unsupported(`${p}.datasetDefinition`, 'DatasetDefinition inputs (Athena, Redshift): give an S3Input');
  const s3 = o.S3Input as Body | undefined;
  if (!s3) fail(`${p}.s3Input`, undefined, 'Either S3Input or DatasetDefinition must be specified');
  if (s3.S3InputMode === 'Pipe')
    unsupported(`${p}.s3Input.s3InputMode`, "Pipe mode inputs: local mode downloads inputs ('File')");
  if (s3.S3DataType === 'ManifestFile')
    unsupported(`${p}.s3Input.s3DataType`, "ManifestFile inputs: give an S3 prefix ('S3Prefix')");
  if (s3.S3CompressionType === 'Gzip')
    // "Gzip can only be used when Pipe mode is specified as the S3InputMode" (API_ProcessingS3Input).
    fail(`${p}.s3Input.s3CompressionType`, 'Gzip', "Gzip can only be used when S3InputMode is 'Pipe'");
  const S3Uri = s3.S3Uri as string;
  s3Uri(S3Uri, `${p}.s3Input.s3Uri`);
  return {
    InputName,
    AppManaged: o.AppManaged as boolean | undefined,
    S3Input: {
      S3Uri,
      LocalPath: s3.LocalPath as string,
      S3DataType: 'S3Prefix',
      S3InputMode: 'File',
      S3DataDistributionType:
        (s3.S3DataDistributionType as 'FullyReplicated' | 'ShardedByS3Key' | undefined) ?? 'FullyReplicated',
      S3CompressionType: 'None',
    },
  };
}

function readOutput(o: Body, i: number): ProcessingOutputSpec {
  const p = `processingOutputConfig.outputs.${i + 1}.member`;
  if (o.AppManaged === true)
    unsupported(`${p}.appManaged`, 'application-managed outputs (AppManaged): local mode uploads every output');
  if (o.FeatureStoreOutput !== undefined)
    unsupported(`${p}.featureStoreOutput`, 'FeatureStoreOutput outputs: give an S3Output');
  const s3 = o.S3Output as Body | undefined;
  if (!s3) fail(`${p}.s3Output`, undefined, 'Either S3Output or FeatureStoreOutput must be specified');
  const S3Uri = s3.S3Uri as string;
  s3Uri(S3Uri, `${p}.s3Output.s3Uri`);
  return {
    OutputName: o.OutputName as string,
    AppManaged: o.AppManaged as boolean | undefined,
    S3Output: {
      S3Uri,
      LocalPath: s3.LocalPath as string,
      S3UploadMode: s3.S3UploadMode as 'EndOfJob' | 'Continuous',
    },
  };
}

/** Reads a CreateProcessingJob request (already checked against AWS's model and the documented rules). */
export function parseProcessingRequest(b: Body): ProcessingRequest {
  const app = b.AppSpecification as Body;
  const cluster = (b.ProcessingResources as Body).ClusterConfig as Body;
  if (cluster.InstancePreferences !== undefined)
    unsupported(
      'processingResources.clusterConfig.instancePreferences',
      'instance preferences (InstancePreferences): give InstanceType and InstanceCount',
    );
  if (cluster.InstanceType === undefined)
    fail('processingResources.clusterConfig.instanceType', undefined, 'Member must not be null');
  if (cluster.InstanceCount === undefined)
    fail('processingResources.clusterConfig.instanceCount', undefined, 'Member must not be null');
  const out = b.ProcessingOutputConfig as Body | undefined;
  const stopping = b.StoppingCondition as Body | undefined;
  return {
    ProcessingJobName: b.ProcessingJobName as string,
    RoleArn: b.RoleArn as string,
    AppSpecification: {
      ImageUri: app.ImageUri as string,
      ContainerEntrypoint: app.ContainerEntrypoint as string[] | undefined,
      ContainerArguments: app.ContainerArguments as string[] | undefined,
    },
    Environment: b.Environment as Record<string, string> | undefined,
    ProcessingInputs: (b.ProcessingInputs as Body[] | undefined)?.map(readInput),
    ProcessingOutputConfig: out
      ? { Outputs: (out.Outputs as Body[]).map(readOutput), KmsKeyId: out.KmsKeyId as string | undefined }
      : undefined,
    ProcessingResources: {
      ClusterConfig: {
        InstanceCount: cluster.InstanceCount as number,
        InstanceType: cluster.InstanceType as string,
        VolumeSizeInGB: cluster.VolumeSizeInGB as number,
      },
    },
    StoppingCondition: {
      MaxRuntimeInSeconds: (stopping?.MaxRuntimeInSeconds as number | undefined) ?? DEFAULT_PROCESSING_MAX_RUNTIME,
    },
    NetworkConfig: b.NetworkConfig,
    ExperimentConfig: b.ExperimentConfig,
  };
}
