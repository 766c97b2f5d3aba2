/**
 * Step 6: register the champion as a new model package version. `auto` approval approves it when it beats the
 * approved version by the spec's margin; otherwise the version is PendingManualApproval and the workflow waits
 * (with the spec's timeout) for an `approveModel` or `rejectModel` update, and writes the decision back.
 */
import { z } from 'zod';
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  deprecatePatch,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import {
  ApprovalDecision,
  approvalDescriptionIssues,
  type ApprovalDecisionResult,
  type ApprovalStatus,
  decideApproval,
  decideByEvaluation,
  EVAL_NLL_METRIC,
  pickChampion,
  RegisterModelInput,
  type RegisterModelOutput,
  type UpdateModelPackageApprovalOutput,
} from '../contracts/register-model';
import { scriptModeModelEnvironment } from '../contracts/user-code';
import {
  approvalStateSignal,
  approveModelUpdate,
  rejectModelUpdate,
  type ReviewerDecision,
} from '../contracts/workflow-api';
import { longActivities, quickActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { PATCH } from './patches';
import { tellParent, trackStatus } from './step-status';

const past = (d: ApprovalDecision['decision']) => (d === 'approve' ? 'approved' : 'rejected');
/** The update that carries each decision. */
const UPDATE_OF = { approve: approveModelUpdate, reject: rejectModelUpdate } as const;

/**
 * Registers the best candidate and returns the version with its approval outcome (`approved: false` means: do not
 * deploy).
 */
export async function registerModel(rawInput: RegisterModelInput): Promise<RegisterModelOutput> {
  const input = parseStepInput(RegisterModelInput, rawInput, 'registerModel input');
  const status = trackStatus('registerModel');
  const quick = quickActivities();
  const group = input.modelPackageGroupName;
  const metric = input.objective.metricName;

  // Reviewer decisions are accepted only while the version is pending (status.awaitingApproval) and undecided.
  let closed: string | null = null;
  let decision: ApprovalDecision | null = null;
  let written: UpdateModelPackageApprovalOutput | null = null;
  let writeFailed: string | null = null;
  const validator = (kind: ApprovalDecision['decision']) => (arg: ReviewerDecision) => {
    if (decision) {
      throw new Error(
        `This version was already ${past(decision.decision)} by ${decision.reviewer} (${decision.reason}); a ` +
          `second decision is refused`,
      );
    }
    if (closed) throw new Error(closed);
    if (!status.awaitingApproval)
      throw new Error(
        `registerModel is not waiting for a decision yet (${status.phase}); retry once the version is ` +
          `PendingManualApproval`,
      );
    const parsed = z.safeParse(ApprovalDecision, { ...(typeof arg === 'object' ? arg : {}), decision: kind });
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => `${i.path.join('.') || 'argument'}: ${i.message}`).join('; ');
      throw new Error(`${UPDATE_OF[kind].name} needs { reviewer, reason }, both non-empty: ${fields}`);
    }
    // Refused here, before the update is accepted: UpdateModelPackage would refuse it later and leave it pending.
    const lineBreaks = approvalDescriptionIssues(parsed.data);
    if (lineBreaks.length) throw new Error(`${UPDATE_OF[kind].name}: ${lineBreaks.join('; ')}`);
  };
  const handler =
    (kind: ApprovalDecision['decision']) =>
    async (arg: ReviewerDecision): Promise<UpdateModelPackageApprovalOutput> => {
      decision = z.parse(ApprovalDecision, { ...arg, decision: kind });
      await condition(() => written !== null || writeFailed !== null);
      if (written === null)
        throw ApplicationFailure.create({
          message: `The decision could not be written to the model registry: ${writeFailed}`,
        });
      return written;
    };
  setHandler(UPDATE_OF.approve, handler('approve'), { validator: validator('approve') });
  setHandler(UPDATE_OF.reject, handler('reject'), { validator: validator('reject') });

  const champion = pickChampion(input.candidates, input.objective.type);
  if (!champion || champion.objectiveValue === null) {
    const seen = input.candidates
      .map((c) => `${c.source} ${c.trainingJobName}: ${c.objectiveValue ?? 'none'}`)
      .join(', ');
    closed = 'registerModel failed: no candidate had an objective value';
    throw ApplicationFailure.nonRetryable(
      `No candidate reported the objective metric ${metric} (${seen}); nothing to register`,
      ErrorType.JobFailed,
      {
        candidates: input.candidates,
      },
    );
  }
  const value = champion.objectiveValue;
  status.resources.championTrainingJob = champion.trainingJobName;
  // The evaluation counts only when it scored this champion (the pipeline evaluates the same pick).
  const evaluation = input.evaluation?.trainingJobName === champion.trainingJobName ? input.evaluation : undefined;
  const metrics = evaluation
    ? {
        ...input.metrics,
        [EVAL_NLL_METRIC]: evaluation.evalNll,
        eval_perplexity: evaluation.evalPerplexity,
        eval_records: evaluation.records,
        eval_tokens: evaluation.tokens,
      }
    : input.metrics;
  status.metrics = { ...metrics, [metric]: value };

  // The team's inference handler goes into model.tar.gz under code/, as the SDK's Model(entry_point=…) repacks it.
  let modelDataUrl = champion.modelArtifactS3Uri;
  let environment: Record<string, string> | undefined;
  if (input.inferenceCode) {
    deprecatePatch(PATCH.repackInferenceCode);
    const ic = input.inferenceCode;
    status.phase = 'repacking the model with the inference code';
    const repacked = await longActivities('2h').repackModel.executeWithOptions(
      {
        startToCloseTimeout: '2h',
        heartbeatTimeout: '2m',
        summary: `Repack ${champion.modelArtifactS3Uri} with ${ic.code.entryPoint} (${ic.code.sha256.slice(0, 12)}) under code/`,
      },
      [{ modelDataUrl: champion.modelArtifactS3Uri, code: ic.code, bucket: ic.bucket, keyPrefix: ic.keyPrefix }],
    );
    modelDataUrl = repacked.modelDataUrl;
    environment = scriptModeModelEnvironment(ic.code, ic.region);
    status.resources.modelDataUrl = modelDataUrl;
  }

  status.phase = 'ensuring model package group';
  const ensured = await quick.ensureModelPackageGroup.executeWithOptions(
    { summary: `Ensure model package group ${group}` },
    [{ modelPackageGroupName: group, tags: input.tags }],
  );
  status.resources.modelPackageGroupArn = ensured.modelPackageGroupArn;

  const current = await quick.findApprovedModelPackage.executeWithOptions(
    { summary: `Find the approved version of ${group} and its ${metric}` },
    [{ modelPackageGroupName: group, objectiveMetric: metric }],
  );
  // An approved version without a recorded objective cannot be compared: a reviewer decides (never "first version").
  // When both have an eval_nll, the held-out score decides instead of the training objective.
  const championNll = current?.evalNll ?? null;
  const initial: ApprovalDecisionResult =
    evaluation && championNll !== null
      ? decideByEvaluation(input.approval, evaluation.evalNll, championNll, input.maxEvalRegression)
      : current && current.objectiveValue === null && input.approval.policy === 'auto'
        ? {
            status: 'PendingManualApproval',
            reason: `approved version ${current.modelPackageArn} has no recorded ${metric} to compare with`,
          }
        : decideApproval(input.approval, input.objective, value, current?.objectiveValue ?? null);

  status.phase = 'registering model package';
  const created = await quick.createModelPackage.executeWithOptions(
    {
      summary:
        `Register ${champion.source} job ${champion.trainingJobName} (${metric}=${value}) in ${group} as ` +
        `${initial.status}`,
    },
    [
      {
        modelPackageGroupName: group,
        workflowId: workflowInfo().workflowId,
        imageUri: input.imageUri,
        modelDataUrl,
        contentTypes: input.contentTypes,
        inferenceInstanceTypes: input.inferenceInstanceTypes,
        approvalStatus: initial.status,
        approvalDescription: initial.reason.slice(0, 1024),
        objective: { ...input.objective, value },
        metrics,
        metricsS3Uri: input.metricsS3Uri,
        hyperparameters: champion.hyperparameters,
        dataUris: input.dataUris,
        trainingJobName: champion.trainingJobName,
        tags: input.tags,
        ...(environment ? { environment } : {}),
        ...(input.trainingCode ? { trainingCode: input.trainingCode } : {}),
        ...(input.inferenceCode ? { inferenceCode: input.inferenceCode.code } : {}),
        ...(input.runKey === undefined ? {} : { runKey: input.runKey }),
        ...(evaluation ? { evaluation } : {}),
      },
    ],
  );
  status.resources.modelPackageArn = created.modelPackageArn;
  status.lastObserved = { approvalStatus: created.approvalStatus, reason: initial.reason };

  // A re-attached version (this workflow ID registered it before) may already be the approved one: not a predecessor.
  const previousApproved =
    current && current.modelPackageArn !== created.modelPackageArn
      ? { modelPackageArn: current.modelPackageArn, objectiveValue: current.objectiveValue }
      : null;
  const output = (approvalStatus: ApprovalStatus, reason: string, reviewer?: string): RegisterModelOutput => ({
    modelPackageArn: created.modelPackageArn,
    modelPackageVersion: created.modelPackageVersion,
    approvalStatus,
    approved: approvalStatus === 'Approved',
    champion,
    previousApproved,
    ...(reviewer ? { reviewer } : {}),
    reason,
    reattached: created.reattached,
    ...(environment ? { modelDataUrl, environment } : {}),
  });
  const finish = async (result: RegisterModelOutput): Promise<RegisterModelOutput> => {
    status.phase = `${result.approvalStatus}: ${result.reason}`;
    status.lastObserved = {
      approvalStatus: result.approvalStatus,
      reason: result.reason,
      ...(result.reviewer ? { reviewer: result.reviewer } : {}),
    };
    await condition(allHandlersFinished);
    return result;
  };

  if (created.approvalStatus !== 'PendingManualApproval') {
    const reason =
      created.reattached && created.approvalStatus !== initial.status
        ? `re-attached to version already ${created.approvalStatus}`
        : initial.reason;
    closed = `No decision is needed: version ${created.modelPackageArn} is ${created.approvalStatus} (${reason})`;
    return finish(output(created.approvalStatus, reason));
  }

  const timeoutSeconds = input.approval.timeoutSeconds ?? 7 * 24 * 3600;
  // The pipeline records the wait in its ApprovalStatus search attribute, so `npm run cli -- list` finds the runs
  // waiting for a reviewer.
  deprecatePatch(PATCH.approvalStatusSearchAttribute);
  await tellParent(approvalStateSignal, {
    approvalStatus: 'PendingManualApproval',
    modelPackageArn: created.modelPackageArn,
  });
  status.awaitingApproval = true;
  status.phase =
    `waiting up to ${timeoutSeconds} s for ${UPDATE_OF.approve.name} or ${UPDATE_OF.reject.name}: ` +
    `${initial.reason}`;
  const decided = await condition(() => decision !== null, timeoutSeconds * 1000);
  status.awaitingApproval = false;
  if (!decided || decision === null) {
    const reason =
      `no reviewer decided within ${timeoutSeconds} s (${initial.reason}); the version stays ` +
      `PendingManualApproval and is not deployed`;
    closed = `The approval window closed: ${reason}`;
    return finish(output('PendingManualApproval', reason));
  }

  const d: ApprovalDecision = decision;
  const target = d.decision === 'approve' ? 'Approved' : 'Rejected';
  status.phase = `writing ${target} by ${d.reviewer}`;
  try {
    written = await quick.updateModelPackageApproval.executeWithOptions(
      { summary: `Mark ${created.modelPackageArn} ${target} by ${d.reviewer}` },
      [{ modelPackageArn: created.modelPackageArn, status: target, reviewer: d.reviewer, reason: d.reason }],
    );
  } catch (err) {
    writeFailed = err instanceof Error ? err.message : String(err);
    throw err;
  }
  return finish(output(written.approvalStatus, `${past(d.decision)} by ${d.reviewer}: ${d.reason}`, d.reviewer));
}
