/** Typed search attributes that make pipeline runs findable in the Temporal UI and in `npm run cli -- list`. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

/** The step a pipeline is running now. */
export const PIPELINE_STEP = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);
/** The model package version the run registered. */
export const MODEL_PACKAGE_VERSION = defineSearchAttributeKey('ModelPackageVersion', SearchAttributeType.INT);
/** The endpoint the run deploys to. */
export const ENDPOINT_NAME = defineSearchAttributeKey('EndpointName', SearchAttributeType.KEYWORD);
/** The registered version's approval state (PendingManualApproval while a reviewer is awaited). */
export const APPROVAL_STATUS = defineSearchAttributeKey('ApprovalStatus', SearchAttributeType.KEYWORD);

/** Records the current step on the run. */
export function markStep(step: string): void {
  upsertSearchAttributes([{ key: PIPELINE_STEP, value: step }]);
}
