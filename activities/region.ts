/**
 * The spec's region against the worker's: the worker's AWS clients call the region of its configuration
 * (AWS_REGION), so a spec naming another region would silently create every resource in the worker's region.
 */
import { CheckRegionInput, type CheckRegionOutput } from '../contracts/preflight';
import { ErrorType } from '../contracts/errors';
import { failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';

/** Preflight activities about where the pipeline runs. */
export function createRegionActivities({ clients }: ActivityDeps) {
  return {
    /** Refuses (SpecInvalid, not retried) a spec whose region is not the one the worker's clients call. */
    async checkRegion(raw: CheckRegionInput): Promise<CheckRegionOutput> {
      const input = parseInput(CheckRegionInput, raw, 'checkRegion');
      const worker = await clients.sagemaker.config.region();
      if (worker !== input.region)
        throw failure(
          ErrorType.SpecInvalid,
          `The spec's region is ${input.region} but this worker calls AWS in ${worker} (its AWS_REGION): it would create ` +
            `every resource in ${worker}. Run the pipeline on workers configured for ${input.region}, or set "region" ` +
            `to ${worker} (or leave it out). Nothing was created.`,
          { specRegion: input.region, workerRegion: worker },
        );
      return { region: worker };
    },
  };
}
