/** The pipeline spec the history and capacity benches run: the local example at production settings. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PipelineSpecInput } from '../../../contracts';
import { REPO_ROOT } from '../../../local/config';

/** Production's default poll interval (contracts/pipeline-spec.ts `pollIntervalSeconds`), used by every bench here. */
export const PRODUCTION_POLL_INTERVAL_S = 60;

/**
 * examples/pipeline.local.json with the production poll interval, a tuner of `trials` trials (10 at a time) and a
 * training runtime limit of `runtimeSeconds`; the cost guard is overridden because the benches price nothing real.
 */
export function benchSpec(trials: number, runtimeSeconds: number): PipelineSpecInput {
  const base = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/pipeline.local.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  return {
    ...base,
    pollIntervalSeconds: PRODUCTION_POLL_INTERVAL_S,
    training: { ...base.training, maxRuntimeSeconds: runtimeSeconds },
    tuning: { ...base.tuning, maxJobs: trials, maxParallelJobs: Math.min(10, trials) },
    costGuard: { maxSpendUsd: 100, override: true },
  } as unknown as PipelineSpecInput;
}
