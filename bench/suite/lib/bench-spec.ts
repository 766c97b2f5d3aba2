/** The pipeline spec the history and capacity benches run: the local example at production settings. */
import { type PipelineSpecInput, validateSpec } from '../../../contracts';
import { loadLocalSpec } from '../../../testing/tiny-spec';

const exampleSpec = (): Record<string, Record<string, unknown>> => loadLocalSpec();

/**
 * The default of `pollIntervalSeconds` in contracts/pipeline-spec.ts, read from the schema itself (the example minus
 * its own value).
 */
function defaultPollInterval(): number {
  const { pollIntervalSeconds: _local, ...rest } = exampleSpec();
  const parsed = validateSpec(rest);
  if (!parsed.ok)
    throw new Error(
      `examples/pipeline.local.json without pollIntervalSeconds is invalid: ${JSON.stringify(parsed.issues)}`,
    );
  return parsed.spec.pollIntervalSeconds;
}

/** Production's default poll interval, used by every bench here. */
export const PRODUCTION_POLL_INTERVAL_S = defaultPollInterval();

/**
 * examples/pipeline.local.json with the production poll interval, a tuner of `trials` trials (10 at a time) and a
 * training runtime limit of `runtimeSeconds`; the cost guard is overridden because the benches price nothing real.
 */
export function benchSpec(trials: number, runtimeSeconds: number): PipelineSpecInput {
  const base = exampleSpec();
  return {
    ...base,
    pollIntervalSeconds: PRODUCTION_POLL_INTERVAL_S,
    training: { ...base.training, maxRuntimeSeconds: runtimeSeconds },
    tuning: { ...base.tuning, maxJobs: trials, maxParallelJobs: Math.min(10, trials) },
    // The scripted fakes stand in for every step but training and tuning; the optional Processing and Transform
    // steps (two more child workflows of a few events each) stay off, so figures compare with earlier runs.
    prepareData: { enabled: false },
    evaluation: { enabled: false },
    costGuard: { maxSpendUsd: 100, override: true },
  } as unknown as PipelineSpecInput;
}
