/**
 * Typed search attributes that make pipeline runs findable in the Temporal UI (registered by `npm run local -- up`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

/** The step a pipeline is running now. */
export const PIPELINE_STEP = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);
/** The model package version the run registered. */
export const MODEL_PACKAGE_VERSION = defineSearchAttributeKey('ModelPackageVersion', SearchAttributeType.INT);
/** The endpoint the run deploys to. */
export const ENDPOINT_NAME = defineSearchAttributeKey('EndpointName', SearchAttributeType.KEYWORD);

/** Records the current step on the run. */
export function markStep(step: string): void {
  upsertSearchAttributes([{ key: PIPELINE_STEP, value: step }]);
}
