/**
 * Maps a validated spec (plus earlier steps' outputs) to each step workflow's input. Pure and deterministic:
 * the pipeline workflow calls it, and so can a test or an operator starting one step by hand.
 */
import { z } from 'zod';
import type { BuildImageInput, BuildImageOutput } from './build-image';
import type { DeployModelInput } from './deploy-model';
import { runResourceNames } from './names';
import type { PipelineSpec } from './pipeline-spec';
import type { PublishImageInput } from './publish-image';
import type { ChampionCandidate, RegisterModelInput } from './register-model';
import type { SyncDataInput } from './sync-data';
import { RerunNote } from './rerun';
import { PIPELINE_NAME_TAG } from './retrain';
import { WORKFLOW_ID_TAG } from './task-queue';
import type { TrainingDefinition, TrainModelInput, TrainModelOutput } from './train-model';
import type { TuneModelInput, TuneModelOutput } from './tune-model';

/** The seven steps, in order; also the values of the PipelineStep search attribute. */
export const PIPELINE_STEPS = [
  'buildImage',
  'publishImage',
  'syncData',
  'trainModel',
  'tuneModel',
  'registerModel',
  'deployModel',
] as const;
export type PipelineStepName = (typeof PIPELINE_STEPS)[number];

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
const tagsOf = (spec: PipelineSpec, workflowId: string) => ({
  ...spec.tags,
  [WORKFLOW_ID_TAG]: workflowId,
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

/** The training definition shared by trainModel and tuneModel. */
export function trainingDefinition(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  channels: Record<string, string>,
): TrainingDefinition {
  const t = spec.training;
  const runPrefix = `s3://${spec.bucket}/${prefixOf(spec)}`;
  return {
    imageUri,
    roleArn: spec.roleArn,
    channels,
    outputS3Uri: `${runPrefix}models/`,
    checkpointS3Uri: t.checkpoints ? `${runPrefix}checkpoints/${namesOf(run).trainingJob}/` : undefined,
    resources: { instanceType: t.instanceType, instanceCount: t.instanceCount, volumeSizeGb: t.volumeSizeGb },
    maxRuntimeSeconds: t.maxRuntimeSeconds,
    spot: t.spot,
    hyperparameters: Object.fromEntries(Object.entries(t.hyperparameters).map(([k, v]) => [k, asString(v)])),
    metricDefinitions: t.metricDefinitions,
    environment: t.environment,
    tags: tagsOf(spec, refOf(run).workflowId),
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

/** Input of step 5; `warmStartFrom` (the previous run's tuning job) overrides the spec's warm start. */
export function tuneModelInput(
  spec: PipelineSpec,
  run: RunRef,
  definition: TrainingDefinition,
  warmStartFrom?: string,
): TuneModelInput {
  const t = spec.tuning;
  const warmStart = warmStartFrom
    ? { parentTuningJobs: [warmStartFrom], type: 'IdenticalDataAndAlgorithm' as const }
    : t.warmStart;
  return {
    tuningJobName: namesOf(run).tuningJob,
    definition: { ...definition, checkpointS3Uri: undefined },
    tuning: {
      strategy: t.strategy,
      ranges: t.ranges,
      objective: spec.objective,
      maxJobs: t.maxJobs,
      maxParallelJobs: t.maxParallelJobs,
      earlyStopping: t.earlyStopping,
      warmStart,
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

/** Input of step 6. */
export function registerModelInput(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  channels: Record<string, string>,
  candidates: ChampionCandidate[],
  metrics: Record<string, number>,
): RegisterModelInput {
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
  };
}

/** Input of step 7. */
export function deployModelInput(
  spec: PipelineSpec,
  run: RunRef,
  imageUri: string,
  modelDataUrl: string,
  modelPackageArn: string | undefined,
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
  training: z.object({ jobName: z.string(), objective: z.number().nullable() }).optional(),
  tuning: z.object({ jobName: z.string(), bestTrainingJob: z.string(), objective: z.number() }).optional(),
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
  stopped: z.array(z.string()).default([]),
  /** Present when this run re-used a workflow ID that ran before: it started fresh resources, and says which. */
  rerun: RerunNote.optional(),
});
export type PipelineSummary = z.infer<typeof PipelineSummary>;
