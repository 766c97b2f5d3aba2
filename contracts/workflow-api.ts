/**
 * What clients exchange with the workflows besides their input and result: the `status` query, the approval updates
 * and the signal a cancelled step sends its pipeline. One definition each, imported by the workflows that answer
 * them and by every client (worker/pipeline-client.ts), so a name or a payload type cannot drift between the two.
 *
 * `defineQuery`, `defineUpdate` and `defineSignal` only build plain `{ type, name }` objects: this module is safe in
 * the workflow sandbox and in client code alike. It is not in contracts/index.ts, which stays zod only (the
 * activities import that index and need no Temporal workflow package).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobStateChanged } from './job-events';
import type { ApprovalDecision, UpdateModelPackageApprovalOutput } from './register-model';
import type { StepStatus } from './status';

/** Answered by every workflow in this project: its live status. Adds nothing to the history. */
export const statusQuery = defineQuery<StepStatus>('status');

/** What a reviewer sends with `approveModel` / `rejectModel`: both fields required and non-empty. */
export type ReviewerDecision = Omit<ApprovalDecision, 'decision'>;

/** Approves registerModel's pending version; resolves once the approval is written to the model registry. */
export const approveModelUpdate = defineUpdate<UpdateModelPackageApprovalOutput, [ReviewerDecision]>('approveModel');

/** Rejects registerModel's pending version; resolves once the rejection is written to the model registry. */
export const rejectModelUpdate = defineUpdate<UpdateModelPackageApprovalOutput, [ReviewerDecision]>('rejectModel');

/** What a cancelled step tells its parent pipeline: the resources its cleanup stopped. */
export interface StepStopped {
  step: string;
  stopped: string[];
}

/** Sent by a cancelled step to its parent pipeline, which lists what was stopped in its summary. */
export const stepStoppedSignal = defineSignal<[StepStopped]>('stepStopped');

/** What registerModel tells its parent pipeline when its version's approval state changes. */
export interface ApprovalState {
  approvalStatus: string;
  modelPackageArn: string;
}

/**
 * Sent by registerModel to its parent pipeline when it starts waiting for a reviewer, so the pipeline records it in
 * its ApprovalStatus search attribute (`npm run cli -- list` finds the runs waiting for a decision).
 */
export const approvalStateSignal = defineSignal<[ApprovalState]>('approvalState');

/**
 * Sent by the event relay (worker/event-relay.ts) to the step waiting on a job, endpoint or build that changed state:
 * the step cuts its current wait short and describes the resource once (workflows/job-step.ts). A hint only: a
 * duplicate, late or out-of-order signal costs one Describe and changes nothing.
 */
export const jobStateChangedSignal = defineSignal<[JobStateChanged]>('jobStateChanged');
