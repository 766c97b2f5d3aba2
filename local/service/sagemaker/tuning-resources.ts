/**
 * The instances a tuning job's trials run on. A training job definition names them in ResourceConfig, or (the
 * SageMaker Python SDK v2's `HyperparameterTuner` and instance-type flexibility) in
 * HyperParameterTuningResourceConfig: either one InstanceType/InstanceCount/VolumeSizeInGB, or InstanceConfigs
 * tried in order of preference (AllocationStrategy `Prioritized`), never both
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HyperParameterTuningResourceConfig.html).
 * Local mode never runs out of capacity, so the first preference is always the one granted.
 */
import { type Body, fail } from '../core/request-fields';
import { parseResourceConfig, type TrainingRequest } from './jobs/training/training-request';

/** The ResourceConfig every trial of a definition gets. `path` is the definition's path in messages. */
export function trialResources(def: Body, path: string): TrainingRequest['ResourceConfig'] {
  const plain = def.ResourceConfig as Body | undefined;
  const tuning = def.HyperParameterTuningResourceConfig as Body | undefined;
  if (plain && tuning)
    fail(
      `${path}.hyperParameterTuningResourceConfig`,
      'HyperParameterTuningResourceConfig',
      'Specify either ResourceConfig or HyperParameterTuningResourceConfig, not both',
    );
  if (!tuning) return parseResourceConfig(plain, `${path}.resourceConfig`);
  const p = `${path}.hyperParameterTuningResourceConfig`;
  const configs = tuning.InstanceConfigs as Body[] | undefined;
  if (!configs) return parseResourceConfig(tuning, p);
  if (tuning.InstanceType !== undefined || tuning.InstanceCount !== undefined || tuning.VolumeSizeInGB !== undefined)
    fail(
      `${p}.instanceConfigs`,
      'InstanceConfigs',
      'If you use InstanceConfigs, do not provide values for InstanceType, VolumeSizeInGB or InstanceCount',
    );
  const first = configs[0] as Body;
  return parseResourceConfig(first, `${p}.instanceConfigs.1.member`);
}
