/**
 * Warm-start rules of CreateHyperParameterTuningJob (SageMaker developer guide, "Run a Warm Start Hyperparameter
 * Tuning Job"): at most 5 parents, all in a terminal state; the same objective metric; the same total number of
 * static plus tunable hyperparameters; no tunable hyperparameter changes its type; and IdenticalDataAndAlgorithm
 * uses the same training image and the same input data as its parents. Local mode checks "the same input data" by
 * what the channels hold (keys, sizes and ETags under each S3 URI), not only by their URIs: a pipeline that syncs new
 * data into the same prefix has changed its data.
 */
import { invalid, notFound } from '../protocol';
import type { Body } from '../request-fields';
import type { RuleCheck, TuningJobView } from './rule';

const TERMINAL = new Set(['Completed', 'Stopped', 'Failed']);
/** Most parents a warm-start tuning job may name. */
export const MAX_PARENTS = 5;

type Kind = 'continuous' | 'integer' | 'categorical';

function obj(v: unknown): Body {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : {};
}

function list(v: unknown): Body[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

/** Tunable hyperparameters by name, with their kind. */
function tunable(ranges: Body): Map<string, Kind> {
  const out = new Map<string, Kind>();
  for (const [field, kind] of [
    ['ContinuousParameterRanges', 'continuous'],
    ['IntegerParameterRanges', 'integer'],
    ['CategoricalParameterRanges', 'categorical'],
  ] as const)
    for (const r of list(ranges[field])) if (typeof r.Name === 'string') out.set(r.Name, kind);
  return out;
}

function staticNames(definition: Body): string[] {
  return Object.keys(obj(definition.StaticHyperParameters));
}

/** The channels of a training definition: name → S3 URI. */
export function definitionChannels(definition: Body): { ChannelName: string; S3Uri: string }[] {
  return list(definition.InputDataConfig).flatMap((c) => {
    const uri = obj(obj(c.DataSource).S3DataSource).S3Uri;
    return typeof c.ChannelName === 'string' && typeof uri === 'string'
      ? [{ ChannelName: c.ChannelName, S3Uri: uri }]
      : [];
  });
}

function image(definition: Body): unknown {
  return obj(definition.AlgorithmSpecification).TrainingImage;
}

function sameChannels(a: Body, b: Body): boolean {
  const key = (d: Body) =>
    JSON.stringify(
      definitionChannels(d)
        .map((c) => [c.ChannelName, c.S3Uri])
        .sort(),
    );
  return key(a) === key(b);
}

/** Every warm-start rule, in the order a user would fix them. */
export const warmStartRules: RuleCheck = async ({ body }, state) => {
  const warm = body.WarmStartConfig;
  if (warm === undefined || warm === null) return;
  const cfg = obj(warm);
  const parents = list(cfg.ParentHyperParameterTuningJobs);
  if (parents.length > MAX_PARENTS)
    throw invalid(
      `1 validation error detected: Value '${parents.length} parents' at 'warmStartConfig.parentHyperParameterTuningJobs' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PARENTS}`,
    );
  const objective = obj(obj(body.HyperParameterTuningJobConfig).HyperParameterTuningJobObjective).MetricName;
  const ranges = tunable(obj(obj(body.HyperParameterTuningJobConfig).ParameterRanges));
  const definition = obj(body.TrainingJobDefinition);
  const total = new Set([...staticNames(definition), ...ranges.keys()]).size;
  const identical = cfg.WarmStartType === 'IdenticalDataAndAlgorithm';
  let fingerprint: Record<string, string> | undefined;

  for (const p of parents) {
    const name = String(p.HyperParameterTuningJobName ?? '');
    const parent: TuningJobView | undefined = state.tuningJob(name);
    if (!parent) throw notFound(`Amazon SageMaker can't find a tuning job with name ${name}`);
    if (!TERMINAL.has(parent.status))
      throw invalid(
        `Parent tuning job ${name} is ${parent.status}: every parent of a warm start tuning job must be in a terminal state (Completed, Stopped or Failed).`,
      );
    if (parent.objectiveMetric !== objective)
      throw invalid(
        `The objective metric of a warm start tuning job must be the same as its parents': ${String(objective)} differs from ${parent.objectiveMetric} of ${name}.`,
      );
    const parentRanges = tunable(parent.ranges);
    const parentTotal = new Set([...staticNames(parent.definition), ...parentRanges.keys()]).size;
    if (parentTotal !== total)
      throw invalid(
        `The total number of static plus tunable hyperparameters must stay the same as in the parent jobs: ${total} here, ${parentTotal} in ${name}.`,
      );
    for (const [hp, kind] of ranges) {
      const before = parentRanges.get(hp);
      if (before && before !== kind)
        throw invalid(
          `The type of hyperparameter ${hp} must not change between parent jobs and the new tuning job: ${before} in ${name}, ${kind} here.`,
        );
    }
    if (!identical) continue;
    if (image(parent.definition) !== image(definition))
      throw invalid(
        `IdenticalDataAndAlgorithm uses the same training image as the parent tuning jobs: ${String(image(definition))} differs from ${String(image(parent.definition))} of ${name}. Use TransferLearning.`,
      );
    if (!sameChannels(parent.definition, definition))
      throw invalid(
        `IdenticalDataAndAlgorithm uses the same input data as the parent tuning jobs: the channels differ from ${name}'s. Use TransferLearning.`,
      );
    if (parent.dataFingerprint) {
      fingerprint ??= await state.channelFingerprint(definitionChannels(definition));
      const changed = Object.keys(fingerprint).filter((c) => fingerprint?.[c] !== parent.dataFingerprint?.[c]);
      if (changed.length)
        throw invalid(
          `IdenticalDataAndAlgorithm uses the same input data as the parent tuning jobs: the data of channel(s) ${changed.join(', ')} changed since ${name} ran. Use TransferLearning.`,
        );
    }
  }
};
