/** A workflow's live status, as the `status` query (contracts/workflow-api.ts) answers it for operators and clients. */
import { z } from 'zod';
import { PIPELINE_STEPS } from './pipeline-plan';

/** Where a pipeline run is: before its first step, in one of its steps, or over. */
export const PipelinePhase = z.enum(['starting', ...PIPELINE_STEPS, 'done', 'cancelled'] as const);
export type PipelinePhase = z.infer<typeof PipelinePhase>;

/** A step's live state: what it is doing, what it created, what it last saw. */
export const StepStatus = z.object({
  step: z.string(),
  /** What the workflow is doing, in words for people; clients read the typed fields instead of parsing it. */
  phase: z.string(),
  resources: z.record(z.string(), z.string()),
  lastObserved: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  stopped: z.array(z.string()).default([]),
  /** registerModel: true while the version waits for a reviewer's approveModel or rejectModel update. */
  awaitingApproval: z.boolean().default(false),
  /** The pipeline workflows: the step running now, or where the run is before and after its steps. */
  pipelinePhase: PipelinePhase.optional(),
});
export type StepStatus = z.infer<typeof StepStatus>;
