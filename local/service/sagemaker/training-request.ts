/** CreateTrainingJob request validation, with SageMaker's limits and field names. */
import { compileDefinitions, type MetricDefinition } from './metric-definitions';
import {
  arr,
  type Body,
  fail,
  int,
  name,
  obj,
  oneOf,
  optInt,
  optObj,
  optStr,
  s3Uri,
  str,
  strMap,
} from '../core/request-fields';

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
  Environment: Record<string, string>;
  VpcConfig?: unknown;
  EnableNetworkIsolation?: boolean;
  EnableInterContainerTrafficEncryption?: boolean;
  /** SageMaker's managed retries: how many times a job that failed for an internal reason is started again. */
  RetryStrategy?: { MaximumRetryAttempts: number };
}

const INPUT_MODES = ['Pipe', 'File', 'FastFile'] as const;
const MAX_RUNTIME = 28 * 24 * 3600;

export function parseMetricDefinitions(list: unknown[], path: string): MetricDefinition[] {
  if (list.length > 40) fail(path, `${list.length} items`, 'Member must have length less than or equal to 40');
  const defs = list.map((d, i) => {
    const o = obj(d, `${path}.${i + 1}`);
    return {
      Name: str(o, 'Name', { path: `${path}.${i + 1}.member.name`, min: 1, max: 255 }),
      Regex: str(o, 'Regex', { path: `${path}.${i + 1}.member.regex`, min: 1, max: 500 }),
    };
  });
  compileDefinitions(defs, path);
  return defs;
}

export function parseChannels(list: unknown[], path: string): Channel[] {
  if (list.length > 20) fail(path, `${list.length} items`, 'Member must have length less than or equal to 20');
  const seen = new Set<string>();
  return list.map((c, i) => {
    const p = `${path}.${i + 1}.member`;
    const o = obj(c, p);
    const ChannelName = str(o, 'ChannelName', {
      path: `${p}.channelName`,
      min: 1,
      max: 64,
      pattern: /^[A-Za-z0-9.\-_]+$/,
    });
    if (seen.has(ChannelName)) fail(`${p}.channelName`, ChannelName, 'Channel names must be unique');
    seen.add(ChannelName);
    const ds = obj(o.DataSource, `${p}.dataSource`);
    const s3 = obj(ds.S3DataSource, `${p}.dataSource.s3DataSource`);
    const S3Uri = str(s3, 'S3Uri', { path: `${p}.dataSource.s3DataSource.s3Uri`, max: 1024 });
    s3Uri(S3Uri, `${p}.dataSource.s3DataSource.s3Uri`);
    const S3DataType = oneOf(
      s3,
      'S3DataType',
      ['ManifestFile', 'S3Prefix', 'AugmentedManifestFile', 'Converse'] as const,
      { path: `${p}.dataSource.s3DataSource.s3DataType` },
    ) as string;
    const S3DataDistributionType = oneOf(s3, 'S3DataDistributionType', ['FullyReplicated', 'ShardedByS3Key'] as const, {
      path: `${p}.dataSource.s3DataSource.s3DataDistributionType`,
      optional: true,
    });
    return {
      ChannelName,
      DataSource: {
        S3DataSource: { S3DataType, S3Uri, S3DataDistributionType: S3DataDistributionType ?? 'FullyReplicated' },
      },
      ContentType: optStr(o, 'ContentType', { path: `${p}.contentType`, max: 256 }),
      CompressionType: oneOf(o, 'CompressionType', ['None', 'Gzip'] as const, {
        path: `${p}.compressionType`,
        optional: true,
      }),
      RecordWrapperType: oneOf(o, 'RecordWrapperType', ['None', 'RecordIO'] as const, {
        path: `${p}.recordWrapperType`,
        optional: true,
      }),
      InputMode: oneOf(o, 'InputMode', INPUT_MODES, { path: `${p}.inputMode`, optional: true }),
    };
  });
}

