/** The /opt/ml tree of one host (SAGEMAKER_BASE_DIR) and the config files SageMaker writes into it. */
import fs from 'node:fs';
import path from 'node:path';
import type { Channel } from './jobs/training/training-request';

export interface HostLayout {
  base: string;
  config: string;
  data: string;
  model: string;
  output: string;
  outputData: string;
  failure: string;
  checkpoints: string;
  tensorboard: string;
}

/** A container path (LocalPath of CheckpointConfig or TensorBoardOutputConfig) in this host's tree: one under /opt/ml
 * maps into it, anything else is taken relative to it. */
function inHost(base: string, localPath: string | undefined, fallback: string): string {
  return localPath ? path.join(base, localPath.replace(/^\/opt\/ml\/?/, '')) : path.join(base, fallback);
}

export function hostLayout(base: string, checkpointLocalPath?: string, tensorBoardLocalPath?: string): HostLayout {
  const ck = inHost(base, checkpointLocalPath, 'checkpoints');
  return {
    base,
    config: path.join(base, 'input', 'config'),
    data: path.join(base, 'input', 'data'),
    model: path.join(base, 'model'),
    output: path.join(base, 'output'),
    outputData: path.join(base, 'output', 'data'),
    failure: path.join(base, 'output', 'failure'),
    checkpoints: ck,
    // TensorBoardOutputConfig.LocalPath's default (API_TensorBoardOutputConfig).
    tensorboard: inHost(base, tensorBoardLocalPath, path.join('output', 'tensorboard')),
  };
}

export function makeHostDirs(l: HostLayout): void {
  for (const d of [l.config, l.data, l.model, l.outputData, l.checkpoints]) fs.mkdirSync(d, { recursive: true });
  fs.rmSync(l.failure, { force: true });
}

export function resourceConfig(hosts: string[], current: string, instanceType: string): Record<string, unknown> {
  return {
    current_host: current,
    current_instance_type: instanceType,
    current_group_name: 'homogeneousCluster',
    hosts,
    instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: instanceType, hosts }],
    network_interface_name: 'eth0',
  };
}

export function inputDataConfig(channels: Channel[], defaultMode: string): Record<string, unknown> {
  return Object.fromEntries(
    channels.map((channel) => [
      channel.ChannelName,
      {
        ...(channel.ContentType ? { ContentType: channel.ContentType } : {}),
        TrainingInputMode: channel.InputMode ?? defaultMode,
        S3DistributionType: channel.DataSource.S3DataSource.S3DataDistributionType ?? 'FullyReplicated',
        RecordWrapperType: channel.RecordWrapperType ?? 'None',
      },
    ]),
  );
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}
