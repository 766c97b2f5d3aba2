/**
 * Step 6, registerModel: inputs and outputs, and the two pure decisions the workflow makes itself
 * (which model is the champion, and whether it is approved automatically).
 */
import { z } from 'zod';
import { Evaluation } from './evaluate-model';
import { Objective } from './tune-model';
import { InferenceCodeInput, PackedCode } from './user-code';

export { InferenceCodeInput } from './user-code';

/** A model that may become the registered version: trainModel's result or the tuner's best trial. */
export const ChampionCandidate = z.strictObject({
  source: z.enum(['training', 'tuning']),
  trainingJobName: z.string(),
  modelArtifactS3Uri: z.string(),
  /** Null when the job reported no objective metric; such a candidate never wins. */
  objectiveValue: z.number().nullable(),
  hyperparameters: z.record(z.string(), z.string()).default({}),
});
/** A model that may become the registered version. */
export type ChampionCandidate = z.infer<typeof ChampionCandidate>;

/**
 * The candidate with the best objective value. Deterministic: a tie keeps the earlier candidate (pass the
 * trainModel result first), candidates without a finite objective are skipped, and null means none has one.
 */
export function pickChampion(
  candidates: readonly ChampionCandidate[],
  objectiveType: Objective['type'],
): ChampionCandidate | null {
  let best: ChampionCandidate | null = null;
  for (const c of candidates) {
    if (c.objectiveValue === null || !Number.isFinite(c.objectiveValue)) continue;
    if (best === null || isBetter(c.objectiveValue, best.objectiveValue as number, objectiveType)) best = c;
  }
  return best;
}

function isBetter(value: number, than: number, type: Objective['type']): boolean {
  return type === 'Minimize' ? value < than : value > than;
}

/** SageMaker's ModelApprovalStatus values. */
export const ApprovalStatus = z.enum(['Approved', 'Rejected', 'PendingManualApproval']);
/** SageMaker's ModelApprovalStatus values. */
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** The spec's approval settings. */
export const ApprovalPolicy = z.strictObject({
  policy: z.enum(['auto', 'manual']),
  margin: z.number().min(0).default(0),
  approveFirstVersion: z.boolean().default(true),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
});
/** The spec's approval settings. */
export type ApprovalPolicy = z.input<typeof ApprovalPolicy>;

/** What `decideApproval` concluded and why (the reason becomes the package's approval description). */
export interface ApprovalDecisionResult {
  status: 'Approved' | 'PendingManualApproval';
  reason: string;
}

/**
 * Initial approval status of a new version. `auto` approves when the champion beats the currently approved
 * version by at least `margin` (strictly better when margin is 0), or when there is none and the policy approves
 * first versions; everything else, and every `manual` policy, waits for a reviewer.
 */
export function decideApproval(
  policy: ApprovalPolicy,
  objective: Objective,
  championValue: number,
  currentApprovedValue: number | null,
): ApprovalDecisionResult {
  const margin = policy.margin ?? 0;
  if (policy.policy === 'manual') return { status: 'PendingManualApproval', reason: 'approval policy is manual' };
  if (currentApprovedValue === null) {
    return policy.approveFirstVersion !== false
      ? { status: 'Approved', reason: `first approved version (${objective.metricName}=${championValue})` }
      : { status: 'PendingManualApproval', reason: 'no approved version yet and approveFirstVersion is false' };
  }
  const improvement =
    objective.type === 'Minimize' ? currentApprovedValue - championValue : championValue - currentApprovedValue;
  const beats = improvement > 0 && improvement >= margin;
  const compared =
    `${objective.metricName} ${championValue} vs approved ${currentApprovedValue} ` +
    `(${objective.type}, margin ${margin})`;
  return beats
    ? { status: 'Approved', reason: `auto-approved: ${compared}` }
    : { status: 'PendingManualApproval', reason: `does not beat the approved version: ${compared}` };
}

/** The held-out metric the champion rule prefers when both versions have it (evaluateModel's eval_nll). */
export const EVAL_NLL_METRIC = 'eval_nll';

/**
 * Initial approval status when the candidate and the approved champion both have an eval_nll (lower is better): the
 * held-out score decides instead of the training objective. The candidate is auto-approved when its eval_nll is at
 * most the champion's plus `maxRegression`; a worse candidate waits for a reviewer, with both numbers in the reason.
 */
export function decideByEvaluation(
  policy: ApprovalPolicy,
  candidateNll: number,
  championNll: number,
  maxRegression: number,
): ApprovalDecisionResult {
  if (policy.policy === 'manual') return { status: 'PendingManualApproval', reason: 'approval policy is manual' };
  const compared = `${EVAL_NLL_METRIC} ${candidateNll} vs approved champion's ${championNll} (lower is better, allowed regression ${maxRegression})`;
  return candidateNll <= championNll + maxRegression
    ? { status: 'Approved', reason: `auto-approved: ${compared}` }
    : { status: 'PendingManualApproval', reason: `worse than the approved champion: ${compared}` };
}

