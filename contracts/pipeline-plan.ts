/**
 * Maps a validated spec (plus earlier steps' outputs) to each step workflow's input. Pure and deterministic:
 * the pipeline workflow calls it, and so can a test or an operator starting one step by hand.
 */
import { z } from 'zod';
import type { BuildImageInput, BuildImageOutput } from './build-image';
import type { DeployModelInput, DeployModelOutput } from './deploy-model';
import type { EvaluateModelInput, Evaluation } from './evaluate-model';
import { runResourceNames } from './names';
import { type PipelineSpec, preparesBuiltinSource } from './pipeline-spec';
import type { PrepareDataInput, PrepareDataOutput } from './prepare-data';
import type { PublishImageInput, PublishImageOutput } from './publish-image';
import type { ChampionCandidate, RegisterModelInput, RegisterModelOutput } from './register-model';
import type { StepStatus } from './status';
import type { SyncDataInput, SyncDataOutput } from './sync-data';
import { RerunNote } from './rerun';
import { RunReportRef } from './run-report';
import { PIPELINE_NAME_TAG, PIPELINE_RUN_TAG } from './retrain';
import type { TrainingDefinition, TrainModelInput, TrainModelOutput } from './train-model';
import type { TuneModelInput, TuneModelOutput } from './tune-model';
import {
  type InferenceCodeInput,
  type PackedCode,
  type PackUserCodeInput,
  SCRIPT_MODE_HYPERPARAMETERS,
  scriptModeHyperparameters,
} from './user-code';

/** The steps, in order; also the values of the PipelineStep search attribute. */
export const PIPELINE_STEPS = [
  'buildImage',
  'publishImage',
  'syncData',
  'prepareData',
  'trainModel',
  'tuneModel',
  'evaluateModel',
  'registerModel',
  'deployModel',
] as const;
export type PipelineStepName = (typeof PIPELINE_STEPS)[number];
/** Optional steps added in v4 (off unless the spec enables them): histories recorded before v4 have none. */
export const STEPS_ADDED_IN_V4: readonly PipelineStepName[] = ['prepareData', 'evaluateModel'];

/**
 * The run a plan is for: its workflow ID, plus the run key of a re-run (contracts/rerun.ts), which changes every
 * resource name the run derives. A bare workflow ID is a first run.
 */
export type RunRef = string | { workflowId: string; runKey?: string };
const refOf = (run: RunRef) => (typeof run === 'string' ? { workflowId: run, runKey: undefined } : run);
const namesOf = (run: RunRef) => {
  const { workflowId, runKey } = refOf(run);
  return runResourceNames(workflowId, runKey);
};

