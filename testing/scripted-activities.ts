/**
 * A scripted stand-in for every activity, with realistic outputs and no AWS behind it: used by the workflow tests and
 * by the benches that measure the workflows themselves (history size, worker capacity). Records every call it gets.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { CheckAccountInput } from '../contracts/account-preflight';
import type { EarlierRun } from '../contracts/rerun';
import type { WriteRunReportInput } from '../contracts/run-report';
import type { EnsureEndpointDashboardInput } from '../contracts/deploy-model';
import type { DescribeHyperParameterTuningJobCommandOutput } from '@aws-sdk/client-sagemaker';
import type { Activities } from '../workflows/activity-options';
import { CheckWarmStartParentInput } from '../contracts/retrain';
import { tuningJobRequest } from '../activities/tuning';
import { warmStartFit } from '../activities/warm-start-fit';

/** Knobs for the scenarios the tests need. */
export interface FakeOptions {
  /** The endpoint already exists (blue/green update instead of create). */
  endpointExists?: boolean;
  /** The objective of the currently approved model package (null: none approved yet). */
  approvedObjective?: number | null;
  /** Objective values reported by training and by the tuner's best trial. */
  trainingObjective?: number;
  tuningObjective?: number;
  /** Make waitForTrainingJob block until the activity is cancelled (for cancellation tests). */
  blockTraining?: boolean;
  /** The endpoint update rolls back on the 5xx alarm. */
  rollback?: boolean;
  /** The region the worker's clients call (checkRegion refuses a spec naming another, as the real one does). */
  workerRegion?: string;
  /** The training job ends Failed (its FailureReason names the job). */
  failTraining?: boolean;
  /** What findEarlierRuns answers (default: no earlier run, a first run). */
  earlierRuns?: EarlierRun[];
  /**
   * The account's instance quotas by Service Quotas name (checkAccount refuses a need above one, as the real one does);
   * quotas not named here are unlimited.
   */
  accountQuotas?: Record<string, number>;
  /**
   * The previous run's tuning job had these static hyperparameters besides this run's (a spec edit since it ran):
   * checkWarmStartParent then judges it by SageMaker's rules (default: the parent matches this run's request).
   */
  parentExtraHyperparameters?: Record<string, string>;
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REPO_URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm';

/** Creates the fakes; `calls` maps an activity name to the inputs it received. */
export function createFakeActivities(options: FakeOptions = {}) {
  const calls: Record<string, unknown[]> = {};
  const record = (name: string, input: unknown) => {
    (calls[name] ??= []).push(input);
  };
  let trainingPolls = 0;
  let endpointPolls = 0;
  const trainingStates = ['Starting', 'Downloading', 'Training', 'Uploading'];
  const impl: Partial<Record<keyof Activities, (input: never) => Promise<unknown>>> = {
    packUserCode: async (i: {
      field: string;
      sourceDir: string;
      entryPoint: string;
      bucket: string;
      keyPrefix: string;
    }) => {
      record('packUserCode', i);
      if (i.sourceDir.includes('missing')) {
        const { ApplicationFailure } = await import('@temporalio/common');
        throw ApplicationFailure.nonRetryable(
          `$.${i.field}.sourceDir: directory ${i.sourceDir} does not exist`,
          'SpecInvalid',
        );
      }
      const sha256 = (i.field === 'training.code' ? 'a' : 'b').repeat(64);
      return {
        s3Uri: `s3://${i.bucket}/${i.keyPrefix}${sha256}/sourcedir.tar.gz`,
        entryPoint: i.entryPoint,
        sha256,
        fileCount: 3,
        bytes: 4096,
        uploaded: true,
      };
    },
    repackModel: async (i: { modelDataUrl: string; bucket: string; keyPrefix: string }) => (
      record('repackModel', i),
      { modelDataUrl: `s3://${i.bucket}/${i.keyPrefix}${'c'.repeat(64)}/model.tar.gz`, repacked: true, members: 9 }
    ),
    hashBuildContext: async (i) => (
      record('hashBuildContext', i),
      { sourceHash: '0123456789abcdef', fileCount: 42, bytes: 123456 }
    ),
    findImageByTag: async (i) => (
      record('findImageByTag', i),
      (calls.findImageByTag?.length ?? 0) > 1
        ? { repositoryUri: REPO_URI, digest: DIGEST }
        : { repositoryUri: null, digest: null }
    ),
    ensureEcrRepository: async (i) => (record('ensureEcrRepository', i), { repositoryUri: REPO_URI, created: true }),
    uploadBuildContext: async (i) => (
      record('uploadBuildContext', i),
      { bucket: 'b', key: 'pipelines/demo/build-contexts/0123456789abcdef.zip', uploaded: true }
    ),
    ensureCodeBuildProject: async (i) => (
      record('ensureCodeBuildProject', i),
      { projectName: 'demo-image-build', created: true }
    ),
    startImageBuild: async (i) => (record('startImageBuild', i), { buildId: 'demo-image-build:1', reattached: false }),
    waitForImageBuild: async (i) => (
      record('waitForImageBuild', i),
      { buildId: 'demo-image-build:1', status: 'SUCCEEDED', logTail: [] }
    ),
    stopImageBuild: async (i) => (record('stopImageBuild', i), { stopped: true, status: 'STOPPED' }),
    allowSageMakerPull: async (i) => (record('allowSageMakerPull', i), { changed: true }),
    verifyImageDigest: async (i) => (
      record('verifyImageDigest', i),
      { imageUri: `${REPO_URI}@${DIGEST}`, tags: ['0123456789abcdef'] }
    ),
    readScanFindings: async (i) => (record('readScanFindings', i), { status: 'COMPLETE', counts: { LOW: 2 }, top: [] }),
    tagImageRelease: async (i) => (record('tagImageRelease', i), { tagged: true, alreadyTagged: false }),
    syncDataset: async (i) => (
      record('syncDataset', i),
      {
        channels: { train: 's3://b/pipelines/demo/data/train/', val: 's3://b/pipelines/demo/data/val/' },
        copied: 2,
        skipped: 0,
        bytesCopied: 465000,
        total: 2,
      }
    ),
    createTrainingJob: async (i) => (
      record('createTrainingJob', i),
      { trainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/demo', reattached: false }
    ),
    waitForTrainingJob: async (i: { trainingJobName: string }) => {
      record('waitForTrainingJob', i);
      if (options.blockTraining) {
        const { Context } = await import('@temporalio/activity');
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      }
      const state = trainingStates[trainingPolls++];
      const base = { trainingJobName: i.trainingJobName, finalMetrics: {}, billableSeconds: null };
      if (state) return { ...base, status: 'InProgress', secondaryStatus: state };
      if (options.failTraining)
        return {
          ...base,
          status: 'Failed',
          secondaryStatus: 'Failed',
          failureReason: `AlgorithmError: ${i.trainingJobName} ran out of memory`,
        };
      return {
        ...base,
        status: 'Completed',
        secondaryStatus: 'Completed',
        modelArtifactS3Uri: `s3://b/models/${i.trainingJobName}/output/model.tar.gz`,
        finalMetrics: { val_loss: options.trainingObjective ?? 2.4, train_loss: 2.3 },
        billableSeconds: 4 * 3600,
      };
    },
    findEarlierRuns: async (i) => (record('findEarlierRuns', i), { runs: options.earlierRuns ?? [] }),
    writeRunReport: async (i: WriteRunReportInput) => (
      record('writeRunReport', i),
      {
        s3Uri: `s3://${i.bucket}/${i.key}`,
        actualSpendUsd: 1.5,
        estimatedMaxSpendUsd: 100,
        overspendFactor: i.overspendFactor ?? 1,
        overspent: false,
      }
    ),
    stopTrainingJob: async (i) => (record('stopTrainingJob', i), { stopped: true, status: 'Stopping' }),
    readJobLogTail: async (i) => (record('readJobLogTail', i), { lines: [] }),
    createTuningJob: async (i) => (
      record('createTuningJob', i),
      { tuningJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/demo', reattached: false }
    ),
    waitForTuningJob: async (i: { tuningJobName: string }) => (
      record('waitForTuningJob', i),
      {
        tuningJobName: i.tuningJobName,
        status: 'Completed',
        counters: { completed: 4, inProgress: 0, retryableError: 0, nonRetryableError: 0, stopped: 0 },
        bestObjective: options.tuningObjective ?? 2.2,
        bestTrainingJobName: `${i.tuningJobName}-003-abcdef12`,
      }
    ),
    describeTuningResult: async (i: { tuningJobName: string }) => (
      record('describeTuningResult', i),
      {
        tuningJobName: i.tuningJobName,
        bestTrainingJobName: `${i.tuningJobName}-003-abcdef12`,
        tunedHyperparameters: { learning_rate: '0.004' },
        hyperparameters: { learning_rate: '0.004', max_steps: '60' },
        objectiveMetric: 'val_loss',
        objectiveValue: options.tuningObjective ?? 2.2,
        modelArtifactS3Uri: `s3://b/models/${i.tuningJobName}-003-abcdef12/output/model.tar.gz`,
        counters: { completed: 4, inProgress: 0, retryableError: 0, nonRetryableError: 0, stopped: 0 },
      }
    ),
    stopTuningJob: async (i) => (record('stopTuningJob', i), { stopped: true, status: 'Stopping' }),
    ensureModelPackageGroup: async (i) => (
      record('ensureModelPackageGroup', i),
      { modelPackageGroupArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/demo-lm', created: true }
    ),
    findApprovedModelPackage: async (i) => (
      record('findApprovedModelPackage', i),
      options.approvedObjective === undefined || options.approvedObjective === null
        ? null
        : {
            modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-lm/1',
            modelPackageVersion: 1,
            objectiveValue: options.approvedObjective,
            modelDataUrl: 's3://b/old/model.tar.gz',
          }
    ),
    createModelPackage: async (i) => (
      record('createModelPackage', i),
      {
        modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/demo-lm/2',
        modelPackageVersion: 2,
        approvalStatus: (i as { approvalStatus?: string }).approvalStatus ?? 'PendingManualApproval',
        reattached: false,
      }
    ),
    updateModelPackageApproval: async (i: { modelPackageArn: string; status: string }) => (
      record('updateModelPackageApproval', i),
      { modelPackageArn: i.modelPackageArn, approvalStatus: i.status, changed: true }
    ),
    createModel: async (i) => (
      record('createModel', i),
      { modelArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/demo', reattached: false }
    ),
    createEndpointConfig: async (i) => (
      record('createEndpointConfig', i),
      { endpointConfigArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/demo', reattached: false }
    ),
    describeEndpoint: async (i) => (
      record('describeEndpoint', i),
      options.endpointExists
        ? {
            exists: true,
            endpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-lm',
            status: 'InService',
            endpointConfigName: 'old-epc',
            pendingEndpointConfigName: null,
            variants: [
              {
                variantName: 'AllTraffic',
                instanceType: 'ml.m5.large',
                currentInstanceCount: 2,
                desiredInstanceCount: 2,
              },
            ],
          }
        : {
            exists: false,
            endpointArn: null,
            status: null,
            endpointConfigName: null,
            pendingEndpointConfigName: null,
            variants: [],
          }
    ),
    createEndpoint: async (i) => (
      record('createEndpoint', i),
      { endpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo-lm', reattached: false }
    ),
    ensureRollbackAlarms: async (i) => (
      record('ensureRollbackAlarms', i),
      { alarmNames: ['demo-lm-5xx', 'demo-lm-latency'] }
    ),
    updateEndpoint: async (i) => (
      record('updateEndpoint', i),
      { reattached: false, previousEndpointConfigName: 'old-epc', startedAt: '2026-11-26T00:00:00.000Z' }
    ),
    waitForEndpoint: async (i: { endpointName: string }) => {
      record('waitForEndpoint', i);
      endpointPolls += 1;
      if (options.rollback && endpointPolls > 1) {
        const { ApplicationFailure } = await import('@temporalio/common');
        throw ApplicationFailure.nonRetryable(
          'Endpoint demo-lm rolled back to old-epc: alarm demo-lm-5xx fired',
          'DeploymentRolledBack',
        );
      }
      const cfg =
        (calls.createEndpointConfig?.[0] as { endpointConfigName?: string } | undefined)?.endpointConfigName ?? null;
      return endpointPolls === 1
        ? {
            endpointName: i.endpointName,
            status: options.endpointExists ? 'Updating' : 'Creating',
            endpointConfigName: null,
            pendingEndpointConfigName: cfg,
            outcome: 'inProgress',
            alarmName: null,
          }
        : {
            endpointName: i.endpointName,
            status: 'InService',
            endpointConfigName: cfg,
            pendingEndpointConfigName: null,
            outcome: 'deployed',
            alarmName: null,
          };
    },
    deleteCreatedEndpoint: async (i) => (record('deleteCreatedEndpoint', i), { deleted: true, reason: null }),
    ensureEndpointDashboard: async (i: EnsureEndpointDashboardInput) => (
      record('ensureEndpointDashboard', i),
      { dashboardName: `sagemaker-endpoint-${i.endpointName}` }
    ),
    stopEndpointUpdate: async (i) => (
      record('stopEndpointUpdate', i),
      { stopped: true, status: 'RollingBack', alarmName: 'demo-lm-5xx' }
    ),
    registerAutoscaling: async (i) => (
      record('registerAutoscaling', i),
      {
        resourceId: 'endpoint/demo-lm/variant/AllTraffic',
        policyName: 'demo-lm-invocations',
        policyArn: 'arn:aws:autoscaling:policy',
      }
    ),
    deregisterAutoscaling: async (i) => (
      record('deregisterAutoscaling', i),
      { deregistered: true, policiesDeleted: [] }
    ),
    checkRegion: async (i: { region: string }) => {
      record('checkRegion', i);
      const worker = options.workerRegion ?? i.region;
      if (worker !== i.region)
        throw ApplicationFailure.nonRetryable(
          `The spec's region is ${i.region} but this worker calls AWS in ${worker}`,
          'SpecInvalid',
        );
      return { region: worker };
    },
    checkAccount: async (i: CheckAccountInput) => {
      record('checkAccount', i);
      const short = i.quotas.filter((q) => q.need > (options.accountQuotas?.[q.quotaName] ?? Infinity));
      if (short.length)
        throw ApplicationFailure.nonRetryable(
          `Account preflight: ${short.length} problem(s); nothing was created.\n` +
            short
              .map(
                (q) =>
                  `- quota: "${q.quotaName}": the spec needs ${q.need}, the account has ${options.accountQuotas?.[q.quotaName]}`,
              )
              .join('\n'),
          'PreflightFailed',
        );
      return { findings: i.quotas.map((q) => ({ check: 'quota', status: 'ok', message: q.quotaName })) };
    },
    findPreviousTuningJob: async (i) => (
      record('findPreviousTuningJob', i),
      { tuningJobName: 'demo-previous-tune-1234abcd' }
    ),
    // The parent is this run's own request as SageMaker would describe it (Completed), plus any scripted edits; the
    // verdict is the real check's.
    checkWarmStartParent: async (i: CheckWarmStartParentInput) => {
      record('checkWarmStartParent', i);
      const request = tuningJobRequest(CheckWarmStartParentInput.parse(i).tuningJob);
      const definition = request.TrainingJobDefinition;
      const parents = (request.WarmStartConfig?.ParentHyperParameterTuningJobs ?? []).map((p) => ({
        ...request,
        HyperParameterTuningJobName: p.HyperParameterTuningJobName,
        HyperParameterTuningJobStatus: 'Completed' as const,
        CreationTime: new Date('2026-12-01T00:00:00Z'),
        TrainingJobDefinition: {
          ...definition,
          StaticHyperParameters: {
            ...definition?.StaticHyperParameters,
            _tuning_objective_metric: 'validation:loss',
            ...options.parentExtraHyperparameters,
          },
        },
        HyperParameterTuningJobArn: `arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/${p.HyperParameterTuningJobName}`,
        TrainingJobStatusCounters: {},
        ObjectiveStatusCounters: {},
        $metadata: {},
      })) as DescribeHyperParameterTuningJobCommandOutput[];
      return warmStartFit(request, parents);
    },
    // The optional steps (prepareData, evaluateModel): jobs that complete at once and a fixed score.
    createProcessingJob: async (i) => (
      record('createProcessingJob', i),
      { processingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/demo', reattached: false }
    ),
    waitForProcessingJob: async (i: { processingJobName: string }) => (
      record('waitForProcessingJob', i),
      { processingJobName: i.processingJobName, status: 'Completed' }
    ),
    stopProcessingJob: async (i) => (record('stopProcessingJob', i), { stopped: false, status: 'Completed' }),
    createTransformJob: async (i) => (
      record('createTransformJob', i),
      { transformJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:transform-job/demo', reattached: false }
    ),
    waitForTransformJob: async (i: { transformJobName: string }) => (
      record('waitForTransformJob', i),
      { transformJobName: i.transformJobName, status: 'Completed' }
    ),
    stopTransformJob: async (i) => (record('stopTransformJob', i), { stopped: false, status: 'Completed' }),
    scoreTransformOutput: async (i: {
      trainingJobName: string;
      transformJobName: string;
      modelDataUrl: string;
      inputS3Uri: string;
      evaluationS3Uri: string;
    }) => (
      record('scoreTransformOutput', i),
      {
        evalNll: 2.5,
        evalPerplexity: Math.exp(2.5),
        records: 85,
        tokens: 21538,
        trainingJobName: i.trainingJobName,
        transformJobName: i.transformJobName,
        modelDataUrl: i.modelDataUrl,
        inputS3Uri: i.inputS3Uri,
        s3Uri: i.evaluationS3Uri,
      }
    ),
    deleteEvaluationModel: async (i) => (record('deleteEvaluationModel', i), { deleted: true }),
  };
  return { calls, impl };
}