/** A reviewer's decision, as the workflow's `approve`/`reject` update carries it (both fields required). */
export const ApprovalDecision = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  reviewer: z.string().trim().min(1).max(128),
  reason: z.string().trim().min(1).max(800),
});
/** A reviewer's decision. */
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * The line terminators of a Java regular expression: SageMaker checks ApprovalDescription against the pattern `.*`,
 * and Java's `.` matches none of them, so one in the description fails UpdateModelPackage.
 */
export const LINE_TERMINATOR = /[\n\r\u0085\u2028\u2029]/u;

/**
 * What in a reviewer's decision SageMaker's ApprovalDescription (`<status> by <reviewer>: <reason>`) would refuse: a
 * message per field with a line break, naming the field and the character. Empty when it can be written.
 */
export function approvalDescriptionIssues(decision: { reviewer?: unknown; reason?: unknown }): string[] {
  const issues: string[] = [];
  for (const field of ['reviewer', 'reason'] as const) {
    const value = decision[field];
    if (typeof value !== 'string') continue;
    const at = value.search(LINE_TERMINATOR);
    if (at < 0) continue;
    const code = `U+${value.codePointAt(at)?.toString(16).toUpperCase().padStart(4, '0')}`;
    issues.push(
      `${field}: must be a single line (a line break, ${code}, at character ${at + 1}); SageMaker's ` +
        `ApprovalDescription (pattern .*) refuses line breaks`,
    );
  }
  return issues;
}

/** `text` on one line: each run of line terminators becomes one space (for descriptions the pipeline writes itself). */
export function oneLine(text: string): string {
  return text.replace(/[\n\r\u0085\u2028\u2029]+/gu, ' ');
}

/** Input of the registerModel step workflow. */
export const RegisterModelInput = z.strictObject({
  modelPackageGroupName: z.string().min(1).max(63),
  /** trainModel's result first, then the tuner's best (ties keep the earlier one). */
  candidates: z.array(ChampionCandidate).min(1),
  objective: Objective,
  imageUri: z.string().regex(/@sha256:[a-f0-9]{64}$/, 'must be an image URI by digest'),
  dataUris: z.record(z.string(), z.string()).default({}),
  approval: ApprovalPolicy,
  contentTypes: z.array(z.string()).min(1).default(['application/json']),
  inferenceInstanceTypes: z.array(z.string()).min(1),
  /** Final metrics of the champion's job, written to the package. */
  metrics: z.record(z.string(), z.number()).default({}),
  /** Where the model-quality statistics JSON is written (ModelMetrics needs an S3 object). */
  metricsS3Uri: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  /** The training code the candidates were trained with (recorded on the package). */
  trainingCode: PackedCode.optional(),
  /** The team's inference handler: repacked into the champion's model.tar.gz under code/, as the SDK does. */
  inferenceCode: InferenceCodeInput.optional(),
  /** A re-run's run key (contracts/rerun.ts): the version it registers is its own, not the earlier run's. */
  runKey: z.string().min(1).optional(),
  /** evaluateModel's scores of the champion (absent when the step is off, and in runs recorded before it). */
  evaluation: Evaluation.optional(),
  /** evaluation.maxRegression of the spec: how much worse an eval_nll may be and still be auto-approved. */
  maxEvalRegression: z.number().min(0).default(0),
});
/** Input of the registerModel step workflow. */
export type RegisterModelInput = z.input<typeof RegisterModelInput>;

/** Output of registerModel. */
export const RegisterModelOutput = z.strictObject({
  modelPackageArn: z.string(),
  modelPackageVersion: z.number().int().nullable(),
  approvalStatus: ApprovalStatus,
  /**
   * True only when the version ends Approved; false after a rejection or when no decision came in time (nothing to
   * deploy).
   */
  approved: z.boolean(),
  champion: ChampionCandidate,
  previousApproved: z.strictObject({ modelPackageArn: z.string(), objectiveValue: z.number().nullable() }).nullable(),
  reviewer: z.string().optional(),
  reason: z.string(),
  reattached: z.boolean(),
  /** What to deploy when it differs from the champion's artefact (its model repacked with inference code). */
  modelDataUrl: z.string().optional(),
  /** The model's container environment (SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY, ...) when it has one. */
  environment: z.record(z.string(), z.string()).optional(),
});
/** Output of registerModel. */
export type RegisterModelOutput = z.infer<typeof RegisterModelOutput>;

