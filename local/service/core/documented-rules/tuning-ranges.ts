/**
 * What CreateHyperParameterTuningJob refuses about its hyperparameters that the model cannot express: at most 30
 * tunable ranges in all (the model's 30 is per kind), at most 100 hyperparameters in all (static plus tunable, plus
 * the `_tuning_objective_metric` SageMaker adds itself), reverse logarithmic scaling only inside [0, 1), and
 * Hyperband only without the tuner's own early stopping.
 */
import { fail } from '../request-fields';
import type { Body } from '../request-fields';
import type { RuleCheck } from './rule';

/** Most tunable ranges one tuning job may search (API_ParameterRanges: the per-kind maximum is also the total). */
export const MAX_TUNABLE_RANGES = 30;
/** Most hyperparameters in all, static plus tunable (automatic-model-tuning-define-ranges). */
export const MAX_TUNING_HYPERPARAMETERS = 100;
/** The hyperparameter SageMaker adds to every trial to pass it the objective metric; it counts against the 100. */
export const ADDED_BY_SAGEMAKER = ['_tuning_objective_metric'];

const KINDS = ['ContinuousParameterRanges', 'IntegerParameterRanges', 'CategoricalParameterRanges'] as const;

function obj(v: unknown): Body {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : {};
}

function list(v: unknown): Body[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function ranges(body: Body): Body {
  return obj(obj(body.HyperParameterTuningJobConfig).ParameterRanges);
}

/** At most 30 tunable ranges in all, and at most 100 hyperparameters counting the static ones and SageMaker's own. */
export const tuningHyperparameterCounts: RuleCheck = ({ body }) => {
  const r = ranges(body);
  const tunable = new Set(KINDS.flatMap((k) => list(r[k]).map((x) => String(x.Name))));
  const count = KINDS.reduce((n, k) => n + list(r[k]).length, 0);
  if (count > MAX_TUNABLE_RANGES)
    fail(
      'hyperParameterTuningJobConfig.parameterRanges',
      `${count} ranges`,
      `The sum of the number of hyperparameters for all the ranges must be less than or equal to ${MAX_TUNABLE_RANGES}`,
    );
  const statics = Object.keys(obj(obj(body.TrainingJobDefinition).StaticHyperParameters));
  const all = new Set([...statics, ...tunable, ...ADDED_BY_SAGEMAKER]);
  if (all.size > MAX_TUNING_HYPERPARAMETERS)
    fail(
      'trainingJobDefinition.staticHyperParameters',
      `${all.size} hyperparameters`,
      `Static plus tunable hyperparameters, with ${ADDED_BY_SAGEMAKER.join(', ')} that SageMaker adds, must be at most ${MAX_TUNING_HYPERPARAMETERS}`,
    );
};

/** ReverseLogarithmic scaling works only for a continuous range entirely within 0 <= x < 1.0. */
export const reverseLogarithmicRange: RuleCheck = ({ body }) => {
  for (const [i, x] of list(ranges(body).ContinuousParameterRanges).entries()) {
    if (x.ScalingType !== 'ReverseLogarithmic') continue;
    const min = Number(x.MinValue);
    const max = Number(x.MaxValue);
    if (!(min >= 0 && max < 1))
      fail(
        `hyperParameterTuningJobConfig.parameterRanges.continuousParameterRanges.${i + 1}.member.scalingType`,
        x.ScalingType,
        `Reverse logarithmic scaling works only for ranges that are entirely within the range 0<=x<1.0 (${String(x.Name)}: ${String(x.MinValue)}-${String(x.MaxValue)})`,
      );
  }
};

/** TrainingJobEarlyStoppingType must be Off to use the Hyperband strategy (it stops trials itself). */
export const hyperbandWithoutEarlyStopping: RuleCheck = ({ body }) => {
  const cfg = obj(body.HyperParameterTuningJobConfig);
  if (cfg.Strategy === 'Hyperband' && cfg.TrainingJobEarlyStoppingType === 'Auto')
    fail(
      'hyperParameterTuningJobConfig.trainingJobEarlyStoppingType',
      'Auto',
      'TrainingJobEarlyStoppingType must be Off to use the Hyperband strategy',
    );
};
