/** CreateTrainingJob request validation, with SageMaker's limits and field names. */
import { compileDefinitions, type MetricDefinition } from '../../metric-definitions';
import { type Body, fail, s3Uri, unsupported } from '../../../core/request-fields';

export interface Channel {
  ChannelName: string;
  DataSource: { S3DataSource: { S3DataType: string; S3Uri: string; S3DataDistributionType?: string } };
  ContentType?: string;
  CompressionType?: string;
  RecordWrapperType?: string;
  InputMode?: string;
}

export interface TrainingRequest {
  TrainingJobName: string;
  HyperParameters: Record<string, string>;
  AlgorithmSpecification: {
    TrainingImage?: string;
    AlgorithmName?: string;
    TrainingInputMode: string;
    MetricDefinitions: MetricDefinition[];
    EnableSageMakerMetricsTimeSeries?: boolean;
    ContainerEntrypoint?: string[];
    ContainerArguments?: string[];
  };
  RoleArn: string;
  InputDataConfig: Channel[];
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string };
  ResourceConfig: {
    InstanceType: string;
    InstanceCount: number;
    VolumeSizeInGB: number;
    KeepAlivePeriodInSeconds?: number;
  };
  StoppingCondition: { MaxRuntimeInSeconds: number; MaxWaitTimeInSeconds?: number };
  EnableManagedSpotTraining: boolean;
  CheckpointConfig?: { S3Uri: string; LocalPath?: string };
  /** Where the container writes TensorBoard files (default /opt/ml/output/tensorboard), synced to S3OutputPath. */
  TensorBoardOutputConfig?: { S3OutputPath: string; LocalPath?: string };
  Environment: Record<string, string>;
  VpcConfig?: unknown;
  EnableNetworkIsolation?: boolean;
  EnableInterContainerTrafficEncryption?: boolean;
  /** SageMaker's managed retries: how many times a job that failed for an internal reason is started again. */
  RetryStrategy?: { MaximumRetryAttempts: number };
}

/** SageMaker's documented default and maximum of MaxRuntimeInSeconds ("The default value is 1 day. The maximum value
 * is 28 days": StoppingCondition in https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html). */
const DEFAULT_MAX_RUNTIME = 24 * 3600;
const MAX_RUNTIME = 28 * 24 * 3600;

// Types, lengths, ranges, enums and patterns are checked against AWS's model before a handler runs
// (core/model-gate.ts); what follows reads the request and adds only the rules the model cannot express.

export function parseMetricDefinitions(list: unknown[], path: string): MetricDefinition[] {
  const defs = list.map((d) => {
    const o = d as Body;
    return { Name: o.Name as string, Regex: o.Regex as string };
  });
  compileDefinitions(defs, path);
  return defs;
}

export function parseChannels(list: unknown[], path: string): Channel[] {
  const seen = new Set<string>();
  return list.map((c, i) => {
    const p = `${path}.${i + 1}.member`;
    const o = c as Body;
    const ChannelName = o.ChannelName as string;
    if (seen.has(ChannelName)) fail(`${p}.channelName`, ChannelName, 'Channel names must be unique');
    seen.add(ChannelName);
    const ds = o.DataSource as Body;
    if (!ds.S3DataSource)
      unsupported(
        `${p}.dataSource`,
        'channels from FileSystemDataSource (EFS, FSx for Lustre) or DatasetSource: the local service reads channels from S3 only',
      );
    const s3 = ds.S3DataSource as Body;
    const S3Uri = s3.S3Uri as string;
    s3Uri(S3Uri, `${p}.dataSource.s3DataSource.s3Uri`);
    return {
      ChannelName,
      DataSource: {
        S3DataSource: {
          S3DataType: s3.S3DataType as string,
          S3Uri,
          S3DataDistributionType: (s3.S3DataDistributionType as string | undefined) ?? 'FullyReplicated',
        },
      },
      ContentType: o.ContentType as string | undefined,
      CompressionType: o.CompressionType as string | undefined,
      RecordWrapperType: o.RecordWrapperType as string | undefined,
      InputMode: o.InputMode as string | undefined,
    };
  });
}

/**
 * The instances a job runs on. The model makes every member optional (heterogeneous clusters use InstanceGroups
 * instead; warm pools and training plans add more); a job needs an instance type and at least one instance.
 */
export function parseResourceConfig(o: Body | undefined, path: string): TrainingRequest['ResourceConfig'] {
  if (!o) fail(path, undefined, 'ResourceConfig is required for a training job');
  if (o.InstanceGroups !== undefined)
    unsupported(
      `${path}.instanceGroups`,
      'heterogeneous clusters (InstanceGroups): give InstanceType and InstanceCount',
    );
  if (o.InstanceType === undefined)
    fail(`${path}.instanceType`, undefined, 'InstanceType is required when InstanceGroups is not given');
  const InstanceCount = o.InstanceCount as number | undefined;
  if (InstanceCount === undefined || InstanceCount < 1)
    fail(`${path}.instanceCount`, InstanceCount, 'InstanceCount must be at least 1 when InstanceGroups is not given');
  return {
    InstanceType: o.InstanceType as string,
    InstanceCount,
    VolumeSizeInGB: (o.VolumeSizeInGB as number | undefined) ?? 0,
    KeepAlivePeriodInSeconds: o.KeepAlivePeriodInSeconds as number | undefined,
  };
}

