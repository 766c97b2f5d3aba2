/** The `status` query every step workflow (and the pipeline) answers, for operators and the UI. */
import { z } from 'zod';

/** A step's live state: what it is doing, what it created, what it last saw. */
export const StepStatus = z.object({
  step: z.string(),
  phase: z.string(),
  resources: z.record(z.string(), z.string()),
  lastObserved: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  stopped: z.array(z.string()).default([]),
});
export type StepStatus = z.infer<typeof StepStatus>;

/** Query name answered by every workflow in this project. */
export const STATUS_QUERY = 'status';
