/**
 * Whether a tuning job may warm-start from its parents, by the rules of the SageMaker developer guide ("Run a Warm
 * Start Hyperparameter Tuning Job") and the API reference (HyperParameterTuningJobWarmStartConfig): at most 5 parents,
 * each in a terminal state and created on or after 2018-10-01; the same objective metric; the same total number of
 * static plus tunable hyperparameters (a hyperparameter may move between static and tunable), no tunable
 * hyperparameter changing its type; and, for IdenticalDataAndAlgorithm, the parents' training image and input data.
 * A pure function of the request and the parents' descriptions, so it is unit-tested without AWS.
 */
import type {
  CreateHyperParameterTuningJobCommandInput,
  DescribeHyperParameterTuningJobCommandOutput,
  ParameterRanges,
} from '@aws-sdk/client-sagemaker';
import type { CheckWarmStartParentOutput } from '../contracts/retrain';

/** Most parents a warm start may name (HyperParameterTuningJobWarmStartConfig.ParentHyperParameterTuningJobs). */
export const MAX_WARM_START_PARENTS = 5;
/** Parent states SageMaker accepts: the terminal ones. */
const TERMINAL = new Set(['Completed', 'Stopped', 'Failed']);
/** "Hyperparameter tuning jobs created before October 1, 2018 cannot be used as parent jobs." */
const OLDEST_PARENT = Date.UTC(2018, 9, 1);
/**
 * SageMaker adds this reserved static hyperparameter to every tuning job it describes (the SageMaker Python SDK's
 * tuner removes it when it attaches to a job); it is not one of the job's own.
 */
const RESERVED_STATIC = '_tuning_objective_metric';

type Kind = 'continuous' | 'integer' | 'categorical';

function tunable(ranges: ParameterRanges | undefined): Map<string, Kind> {
  const out = new Map<string, Kind>();
  for (const r of ranges?.ContinuousParameterRanges ?? []) if (r.Name) out.set(r.Name, 'continuous');
  for (const r of ranges?.IntegerParameterRanges ?? []) if (r.Name) out.set(r.Name, 'integer');
  for (const r of ranges?.CategoricalParameterRanges ?? []) if (r.Name) out.set(r.Name, 'categorical');
  return out;
}

type Definition = CreateHyperParameterTuningJobCommandInput['TrainingJobDefinition'];

/** Static plus tunable hyperparameter names of a tuning job. */
function hyperparameterNames(definition: Definition, ranges: ParameterRanges | undefined): Set<string> {
  const statics = Object.keys(definition?.StaticHyperParameters ?? {}).filter((k) => k !== RESERVED_STATIC);
  return new Set([...statics, ...tunable(ranges).keys()]);
}

function channels(definition: Definition): string {
  return JSON.stringify(
    (definition?.InputDataConfig ?? [])
      .map((c) => `${c.ChannelName ?? ''}=${c.DataSource?.S3DataSource?.S3Uri ?? ''}`)
      .sort(),
  );
}

const list = (names: string[]): string => (names.length ? names.join(', ') : 'none');

/** Why `parent` cannot be a parent of `request` under either warm-start type, or undefined when it can. */
function incompatibility(
  request: CreateHyperParameterTuningJobCommandInput,
  parent: DescribeHyperParameterTuningJobCommandOutput,
): string | undefined {
  const name = parent.HyperParameterTuningJobName ?? '(unnamed)';
  const status = parent.HyperParameterTuningJobStatus ?? 'unknown';
  if (!TERMINAL.has(status))
    return `parent ${name} is ${status}; a warm start parent must be Completed, Stopped or Failed`;
  if (parent.CreationTime && parent.CreationTime.getTime() < OLDEST_PARENT)
    return `parent ${name} was created before 2018-10-01 and cannot be a warm start parent`;
  const objective = request.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective?.MetricName;
  const parentObjective = parent.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective?.MetricName;
  if (objective !== parentObjective)
    return `the objective metric changed (${String(parentObjective)} in ${name}, ${String(objective)} now)`;
  const ranges = request.HyperParameterTuningJobConfig?.ParameterRanges;
  const parentRanges = parent.HyperParameterTuningJobConfig?.ParameterRanges;
  const now = hyperparameterNames(request.TrainingJobDefinition, ranges);
  const before = hyperparameterNames(parent.TrainingJobDefinition, parentRanges);
  if (now.size !== before.size) {
    const added = [...now].filter((h) => !before.has(h));
    const removed = [...before].filter((h) => !now.has(h));
    return (
      `the number of static plus tunable hyperparameters changed (${before.size} in ${name}, ${now.size} now; ` +
      `added: ${list(added)}; removed: ${list(removed)})`
    );
  }
  const parentKinds = tunable(parentRanges);
  for (const [hp, kind] of tunable(ranges)) {
    const was = parentKinds.get(hp);
    if (was && was !== kind) return `tunable hyperparameter ${hp} changed type (${was} in ${name}, ${kind} now)`;
  }
  return undefined;
}

/** Why IdenticalDataAndAlgorithm does not hold for `parent` (image or input data changed), or undefined. */
function notIdentical(
  request: CreateHyperParameterTuningJobCommandInput,
  parent: DescribeHyperParameterTuningJobCommandOutput,
): string | undefined {
  const name = parent.HyperParameterTuningJobName ?? '(unnamed)';
  const image = request.TrainingJobDefinition?.AlgorithmSpecification?.TrainingImage;
  const parentImage = parent.TrainingJobDefinition?.AlgorithmSpecification?.TrainingImage;
  if (image !== parentImage) return `the training image differs from ${name}'s`;
  if (channels(request.TrainingJobDefinition) !== channels(parent.TrainingJobDefinition))
    return `the input channels differ from ${name}'s`;
  return undefined;
}

/**
 * Decides the warm start of `request` (its WarmStartConfig names the parents) from the parents' descriptions: the
 * type SageMaker will accept, or null (tune cold) with the reason.
 */
export function warmStartFit(
  request: CreateHyperParameterTuningJobCommandInput,
  parents: DescribeHyperParameterTuningJobCommandOutput[],
): CheckWarmStartParentOutput {
  const asked = request.WarmStartConfig?.WarmStartType;
  if (!asked) return { type: null, reason: 'no warm start was asked for' };
  const names = parents.map((p) => p.HyperParameterTuningJobName ?? '(unnamed)').join(', ');
  if (parents.length === 0) return { type: null, reason: 'no parent tuning job was named' };
  if (parents.length > MAX_WARM_START_PARENTS)
    return { type: null, reason: `${parents.length} parents; a warm start takes at most ${MAX_WARM_START_PARENTS}` };
  for (const parent of parents) {
    const why = incompatibility(request, parent);
    if (why) return { type: null, reason: `cannot warm-start from ${names}: ${why}` };
  }
  if (asked === 'IdenticalDataAndAlgorithm') {
    for (const parent of parents) {
      const why = notIdentical(request, parent);
      if (why)
        return { type: 'TransferLearning', reason: `TransferLearning from ${names}: IdenticalDataAndAlgorithm ${why}` };
    }
  }
  return { type: asked as 'IdenticalDataAndAlgorithm' | 'TransferLearning', reason: `${asked} from ${names}` };
}