export function parseStoppingCondition(
  o: Body | undefined,
  spot: boolean,
  path: string,
): TrainingRequest['StoppingCondition'] {
  const MaxRuntimeInSeconds = (o?.MaxRuntimeInSeconds as number | undefined) ?? DEFAULT_MAX_RUNTIME;
  if (MaxRuntimeInSeconds > MAX_RUNTIME)
    fail(
      `${path}.maxRuntimeInSeconds`,
      MaxRuntimeInSeconds,
      `Member must have value less than or equal to ${MAX_RUNTIME}`,
    );
  const MaxWaitTimeInSeconds = o?.MaxWaitTimeInSeconds as number | undefined;
  if (spot && MaxWaitTimeInSeconds === undefined)
    fail(
      `${path}.maxWaitTimeInSeconds`,
      undefined,
      'MaxWaitTimeInSeconds is required when EnableManagedSpotTraining is true',
    );
  if (MaxWaitTimeInSeconds !== undefined && MaxWaitTimeInSeconds < MaxRuntimeInSeconds)
    fail(
      `${path}.maxWaitTimeInSeconds`,
      MaxWaitTimeInSeconds,
      'MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds',
    );
  return { MaxRuntimeInSeconds, MaxWaitTimeInSeconds };
}

export function parseCheckpointConfig(v: unknown, path: string): TrainingRequest['CheckpointConfig'] {
  const o = v as Body | undefined;
  if (!o) return undefined;
  const S3Uri = o.S3Uri as string;
  s3Uri(S3Uri, `${path}.s3Uri`);
  return { S3Uri, LocalPath: o.LocalPath as string | undefined };
}

/** TensorBoardOutputConfig as given; the model gate has checked S3OutputPath's pattern and both lengths. */
export function parseTensorBoardOutputConfig(v: unknown, path: string): TrainingRequest['TensorBoardOutputConfig'] {
  const o = v as Body | undefined;
  if (!o) return undefined;
  const S3OutputPath = o.S3OutputPath as string;
  s3Uri(S3OutputPath, `${path}.s3OutputPath`);
  return { S3OutputPath, LocalPath: o.LocalPath as string | undefined };
}

/** RetryStrategy as given (its 1-30 range is checked against AWS's model before the handler runs). */
export function parseRetryStrategy(v: unknown): TrainingRequest['RetryStrategy'] {
  const o = v as Body | undefined;
  if (!o) return undefined;
  return { MaximumRetryAttempts: o.MaximumRetryAttempts as number };
}

export function parseTrainingRequest(b: Body): TrainingRequest {
  if (b.ServerlessJobConfig !== undefined)
    unsupported('serverlessJobConfig', 'serverless model customization jobs (ServerlessJobConfig)');
  const algo = b.AlgorithmSpecification as Body | undefined;
  if (!algo) fail('algorithmSpecification', undefined, 'AlgorithmSpecification is required for a training job');
  const TrainingImage = algo.TrainingImage as string | undefined;
  const AlgorithmName = algo.AlgorithmName as string | undefined;
  if (!TrainingImage && !AlgorithmName)
    fail('AlgorithmSpecification.TrainingImage', undefined, 'Either TrainingImage or AlgorithmName must be specified');
  const MetricDefinitions = parseMetricDefinitions(
    (algo.MetricDefinitions as unknown[] | undefined) ?? [],
    'AlgorithmSpecification.MetricDefinitions',
  );
  const out = b.OutputDataConfig as Body;
  const S3OutputPath = out.S3OutputPath as string;
  s3Uri(S3OutputPath, 'OutputDataConfig.S3OutputPath');
  const spot = b.EnableManagedSpotTraining === true;
  return {
    TrainingJobName: b.TrainingJobName as string,
    HyperParameters: (b.HyperParameters as Record<string, string> | undefined) ?? {},
    AlgorithmSpecification: {
      TrainingImage,
      AlgorithmName,
      TrainingInputMode: algo.TrainingInputMode as string,
      MetricDefinitions,
      EnableSageMakerMetricsTimeSeries: algo.EnableSageMakerMetricsTimeSeries === true ? true : undefined,
      ContainerEntrypoint: algo.ContainerEntrypoint as string[] | undefined,
      ContainerArguments: algo.ContainerArguments as string[] | undefined,
    },
    RoleArn: b.RoleArn as string,
    InputDataConfig: parseChannels((b.InputDataConfig as unknown[] | undefined) ?? [], 'InputDataConfig'),
    OutputDataConfig: { S3OutputPath, KmsKeyId: out.KmsKeyId as string | undefined },
    ResourceConfig: parseResourceConfig(b.ResourceConfig as Body | undefined, 'resourceConfig'),
    StoppingCondition: parseStoppingCondition(b.StoppingCondition as Body | undefined, spot, 'stoppingCondition'),
    EnableManagedSpotTraining: spot,
    CheckpointConfig: parseCheckpointConfig(b.CheckpointConfig, 'checkpointConfig'),
    TensorBoardOutputConfig: parseTensorBoardOutputConfig(b.TensorBoardOutputConfig, 'tensorBoardOutputConfig'),
    Environment: (b.Environment as Record<string, string> | undefined) ?? {},
    VpcConfig: b.VpcConfig,
    EnableNetworkIsolation: b.EnableNetworkIsolation === true ? true : undefined,
    EnableInterContainerTrafficEncryption: b.EnableInterContainerTrafficEncryption === true ? true : undefined,
    RetryStrategy: parseRetryStrategy(b.RetryStrategy),
  };
}