export function parseResourceConfig(o: Body, path: string): TrainingRequest['ResourceConfig'] {
  const InstanceType = str(o, 'InstanceType', { path: `${path}.instanceType`, pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
  return {
    InstanceType,
    InstanceCount: int(o, 'InstanceCount', { path: `${path}.instanceCount`, min: 1, max: 64 }),
    VolumeSizeInGB: int(o, 'VolumeSizeInGB', { path: `${path}.volumeSizeInGB`, min: 1 }),
    KeepAlivePeriodInSeconds: optInt(o, 'KeepAlivePeriodInSeconds', {
      path: `${path}.keepAlivePeriodInSeconds`,
      min: 0,
      max: 3600,
    }),
  };
}

export function parseStoppingCondition(o: Body, spot: boolean, path: string): TrainingRequest['StoppingCondition'] {
  const MaxRuntimeInSeconds = int(o, 'MaxRuntimeInSeconds', {
    path: `${path}.maxRuntimeInSeconds`,
    min: 1,
    max: MAX_RUNTIME,
  });
  const MaxWaitTimeInSeconds = optInt(o, 'MaxWaitTimeInSeconds', {
    path: `${path}.maxWaitTimeInSeconds`,
    min: 1,
    max: MAX_RUNTIME * 2,
  });
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
  const o = optObj(v, path);
  if (!o) return undefined;
  const S3Uri = str(o, 'S3Uri', { path: `${path}.s3Uri`, max: 1024 });
  s3Uri(S3Uri, `${path}.s3Uri`);
  return { S3Uri, LocalPath: optStr(o, 'LocalPath', { path: `${path}.localPath`, max: 4096 }) };
}

export function parseRetryStrategy(v: unknown, path: string): TrainingRequest['RetryStrategy'] {
  const o = optObj(v, path);
  if (!o) return undefined;
  return {
    MaximumRetryAttempts: int(o, 'MaximumRetryAttempts', { path: `${path}.maximumRetryAttempts`, min: 1, max: 30 }),
  };
}

export function parseTrainingRequest(b: Body): TrainingRequest {
  const TrainingJobName = name(b, 'TrainingJobName', 63);
  const algo = obj(b.AlgorithmSpecification, 'AlgorithmSpecification');
  const TrainingImage = optStr(algo, 'TrainingImage', { path: 'algorithmSpecification.trainingImage', max: 255 });
  const AlgorithmName = optStr(algo, 'AlgorithmName', { path: 'algorithmSpecification.algorithmName', max: 170 });
  if (!TrainingImage && !AlgorithmName)
    fail('AlgorithmSpecification.TrainingImage', undefined, 'Either TrainingImage or AlgorithmName must be specified');
  const TrainingInputMode = oneOf(algo, 'TrainingInputMode', INPUT_MODES, {
    path: 'algorithmSpecification.trainingInputMode',
  }) as string;
  const MetricDefinitions = parseMetricDefinitions(
    arr(algo, 'MetricDefinitions', { optional: true }),
    'AlgorithmSpecification.MetricDefinitions',
  );
  const RoleArn = str(b, 'RoleArn', { min: 20, max: 2048, pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/ });
  const out = obj(b.OutputDataConfig, 'OutputDataConfig');
  const S3OutputPath = str(out, 'S3OutputPath', { path: 'outputDataConfig.s3OutputPath', max: 1024 });
  s3Uri(S3OutputPath, 'OutputDataConfig.S3OutputPath');
  const spot = b.EnableManagedSpotTraining === true;
  return {
    TrainingJobName,
    HyperParameters: strMap(b, 'HyperParameters', { maxEntries: 100, maxKey: 256, maxValue: 2500 }),
    AlgorithmSpecification: {
      TrainingImage,
      AlgorithmName,
      TrainingInputMode,
      MetricDefinitions,
      EnableSageMakerMetricsTimeSeries: algo.EnableSageMakerMetricsTimeSeries === true ? true : undefined,
      ContainerEntrypoint: algo.ContainerEntrypoint as string[] | undefined,
      ContainerArguments: algo.ContainerArguments as string[] | undefined,
    },
    RoleArn,
    InputDataConfig: parseChannels(arr(b, 'InputDataConfig', { optional: true }), 'InputDataConfig'),
    OutputDataConfig: { S3OutputPath, KmsKeyId: optStr(out, 'KmsKeyId', { path: 'outputDataConfig.kmsKeyId' }) },
    ResourceConfig: parseResourceConfig(obj(b.ResourceConfig, 'ResourceConfig'), 'resourceConfig'),
    StoppingCondition: parseStoppingCondition(obj(b.StoppingCondition, 'StoppingCondition'), spot, 'stoppingCondition'),
    EnableManagedSpotTraining: spot,
    CheckpointConfig: parseCheckpointConfig(b.CheckpointConfig, 'checkpointConfig'),
    Environment: strMap(b, 'Environment', { maxEntries: 100, maxKey: 512, maxValue: 512 }),
    VpcConfig: b.VpcConfig,
    EnableNetworkIsolation: b.EnableNetworkIsolation === true ? true : undefined,
    EnableInterContainerTrafficEncryption: b.EnableInterContainerTrafficEncryption === true ? true : undefined,
    RetryStrategy: parseRetryStrategy(b.RetryStrategy, 'retryStrategy'),
  };
}
