/** Checks the pipeline runs before it creates anything: inputs and outputs of their activities. */
import { z } from 'zod';

/** The region the spec names, to compare with the region the worker's AWS clients call. */
export const CheckRegionInput = z.strictObject({ region: z.string().min(1) });
export type CheckRegionInput = z.infer<typeof CheckRegionInput>;
/** The worker's region (equal to the spec's when the check passes). */
export const CheckRegionOutput = z.strictObject({ region: z.string() });
export type CheckRegionOutput = z.infer<typeof CheckRegionOutput>;