/** Input of the ensureModelPackageGroup activity. */
export const EnsureModelPackageGroupInput = z.strictObject({
  modelPackageGroupName: z.string().min(1).max(63),
  description: z.string().max(1024).optional(),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the ensureModelPackageGroup activity. */
export type EnsureModelPackageGroupInput = z.input<typeof EnsureModelPackageGroupInput>;
/** `created` is false when the group already existed. */
export const EnsureModelPackageGroupOutput = z.strictObject({ modelPackageGroupArn: z.string(), created: z.boolean() });
/** Output of the ensureModelPackageGroup activity. */
export type EnsureModelPackageGroupOutput = z.infer<typeof EnsureModelPackageGroupOutput>;

/** Input of the findApprovedModelPackage activity. */
export const FindApprovedModelPackageInput = z.strictObject({
  modelPackageGroupName: z.string(),
  objectiveMetric: z.string(),
});
/** Input of the findApprovedModelPackage activity. */
export type FindApprovedModelPackageInput = z.infer<typeof FindApprovedModelPackageInput>;
/** The latest Approved version, with its objective value when recorded; null when the group has none. */
export const ApprovedModelPackage = z
  .strictObject({
    modelPackageArn: z.string(),
    modelPackageVersion: z.number().int().nullable(),
    objectiveValue: z.number().nullable(),
    modelDataUrl: z.string().nullable(),
    /** Its recorded eval_nll (null: not evaluated; absent in results recorded before evaluateModel existed). */
    evalNll: z.number().nullable().optional(),
  })
  .nullable();
/** Output of the findApprovedModelPackage activity. */
export type ApprovedModelPackage = z.infer<typeof ApprovedModelPackage>;

/** Input of the createModelPackage activity. */
export const CreateModelPackageInput = z.strictObject({
  modelPackageGroupName: z.string(),
  workflowId: z.string(),
  imageUri: z.string().regex(/@sha256:[a-f0-9]{64}$/, 'must be an image URI by digest'),
  modelDataUrl: z.string(),
  contentTypes: z.array(z.string()).min(1),
  inferenceInstanceTypes: z.array(z.string()).min(1),
  approvalStatus: ApprovalStatus,
  approvalDescription: z.string().max(1024).optional(),
  objective: Objective.extend({ value: z.number() }),
  metrics: z.record(z.string(), z.number()).default({}),
  metricsS3Uri: z.string().optional(),
  hyperparameters: z.record(z.string(), z.string()).default({}),
  dataUris: z.record(z.string(), z.string()).default({}),
  trainingJobName: z.string(),
  description: z.string().max(1024).optional(),
  /**
   * The run's tags. Not sent: a version uses its group's tags and SageMaker refuses tags on a version (the group got
   * them from ensureModelPackageGroup). Kept so the inputs recorded in histories still parse.
   */
  tags: z.record(z.string(), z.string()).default({}),
  /** The inference container's environment (script mode). */
  environment: z.record(z.string(), z.string()).optional(),
  /** Code lineage, written to the package's metadata and statistics document. */
  trainingCode: PackedCode.optional(),
  inferenceCode: PackedCode.optional(),
  /** A re-run's run key: ownership (the metadata hash and ClientToken) is per (workflowId, runKey). */
  runKey: z.string().min(1).optional(),
  /** evaluateModel's scores: eval_nll goes to the metadata, the whole evaluation to the statistics document. */
  evaluation: Evaluation.optional(),
});
/** Input of the createModelPackage activity. */
export type CreateModelPackageInput = z.input<typeof CreateModelPackageInput>;
/** `reattached` is true when this workflow had already registered a version (found by its metadata). */
export const CreateModelPackageOutput = z.strictObject({
  modelPackageArn: z.string(),
  modelPackageVersion: z.number().int().nullable(),
  approvalStatus: ApprovalStatus,
  reattached: z.boolean(),
});
/** Output of the createModelPackage activity. */
export type CreateModelPackageOutput = z.infer<typeof CreateModelPackageOutput>;

/** Input of the updateModelPackageApproval activity; the reviewer is named in the approval description. */
export const UpdateModelPackageApprovalInput = z.strictObject({
  modelPackageArn: z.string(),
  status: z.enum(['Approved', 'Rejected']),
  reviewer: z.string().min(1),
  reason: z.string().min(1),
});
/** Input of the updateModelPackageApproval activity. */
export type UpdateModelPackageApprovalInput = z.infer<typeof UpdateModelPackageApprovalInput>;
/** `changed` is false when the package already had this status (a retried write). */
export const UpdateModelPackageApprovalOutput = z.strictObject({
  modelPackageArn: z.string(),
  approvalStatus: ApprovalStatus,
  changed: z.boolean(),
});
/** Output of the updateModelPackageApproval activity. */
export type UpdateModelPackageApprovalOutput = z.infer<typeof UpdateModelPackageApprovalOutput>;
