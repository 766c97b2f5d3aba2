/** Scheduled retraining: finding what the previous run left to build on. */
import { z } from 'zod';
import { CreateTuningJobInput } from './tune-model';

/** Input of findPreviousTuningJob. */
export const FindPreviousTuningJobInput = z.strictObject({ pipelineName: z.string(), excludeWorkflowId: z.string() });
export type FindPreviousTuningJobInput = z.infer<typeof FindPreviousTuningJobInput>;
/**
 * The newest Completed tuning job tagged with the pipeline's name (null on the first run), with what the warm-start
 * type depends on: the training image it ran and when it was created (absent in results recorded before they were).
 */
export const FindPreviousTuningJobOutput = z.strictObject({
  tuningJobName: z.string().nullable(),
  trainingImage: z.string().nullable().optional(),
  creationTime: z.string().nullable().optional(),
});
export type FindPreviousTuningJobOutput = z.infer<typeof FindPreviousTuningJobOutput>;

/** Tag that names the pipeline on every resource it creates. */
export const PIPELINE_NAME_TAG = 'pipeline:name';
/** Tag that names the pipeline run (its workflow ID) on every resource it creates. */
export const PIPELINE_RUN_TAG = 'pipeline:run-id';

/** Input of checkWarmStartParent: the tuning job this run would create, its warm start naming the parent(s). */
export const CheckWarmStartParentInput = z.strictObject({ tuningJob: CreateTuningJobInput });
/** Input of checkWarmStartParent. */
export type CheckWarmStartParentInput = z.input<typeof CheckWarmStartParentInput>;
/**
 * Whether SageMaker would accept the warm start: `type` is the warm-start type to use (IdenticalDataAndAlgorithm
 * falls back to TransferLearning when only the image or data changed), null when the run must tune cold; `reason`
 * says why in words.
 */
export const CheckWarmStartParentOutput = z.strictObject({
  type: z.enum(['IdenticalDataAndAlgorithm', 'TransferLearning']).nullable(),
  reason: z.string(),
});
/** Output of checkWarmStartParent. */
export type CheckWarmStartParentOutput = z.infer<typeof CheckWarmStartParentOutput>;