const prefixOf = (spec: PipelineSpec) => `pipelines/${spec.pipelineName}/`;
// The run's workflow ID goes in its own tag: `pipeline:workflow-id` names the step workflow that created a resource
// (the owner; activities set it), and SageMaker refuses a request naming one tag key twice.
const tagsOf = (spec: PipelineSpec, workflowId: string) => ({
  ...spec.tags,
  [PIPELINE_RUN_TAG]: workflowId,
  [PIPELINE_NAME_TAG]: spec.pipelineName,
});
const asString = (v: string | number | boolean) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Input of step 1. */
export function buildImageInput(spec: PipelineSpec, workflowId: string): BuildImageInput {
  return {
    pipelineName: spec.pipelineName,
    bucket: spec.bucket,
    repository: spec.image.repository,
    contextDir: spec.image.contextDir,
    dockerfile: spec.image.dockerfile,
    buildArgs: spec.image.buildArgs,
    codeBuild: spec.image.codeBuild,
    scanOnPush: spec.image.scan.enabled,
    tags: tagsOf(spec, workflowId),
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** Input of step 2. */
export function publishImageInput(spec: PipelineSpec, built: BuildImageOutput): PublishImageInput {
  return {
    repository: spec.image.repository,
    digest: built.digest,
    releaseTag: spec.image.releaseTag,
    scan: spec.image.scan,
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** Input of step 3. The destination prefix is stable per pipeline, so retraining syncs only what changed. */
export function syncDataInput(spec: PipelineSpec): SyncDataInput {
  return {
    source: spec.data.source,
    bucket: spec.bucket,
    prefix: `${prefixOf(spec)}data/`,
    channels: spec.data.channels,
    maxConcurrency: spec.data.maxConcurrency,
    multipartThresholdMiB: spec.data.multipartThresholdMiB,
  };
}

/**
 * Input of the optional prepareData step: `prepare` reads the synced data prefix (every channel) as its `raw` input,
 * unless its arguments say `--source builtin`, and writes `train`, `val` and `eval` under a prefix of this run's job.
 */
export function prepareDataInput(spec: PipelineSpec, run: RunRef, imageUri: string): PrepareDataInput {
  const p = spec.prepareData;
  const name = namesOf(run).processingJob;
  const runPrefix = `s3://${spec.bucket}/${prefixOf(spec)}`;
  return {
    processingJobName: name,
    definition: {
      imageUri,
      roleArn: spec.roleArn,
      inputS3Uri: preparesBuiltinSource(p.arguments) ? null : `${runPrefix}data/`,
      outputS3Uri: `${runPrefix}prepared/${name}/`,
      arguments: p.arguments,
      resources: { instanceType: p.instanceType, instanceCount: p.instanceCount, volumeSizeGb: p.volumeSizeGb },
      maxRuntimeSeconds: p.maxRuntimeSeconds,
      tags: tagsOf(spec, refOf(run).workflowId),
    },
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** The training channels of a run: prepareData's `train` and `val` when it ran, else what syncData synced. */
export function trainingChannels(
  synced: Record<string, string>,
  prepared: PrepareDataOutput | null,
): Record<string, string> {
  return prepared ? prepared.channels : synced;
}

/** The team's code, packed: what `packUserCodeInputs` produced, per spec section. */
export interface UserCode {
  training?: PackedCode;
  inference?: PackedCode;
}

/** Inputs of the packUserCode activity for each code section of the spec (none when the spec has none). */
export function packUserCodeInputs(spec: PipelineSpec): {
  training?: PackUserCodeInput;
  inference?: PackUserCodeInput;
} {
  const keyPrefix = `${prefixOf(spec)}code/`;
  const input = (field: string, c: { sourceDir: string; entryPoint: string }): PackUserCodeInput => ({
    field,
    sourceDir: c.sourceDir,
    entryPoint: c.entryPoint,
    bucket: spec.bucket,
    keyPrefix,
  });
  return {
    ...(spec.training.code ? { training: input('training.code', spec.training.code) } : {}),
    ...(spec.deployment.code ? { inference: input('deployment.code', spec.deployment.code) } : {}),
  };
}

/** The training definition shared by trainModel and tuneModel; with training code, its script-mode hyperparameters. */
export function trainingDefinition(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  channels: Record<string, string>,
  code?: PackedCode,
): TrainingDefinition {
  const t = spec.training;
  const runPrefix = `s3://${spec.bucket}/${prefixOf(spec)}`;
  const hyperparameters = code
    ? scriptModeHyperparameters(t.hyperparameters, code, namesOf(run).trainingJob, spec.region)
    : Object.fromEntries(Object.entries(t.hyperparameters).map(([k, v]) => [k, asString(v)]));
  return {
    imageUri,
    roleArn: spec.roleArn,
    channels,
    outputS3Uri: `${runPrefix}models/`,
    checkpointS3Uri: t.checkpoints ? `${runPrefix}checkpoints/${namesOf(run).trainingJob}/` : undefined,
    resources: { instanceType: t.instanceType, instanceCount: t.instanceCount, volumeSizeGb: t.volumeSizeGb },
    maxRuntimeSeconds: t.maxRuntimeSeconds,
    spot: t.spot,
    hyperparameters,
    metricDefinitions: t.metricDefinitions,
    environment: t.environment,
    tags: tagsOf(spec, refOf(run).workflowId),
    ...(t.retryStrategy ? { retryStrategy: t.retryStrategy } : {}),
  };
}

/** Input of step 4. */
export function trainModelInput(spec: PipelineSpec, run: RunRef, definition: TrainingDefinition): TrainModelInput {
  return {
    trainingJobName: namesOf(run).trainingJob,
    definition,
    objectiveMetric: spec.objective.metricName,
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** The previous run's tuning job a retraining warm-starts from, and what its warm-start type depends on. */
export interface WarmStartParent {
  tuningJobName: string;
  /** The training image the parent ran (absent in results recorded before it was read). */
  trainingImage?: string | null;
  /** When the parent was created (ISO 8601). */
  creationTime?: string | null;
}

/** What this run did before tuning that decides the warm-start type. */
export interface WarmStartContext {
  /** The image this run trains with (by digest). */
  imageUri: string;
  /** True when buildImage skipped the build (the image of the previous run is reused). */
  imageReused: boolean;
  /** What syncData copied, and the newest object under the channels afterwards (ISO 8601). */
  data: { copied: number; lastModified?: string | null };
  /** True when prepareData wrote this run's channels (a new prefix per run: never the parent's input data). */
  preparedThisRun?: boolean;
}

/**
 * The warm-start type for a retraining run. IdenticalDataAndAlgorithm requires the parent's training image and input
 * data (SageMaker developer guide, "Run a Warm Start Hyperparameter Tuning Job"), so it is used only when this run
 * trains with the parent's image and nothing under the channels changed since the parent was created; otherwise
 * TransferLearning. Without the parent's image or time (an older result), a rebuilt image or any copied object means
 * TransferLearning.
 */
export function warmStartType(
  parent: WarmStartParent,
  run: WarmStartContext,
): { type: 'IdenticalDataAndAlgorithm' | 'TransferLearning'; reason: string } {
  const sameImage = parent.trainingImage ? parent.trainingImage === run.imageUri : run.imageReused;
  // Anything this run copied differs from what the parent (an earlier run's job) trained on. Otherwise the newest
  // object's time decides; S3 keeps LastModified to the second, so a copy within the parent's own second relies on
  // the first test.
  const dataChanged =
    run.data.copied > 0 ||
    (!!parent.creationTime &&
      !!run.data.lastModified &&
      new Date(run.data.lastModified).getTime() > new Date(parent.creationTime).getTime());
  if (!sameImage)
    return { type: 'TransferLearning', reason: `the image differs from the one ${parent.tuningJobName} trained with` };
  if (run.preparedThisRun)
    return {
      type: 'TransferLearning',
      reason: `prepareData wrote new training channels since ${parent.tuningJobName}`,
    };
  if (dataChanged)
    return { type: 'TransferLearning', reason: `the training data changed since ${parent.tuningJobName} ran` };
  return { type: 'IdenticalDataAndAlgorithm', reason: `same image and data as ${parent.tuningJobName}` };
}

/** Input of step 5; `warmStart` (the previous run's tuning job, for retraining) overrides the spec's warm start. */
export function tuneModelInput(
  spec: PipelineSpec,
  run: RunRef,
  definition: TrainingDefinition,
  warmStart?: { parentTuningJob: string; type: 'IdenticalDataAndAlgorithm' | 'TransferLearning' },
): TuneModelInput {
  const t = spec.tuning;
  const tuningJob = namesOf(run).tuningJob;
  // Script mode names a job in its hyperparameters (the SDK's tuner a fresh estimator job name): the tuning job.
  const jobName = SCRIPT_MODE_HYPERPARAMETERS.jobName;
  const hyperparameters =
    jobName in definition.hyperparameters
      ? { ...definition.hyperparameters, [jobName]: JSON.stringify(tuningJob) }
      : definition.hyperparameters;
  return {
    tuningJobName: tuningJob,
    definition: { ...definition, hyperparameters, checkpointS3Uri: undefined },
    tuning: {
      strategy: t.strategy,
      ranges: t.ranges,
      objective: spec.objective,
      maxJobs: t.maxJobs,
      maxParallelJobs: t.maxParallelJobs,
      earlyStopping: t.earlyStopping,
      warmStart: warmStart ? { parentTuningJobs: [warmStart.parentTuningJob], type: warmStart.type } : t.warmStart,
      resources: t.resources,
      maxRuntimeSeconds: t.maxRuntimeSeconds,
    },
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** Champion candidates: trainModel first (it wins ties), then the tuner's best. */
export function championCandidates(
  trained: TrainModelOutput,
  tuned: TuneModelOutput | null,
  definition: TrainingDefinition,
): ChampionCandidate[] {
  const candidates: ChampionCandidate[] = [
    {
      source: 'training',
      trainingJobName: trained.trainingJobName,
      modelArtifactS3Uri: trained.modelArtifactS3Uri,
      objectiveValue: trained.objectiveValue,
      hyperparameters: definition.hyperparameters,
    },
  ];
  if (tuned) {
    candidates.push({
      source: 'tuning',
      trainingJobName: tuned.bestTrainingJobName,
      modelArtifactS3Uri: tuned.modelArtifactS3Uri,
      objectiveValue: tuned.objectiveValue,
      hyperparameters: tuned.hyperparameters,
    });
  }
  return candidates;
}

/** The inference code to repack into a candidate's model.tar.gz (evaluateModel and registerModel do the same). */
function inferenceCodeInput(spec: PipelineSpec, code: UserCode): InferenceCodeInput | undefined {
  return code.inference
    ? { code: code.inference, bucket: spec.bucket, keyPrefix: `${prefixOf(spec)}repacked-models/`, region: spec.region }
    : undefined;
}

/**
 * Input of the optional evaluateModel step: the candidate registerModel would register, served as deployment serves
 * it, scored over `inputS3Uri` (the spec's evaluation.input, else prepareData's `eval` output).
 */
export function evaluateModelInput(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  candidate: ChampionCandidate,
  inputS3Uri: string,
  code: UserCode = {},
): EvaluateModelInput {
  const e = spec.evaluation;
  const names = namesOf(run);
  const base = `s3://${spec.bucket}/${prefixOf(spec)}evaluations/${names.transformJob}/`;
  const inferenceCode = inferenceCodeInput(spec, code);
  return {
    transformJobName: names.transformJob,
    modelName: names.evaluationModel,
    candidate: { trainingJobName: candidate.trainingJobName, modelArtifactS3Uri: candidate.modelArtifactS3Uri },
    imageUri,
    roleArn: spec.roleArn,
    ...(inferenceCode ? { inferenceCode } : {}),
    inputS3Uri,
    outputS3Uri: `${base}output/`,
    evaluationS3Uri: `${base}evaluation.json`,
    instanceType: e.instanceType,
    instanceCount: e.instanceCount,
    maxPayloadMb: e.maxPayloadMb,
    secondsPerRecord: e.secondsPerRecord,
    maxRuntimeSeconds: e.maxRuntimeSeconds,
    tags: tagsOf(spec, refOf(run).workflowId),
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/**
 * Where evaluateModel's scoring records come from: the spec's evaluation.input (a local file is uploaded first, by
 * content hash, under the pipeline's prefix), else prepareData's `eval` output; null when there is neither.
 */
export function evaluationSource(
  spec: PipelineSpec,
  prepared: PrepareDataOutput | null,
): { s3Uri: string } | { upload: { localPath: string; bucket: string; keyPrefix: string } } | null {
  const given = spec.evaluation.input;
  if (given && 'localPath' in given)
    return {
      upload: { localPath: given.localPath, bucket: spec.bucket, keyPrefix: `${prefixOf(spec)}evaluation-records/` },
    };
  if (given) return { s3Uri: given.s3Uri };
  return prepared ? { s3Uri: prepared.evalS3Uri } : null;
}

/** Input of step 6. */
export function registerModelInput(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  channels: Record<string, string>,
  candidates: ChampionCandidate[],
  metrics: Record<string, number>,
  code: UserCode = {},
  evaluation?: Evaluation,
): RegisterModelInput {
  const inferenceCode = inferenceCodeInput(spec, code);
  return {
    modelPackageGroupName: spec.registry.modelPackageGroup,
    candidates,
    objective: spec.objective,
    imageUri,
    dataUris: channels,
    approval: spec.registry.approval,
    contentTypes: spec.registry.contentTypes,
    inferenceInstanceTypes: spec.registry.inferenceInstanceTypes ?? [spec.deployment.instanceType],
    metrics,
    metricsS3Uri: `s3://${spec.bucket}/${prefixOf(spec)}model-metrics/${namesOf(run).model}.json`,
    tags: tagsOf(spec, refOf(run).workflowId),
    ...(refOf(run).runKey === undefined ? {} : { runKey: refOf(run).runKey }),
    ...(code.training ? { trainingCode: code.training } : {}),
    ...(inferenceCode ? { inferenceCode } : {}),
    ...(evaluation ? { evaluation, maxEvalRegression: spec.evaluation.maxRegression } : {}),
  };
}

/** Input of step 7. */
export function deployModelInput(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  modelDataUrl: string,
  modelPackageArn: string | undefined,
  environment?: Record<string, string>,
): DeployModelInput {
  const d = spec.deployment;
  const names = namesOf(run);
  return {
    endpointName: d.endpointName,
    modelName: names.model,
    endpointConfigName: names.endpointConfig,
    imageUri,
    modelDataUrl,
    roleArn: spec.roleArn,
    modelPackageArn,
    ...(environment && Object.keys(environment).length ? { environment } : {}),
    instanceType: d.instanceType,
    instanceCount: d.instanceCount,
    startupHealthCheckTimeoutSeconds: d.startupHealthCheckTimeoutSeconds,
    blueGreen: d.blueGreen,
    rollback: d.rollback,
    autoscaling: d.autoscaling,
    tags: tagsOf(spec, refOf(run).workflowId),
    pollIntervalSeconds: spec.pollIntervalSeconds,
  };
}

/** What a pipeline run did, returned by migrationPipeline and retrainPipeline. */
export const PipelineSummary = z.object({
  workflowId: z.string(),
  outcome: z.enum(['deployed', 'not-approved', 'not-deployed', 'cancelled']),
  message: z.string(),
  image: z.object({ uri: z.string(), digest: z.string(), sourceHash: z.string(), reused: z.boolean() }).optional(),
  data: z.record(z.string(), z.string()).optional(),
  /** The team's code as packed (sourcedir.tar.gz in S3 and its content hash), per section. */
  code: z
    .object({
      training: z.object({ s3Uri: z.string(), sha256: z.string() }).optional(),
      inference: z.object({ s3Uri: z.string(), sha256: z.string() }).optional(),
    })
    .optional(),
  /** prepareData's Processing job and the channels it wrote (absent when the step is off). */
  prepared: z
    .object({ processingJob: z.string(), channels: z.record(z.string(), z.string()), evalS3Uri: z.string() })
    .optional(),
  training: z.object({ jobName: z.string(), objective: z.number().nullable() }).optional(),
  tuning: z.object({ jobName: z.string(), bestTrainingJob: z.string(), objective: z.number() }).optional(),
  /** evaluateModel's scores of the candidate (absent when the step is off). */
  evaluation: z
    .object({
      transformJob: z.string(),
      candidate: z.string(),
      evalNll: z.number(),
      evalPerplexity: z.number(),
      records: z.number(),
      tokens: z.number(),
      s3Uri: z.string(),
    })
    .optional(),
  registry: z
    .object({
      modelPackageArn: z.string(),
      version: z.number().nullable(),
      approvalStatus: z.string(),
      champion: z.string(),
    })
    .optional(),
  endpoint: z.object({ name: z.string(), configName: z.string(), action: z.string() }).optional(),
  estimatedMaxSpendUsd: z.number(),
  /** The run's report page in S3 and its actual spend (v6; absent when the run ended before its steps were done). */
  report: RunReportRef.optional(),
  stopped: z.array(z.string()).default([]),
  /** Present when this run re-used a workflow ID that ran before: it started fresh resources, and says which. */
  rerun: RerunNote.optional(),
  /**
   * Present when retraining checked the previous run's tuning job as its warm-start parent: the type it tuned with
   * (null: it tuned cold) and why.
   */
  warmStart: z
    .object({
      parentTuningJob: z.string(),
      type: z.enum(['IdenticalDataAndAlgorithm', 'TransferLearning']).nullable(),
      reason: z.string(),
    })
    .optional(),
});
export type PipelineSummary = z.infer<typeof PipelineSummary>;
/** The memo key under which a cancelled run (closed as Canceled) keeps its summary. */
export const SUMMARY_MEMO = 'summary';

/**
 * The pipeline's bookkeeping: what each step's output adds to the run's summary (returned when the run ends) and to
 * its live status (the `status` query). Pure (it only writes these two objects), so it emits no command and the
 * workflow reads as its steps.
 */
export class PipelineRecord {
  /** The summary the run returns (or, cancelled, keeps in its memo). */
  readonly summary: PipelineSummary;

  constructor(
    private readonly status: StepStatus,
    workflowId: string,
    estimatedMaxSpendUsd: number,
  ) {
    status.metrics.estimatedMaxSpendUsd = estimatedMaxSpendUsd;
    this.summary = { workflowId, outcome: 'not-deployed', message: '', estimatedMaxSpendUsd, stopped: [] };
  }

  /** A re-run under a workflow ID that ran before: its run key and why its resources are fresh. */
  rerun(note: RerunNote): void {
    this.summary.rerun = note;
    this.status.resources.runKey = note.runKey;
    this.status.lastObserved = { rerun: note.message };
  }

  /** One section of the team's code, packed. */
  packed(kind: keyof UserCode, code: PackedCode): void {
    this.status.resources[`${kind}Code`] = code.s3Uri;
    this.summary.code = { ...this.summary.code, [kind]: { s3Uri: code.s3Uri, sha256: code.sha256 } };
  }

  image(built: BuildImageOutput, image: PublishImageOutput): void {
    this.summary.image = {
      uri: image.imageUri,
      digest: image.digest,
      sourceHash: built.sourceHash,
      reused: built.skipped,
    };
    this.status.resources.imageUri = image.imageUri;
  }

  data(data: SyncDataOutput): void {
    this.summary.data = data.channels;
  }

  prepared(prepared: PrepareDataOutput): void {
    this.summary.prepared = {
      processingJob: prepared.processingJobName,
      channels: prepared.channels,
      evalS3Uri: prepared.evalS3Uri,
    };
    this.status.resources.processingJob = prepared.processingJobName;
  }

  trained(trained: TrainModelOutput): void {
    this.summary.training = { jobName: trained.trainingJobName, objective: trained.objectiveValue };
    this.status.resources.trainingJob = trained.trainingJobName;
  }

  /** The previous run's tuning job checked as warm-start parent: the type this run tunes with (null: cold) and why. */
  warmStart(checked: NonNullable<PipelineSummary['warmStart']>): void {
    this.summary.warmStart = checked;
    this.status.lastObserved = {
      ...this.status.lastObserved,
      warmStart: checked.type ? checked.reason : `tuning cold: ${checked.reason}`,
    };
  }

  tuned(tuned: TuneModelOutput): void {
    this.summary.tuning = {
      jobName: tuned.tuningJobName,
      bestTrainingJob: tuned.bestTrainingJobName,
      objective: tuned.objectiveValue,
    };
    this.status.resources.tuningJob = tuned.tuningJobName;
  }

  evaluated(evaluation: Evaluation): void {
    this.summary.evaluation = {
      transformJob: evaluation.transformJobName,
      candidate: evaluation.trainingJobName,
      evalNll: evaluation.evalNll,
      evalPerplexity: evaluation.evalPerplexity,
      records: evaluation.records,
      tokens: evaluation.tokens,
      s3Uri: evaluation.s3Uri,
    };
    this.status.resources.transformJob = evaluation.transformJobName;
    this.status.metrics.eval_nll = evaluation.evalNll;
  }

  registered(registered: RegisterModelOutput): void {
    this.summary.registry = {
      modelPackageArn: registered.modelPackageArn,
      version: registered.modelPackageVersion,
      approvalStatus: registered.approvalStatus,
      champion: registered.champion.trainingJobName,
    };
    this.status.resources.modelPackageArn = registered.modelPackageArn;
  }

  /** The run ends here: the version was not approved, so nothing is deployed. */
  notApproved(registered: RegisterModelOutput): PipelineSummary {
    this.summary.outcome = 'not-approved';
    this.summary.message =
      `Model package ${registered.modelPackageArn} is ${registered.approvalStatus}: ${registered.reason}. ` +
      `Nothing was deployed.`;
    return this.summary;
  }

  /** The run ends here: the spec turns deployment off. */
  deploymentDisabled(): PipelineSummary {
    this.summary.message = 'Deployment is disabled in the spec; the approved model was registered only.';
    return this.summary;
  }

  deployed(deployed: DeployModelOutput, registered: RegisterModelOutput): PipelineSummary {
    this.summary.endpoint = {
      name: deployed.endpointName,
      configName: deployed.endpointConfigName,
      action: deployed.action,
    };
    this.summary.outcome = 'deployed';
    this.summary.message =
      `Endpoint ${deployed.endpointName} ${deployed.action} with ${deployed.endpointConfigName} (champion ` +
      `${registered.champion.trainingJobName}).`;
    return this.summary;
  }

  /** Cancelled: where the run was and what its steps stopped (each step signals what it stopped). */
  cancelled(): PipelineSummary {
    this.summary.outcome = 'cancelled';
    this.summary.stopped = [...this.status.stopped];
    this.summary.message =
      `Cancelled during ${this.status.phase}; stopped: ` +
      `${this.summary.stopped.length ? this.summary.stopped.join('; ') : 'nothing was running'}.`;
    return this.summary;
  }
}
