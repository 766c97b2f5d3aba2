/**
 * The pipeline: validate the spec, check the cost guard, then run the steps (seven, and two optional) as child
 * workflows with deterministic IDs. Shared by migrationPipeline (first run) and retrainPipeline (scheduled re-runs).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { accountPreflightInput } from '../contracts/account-preflight';
import { checkCostGuard, PRICE_USD_PER_HOUR, PRICES_BEFORE_2026_11_30 } from '../contracts/cost';
import type { Evaluation } from '../contracts/evaluate-model';
import type { PrepareDataOutput } from '../contracts/prepare-data';
import { pickChampion } from '../contracts/register-model';
import { ErrorType } from '../contracts/errors';
import { childWorkflowId, runResourceNames } from '../contracts/names';
import * as plan from '../contracts/pipeline-plan';
import type { PipelineSpec } from '../contracts/pipeline-spec';
import type { PipelinePhase } from '../contracts/status';
import { formatIssues, type NewerRule, newerSpecIssues, type SpecIssue, validateSpec } from '../contracts/validation';
import { approvalStateSignal, stepStoppedSignal } from '../contracts/workflow-api';
import { longActivities, quickActivities } from './activity-options';
import type { RerunNote } from '../contracts/rerun';
import { PATCH, ROLLBACK_PERIOD_WHOLE_MINUTES } from './patches';
import { attachRunReport } from './run-report';
import { APPROVAL_STATUS, ENDPOINT_NAME, MODEL_PACKAGE_VERSION, markStep } from './search-attributes';
import { trackStatus } from './step-status';
import type { buildImage } from './build-image';
import type { publishImage } from './publish-image';
import type { syncData } from './sync-data';
import type { prepareData } from './prepare-data';
import type { evaluateModel } from './evaluate-model';
import type { trainModel } from './train-model';
import type { tuneModel } from './tune-model';
import type { registerModel } from './register-model';
import type { deployModel } from './deploy-model';

const PRICE_TABLE_2026_11_30 = PATCH.priceTable20261130;
const SPEC_REGION_CHECK = PATCH.specRegionCheck;
/** Guards the packing of the team's code (histories recorded before script mode have no such command). */
export const PACK_USER_CODE_PATCH = PATCH.packUserCode;

/** Options that differ between the first migration and scheduled retraining. */
export interface PipelineOptions {
  /** The previous run's tuning job to warm-start from (retraining). */
  warmStartFrom?: plan.WarmStartParent;
}

/** The patch each newer spec rule ships behind. */
const NEWER_RULE_PATCH: Record<NewerRule, string> = {
  rollbackPeriodWholeMinutes: ROLLBACK_PERIOD_WHOLE_MINUTES,
  tuningEnvironmentLimit: PATCH.tuningEnvironmentLimit,
};

/** Runs started before image.codeBuild.serviceRoleArn was required replay with the specs they started with. */
const CODEBUILD_ROLE_REQUIRED = PATCH.codeBuildServiceRoleRequired;
const CODEBUILD_ROLE_PATH = '$.image.codeBuild.serviceRoleArn';
/** A well-formed placeholder, only to validate the rest of a legacy spec; it is removed again. */
const LEGACY_ROLE = 'arn:aws:iam::000000000000:role/legacy-placeholder';

/** Validates the spec or fails the workflow, before any activity runs, listing every bad field. */
export function parseSpecOrFail(raw: unknown): PipelineSpec {
  const result = validateSpec(raw, { legacy: true });
  if (result.ok) {
    // Rules added since a run started apply to new runs only: a run started before them replays on its old path.
    // Each rule is asked under its own patch, and only when the spec breaks it (a valid spec records no marker).
    const newer = newerSpecIssues(result.spec).filter((i) => patched(NEWER_RULE_PATCH[i.rule]));
    if (newer.length === 0) return result.spec;
    return refuse(newer.map(({ path, message }) => ({ path, message })));
  }
  if (
    result.issues.every((i) => i.path === CODEBUILD_ROLE_PATH) &&
    !patched(CODEBUILD_ROLE_REQUIRED) &&
    typeof raw === 'object' &&
    raw !== null
  ) {
    // A run from before the requirement: validate it as it was then (the role left out), and go on as it did.
    const image = (raw as { image?: { codeBuild?: object } }).image ?? {};
    const withRole = { ...raw, image: { ...image, codeBuild: { ...image.codeBuild, serviceRoleArn: LEGACY_ROLE } } };
    const legacy = validateSpec(withRole, { legacy: true });
    if (legacy.ok) {
      const { serviceRoleArn: _role, ...codeBuild } = legacy.spec.image.codeBuild;
      return {
        ...legacy.spec,
        image: { ...legacy.spec.image, codeBuild: codeBuild as typeof legacy.spec.image.codeBuild },
      };
    }
  }
  return refuse(result.issues);
}

function refuse(issues: SpecIssue[]): never {
  throw ApplicationFailure.create({
    type: ErrorType.SpecInvalid,
    nonRetryable: true,
    message: `Invalid pipeline spec (${issues.length} field(s)):\n${formatIssues(issues)}`,
    details: [issues],
  });
}

/**
 * A re-run under a workflow ID that ran before gets a run key, so every resource name differs from the earlier run's
 * (contracts/rerun.ts); a first run keeps the plain names. Retries inside this run replay the recorded answer.
 */
async function rerunKey(): Promise<RerunNote | undefined> {
  const { workflowId, runId, firstExecutionRunId } = workflowInfo();
  const earlier = await quickActivities().findEarlierRuns.executeWithOptions(
    { startToCloseTimeout: '1m', summary: `Look for earlier runs of ${workflowId} (a re-run starts fresh resources)` },
    [{ workflowId, runId, firstExecutionRunId }],
  );
  const latest = earlier.runs[0];
  if (!latest) return undefined;
  const names = runResourceNames(workflowId, firstExecutionRunId);
  return {
    runKey: firstExecutionRunId,
    earlierRuns: earlier.runs,
    message: `Re-run of ${workflowId}: ${earlier.runs.length} earlier run(s), the latest ${latest.runId} ${latest.status}; this run starts fresh resources (training job ${names.trainingJob}, tuning job ${names.tuningJob}, model ${names.model}) instead of re-attaching to the earlier run's.`,
  };
}

/** Runs the whole pipeline for an already validated spec. */
export async function runPipeline(spec: PipelineSpec, options: PipelineOptions = {}): Promise<plan.PipelineSummary> {
  const { workflowId } = workflowInfo();
  const status = trackStatus('pipeline');
  /** The pipeline's phase is one of a few words, so clients get it typed too (status.pipelinePhase). */
  const enter = (phase: PipelinePhase): void => {
    status.phase = phase;
    status.pipelinePhase = phase;
  };
  enter('starting');
  setHandler(stepStoppedSignal, ({ step, stopped }) => {
    status.stopped.push(...stopped.map((s) => `${s} (by ${step})`));
  });
  setHandler(approvalStateSignal, ({ approvalStatus }) => {
    upsertSearchAttributes([{ key: APPROVAL_STATUS, value: approvalStatus }]);
  });

  const cost = checkCostGuard(spec, patched(PRICE_TABLE_2026_11_30) ? PRICE_USD_PER_HOUR : PRICES_BEFORE_2026_11_30);
  status.metrics.estimatedMaxSpendUsd = cost.estimateUsd;
  if (!cost.ok) throw ApplicationFailure.nonRetryable(`Cost guard: ${cost.message}`, ErrorType.CostLimitExceeded, cost);
  const summary: plan.PipelineSummary = {
    workflowId,
    outcome: 'not-deployed',
    message: '',
    estimatedMaxSpendUsd: cost.estimateUsd,
    stopped: [],
  };

  // Before anything is created: a spec naming another region than the workers' would silently run in theirs.
  if (spec.region !== undefined && patched(SPEC_REGION_CHECK))
    await quickActivities().checkRegion({ region: spec.region });
  // Then the account: a quota, role or permission that would fail a step hours in refuses the run now (v5).
  if (patched(PATCH.accountPreflight)) await quickActivities().checkAccount(accountPreflightInput(spec));

  let run: plan.RunRef = workflowId;
  if (patched(PATCH.freshResourcesOnRerun)) {
    const rerun = await rerunKey();
    if (rerun) {
      run = { workflowId, runKey: rerun.runKey };
      summary.rerun = rerun;
      status.resources.runKey = rerun.runKey;
      status.lastObserved = { rerun: rerun.message };
      log.info(rerun.message);
    }
  }

  /** Starts a step's child workflow: its deterministic ID, and (since v2) cancel rather than terminate on close. */
  const step = async <R>(
    name: plan.PipelineStepName,
    start: (child: { workflowId: string; parentClosePolicy?: ParentClosePolicy }) => Promise<R>,
  ): Promise<R> => {
    enter(name);
    markStep(name);
    // Asked at each start, not once: a run in flight when this shipped keeps TERMINATE for the steps it had started
    // (as recorded) and gets REQUEST_CANCEL for the ones it starts from now on.
    const requestCancel = patched(PATCH.childrenRequestCancel);
    return start({
      workflowId: childWorkflowId(workflowId, name),
      ...(requestCancel ? { parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL } : {}),
    });
  };

  try {
    // The team's code first: a missing directory or entry point fails the run before anything is built or started.
    const code: plan.UserCode = {};
    const packInputs = plan.packUserCodeInputs(spec);
    if ((packInputs.training || packInputs.inference) && patched(PACK_USER_CODE_PATCH)) {
      status.phase = 'packing user code';
      const pack = longActivities('1h');
      for (const [kind, input] of [
        ['training', packInputs.training],
        ['inference', packInputs.inference],
      ] as const) {
        if (!input) continue;
        code[kind] = await pack.packUserCode
          .executeWithOptions(
            {
              startToCloseTimeout: '1h',
              heartbeatTimeout: '2m',
              summary: `Pack ${input.field} (${input.sourceDir}, entry point ${input.entryPoint}) into sourcedir.tar.gz`,
            },
            [input],
          )
          .catch((err: unknown) => {
            // A bad code directory is a bad spec: the run fails with the field named, like a schema error.
            if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable)
              throw ApplicationFailure.create({
                type: err.cause.type ?? undefined,
                message: err.cause.message,
                nonRetryable: true,
              });
            throw err;
          });
        status.resources[`${kind}Code`] = code[kind].s3Uri;
      }
      summary.code = {
        ...(code.training ? { training: { s3Uri: code.training.s3Uri, sha256: code.training.sha256 } } : {}),
        ...(code.inference ? { inference: { s3Uri: code.inference.s3Uri, sha256: code.inference.sha256 } } : {}),
      };
    }

    const built = await step('buildImage', (child) =>
      executeChild<typeof buildImage>('buildImage', { ...child, args: [plan.buildImageInput(spec, workflowId)] }),
    );
    const image = await step('publishImage', (child) =>
      executeChild<typeof publishImage>('publishImage', {
        ...child,
        args: [plan.publishImageInput(spec, built)],
      }),
    );
    summary.image = { uri: image.imageUri, digest: image.digest, sourceHash: built.sourceHash, reused: built.skipped };
    status.resources.imageUri = image.imageUri;

    const data = await step('syncData', (child) =>
      executeChild<typeof syncData>('syncData', { ...child, args: [plan.syncDataInput(spec)] }),
    );
    summary.data = data.channels;

    // Asked only when the spec enables the step: runs without it (and every run recorded before v4) record no marker.
    let prepared: PrepareDataOutput | null = null;
    if (spec.prepareData.enabled && patched(PATCH.prepareDataStep)) {
      prepared = await step('prepareData', (child) =>
        executeChild<typeof prepareData>('prepareData', {
          ...child,
          args: [plan.prepareDataInput(spec, run, image.imageUri)],
        }),
      );
      summary.prepared = {
        processingJob: prepared.processingJobName,
        channels: prepared.channels,
        evalS3Uri: prepared.evalS3Uri,
      };
      status.resources.processingJob = prepared.processingJobName;
    }
    const channels = plan.trainingChannels(data.channels, prepared);

    const definition = plan.trainingDefinition(spec, run, image.imageUri, channels, code.training);
    const trained = await step('trainModel', (child) =>
      executeChild<typeof trainModel>('trainModel', {
        ...child,
        args: [plan.trainModelInput(spec, run, definition)],
      }),
    );
    summary.training = { jobName: trained.trainingJobName, objective: trained.objectiveValue };
    status.resources.trainingJob = trained.trainingJobName;

    let tuned = null;
    if (spec.tuning.enabled) {
      // Retraining warm-starts from the previous run's tuning job: IdenticalDataAndAlgorithm only when this run trains
      // with the same image on unchanged data, else TransferLearning (the type changes the child's input, no command).
      const parent = options.warmStartFrom;
      const warmStart = parent && {
        parentTuningJob: parent.tuningJobName,
        type: plan.warmStartType(parent, {
          imageUri: image.imageUri,
          imageReused: built.skipped,
          data: { copied: data.copied, lastModified: data.lastModified },
          ...(prepared ? { preparedThisRun: true } : {}),
        }).type,
      };
      let tuneInput = plan.tuneModelInput(spec, run, definition, warmStart);
      // SageMaker refuses a parent whose objective or hyperparameters differ (a spec edit since the parent ran):
      // check it first and tune cold, saying why, rather than fail after training (asked only with a parent).
      if (warmStart && patched(PATCH.warmStartParentCheck)) {
        status.phase = `checking warm-start parent ${warmStart.parentTuningJob}`;
        const fit = await quickActivities().checkWarmStartParent.executeWithOptions(
          { summary: `Check that tuning job ${warmStart.parentTuningJob} can be this run's warm-start parent` },
          [
            {
              tuningJob: {
                tuningJobName: tuneInput.tuningJobName,
                workflowId: childWorkflowId(workflowId, 'tuneModel'),
                definition: tuneInput.definition,
                tuning: tuneInput.tuning,
              },
            },
          ],
        );
        summary.warmStart = { parentTuningJob: warmStart.parentTuningJob, type: fit.type, reason: fit.reason };
        status.lastObserved = {
          ...status.lastObserved,
          warmStart: fit.type ? fit.reason : `tuning cold: ${fit.reason}`,
        };
        log.info(`Warm start: ${fit.type ?? 'none, tuning cold'}: ${fit.reason}`);
        if (fit.type !== warmStart.type)
          tuneInput = plan.tuneModelInput(
            spec,
            run,
            definition,
            fit.type ? { ...warmStart, type: fit.type } : undefined,
          );
      }
      const tuneArgs = tuneInput;
      tuned = await step('tuneModel', (child) =>
        executeChild<typeof tuneModel>('tuneModel', { ...child, args: [tuneArgs] }),
      );
      summary.tuning = {
        jobName: tuned.tuningJobName,
        bestTrainingJob: tuned.bestTrainingJobName,
        objective: tuned.objectiveValue,
      };
      status.resources.tuningJob = tuned.tuningJobName;
    }

    const candidates = plan.championCandidates(trained, tuned, definition);
    let evaluation: Evaluation | undefined;
    const candidate = pickChampion(candidates, spec.objective.type);
    // Without a candidate there is nothing to score: registerModel fails with the reason, as it always has.
    const source = plan.evaluationSource(spec, prepared);
    if (spec.evaluation.enabled && candidate && source && patched(PATCH.evaluateModelStep)) {
      if ('upload' in source) status.phase = 'uploading the evaluation records';
      const evalInput =
        'upload' in source
          ? (
              await longActivities('1h').uploadEvaluationRecords.executeWithOptions(
                { summary: `Upload the scoring records ${source.upload.localPath}` },
                [source.upload],
              )
            ).s3Uri
          : source.s3Uri;
      evaluation = await step('evaluateModel', (child) =>
        executeChild<typeof evaluateModel>('evaluateModel', {
          ...child,
          args: [plan.evaluateModelInput(spec, run, image.imageUri, candidate, evalInput, code)],
        }),
      );
      summary.evaluation = {
        transformJob: evaluation.transformJobName,
        candidate: evaluation.trainingJobName,
        evalNll: evaluation.evalNll,
        evalPerplexity: evaluation.evalPerplexity,
        records: evaluation.records,
        tokens: evaluation.tokens,
        s3Uri: evaluation.s3Uri,
      };
      status.resources.transformJob = evaluation.transformJobName;
      status.metrics.eval_nll = evaluation.evalNll;
    }
    const registered = await step('registerModel', (child) =>
      executeChild<typeof registerModel>('registerModel', {
        ...child,
        args: [
          plan.registerModelInput(
            spec,
            run,
            image.imageUri,
            channels,
            candidates,
            trained.finalMetrics,
            code,
            evaluation,
          ),
        ],
      }),
    );
    summary.registry = {
      modelPackageArn: registered.modelPackageArn,
      version: registered.modelPackageVersion,
      approvalStatus: registered.approvalStatus,
      champion: registered.champion.trainingJobName,
    };
    status.resources.modelPackageArn = registered.modelPackageArn;
    if (registered.modelPackageVersion !== null)
      upsertSearchAttributes([{ key: MODEL_PACKAGE_VERSION, value: registered.modelPackageVersion }]);
    if (patched(PATCH.approvalStatusSearchAttribute))
      upsertSearchAttributes([{ key: APPROVAL_STATUS, value: registered.approvalStatus }]);

    if (registered.approvalStatus !== 'Approved') {
      summary.outcome = 'not-approved';
      summary.message =
        `Model package ${registered.modelPackageArn} is ${registered.approvalStatus}: ${registered.reason}. ` +
        `Nothing was deployed.`;
      markStep('done');
      enter('done');
      await attachRunReport(spec, summary, run);
      return summary;
    }
    if (!spec.deployment.enabled) {
      summary.message = 'Deployment is disabled in the spec; the approved model was registered only.';
      markStep('done');
      enter('done');
      await attachRunReport(spec, summary, run);
      return summary;
    }

    upsertSearchAttributes([{ key: ENDPOINT_NAME, value: spec.deployment.endpointName }]);
    const deployed = await step('deployModel', (child) =>
      executeChild<typeof deployModel>('deployModel', {
        ...child,
        args: [
          plan.deployModelInput(
            spec,
            run,
            image.imageUri,
            registered.modelDataUrl ?? registered.champion.modelArtifactS3Uri,
            registered.modelPackageArn,
            registered.environment,
          ),
        ],
      }),
    ).catch(async (err: unknown) => {
      // A model the rollback alarms rejected must not stay Approved: later auto-approvals compare against it.
      const rolledBack =
        err instanceof ChildWorkflowFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.type === ErrorType.DeploymentRolledBack;
      if (rolledBack) {
        await CancellationScope.nonCancellable(() =>
          quickActivities().updateModelPackageApproval({
            modelPackageArn: registered.modelPackageArn,
            status: 'Rejected',
            reviewer: 'pipeline',
            reason: `rolled back: ${(err.cause as ApplicationFailure).message}`.slice(0, 800),
          }),
        );
      }
      throw err;
    });
    summary.endpoint = {
      name: deployed.endpointName,
      configName: deployed.endpointConfigName,
      action: deployed.action,
    };
    summary.outcome = 'deployed';
    summary.message =
      `Endpoint ${deployed.endpointName} ${deployed.action} with ${deployed.endpointConfigName} (champion ` +
      `${registered.champion.trainingJobName}).`;
    markStep('done');
    enter('done');
    await attachRunReport(spec, summary, run);
    return summary;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Each child stopped its own resources in a non-cancellable scope and signalled what it stopped.
    summary.outcome = 'cancelled';
    summary.stopped = [...status.stopped];
    summary.message =
      `Cancelled during ${status.phase}; stopped: ` +
      `${summary.stopped.length ? summary.stopped.join('; ') : 'nothing was running'}.`;
    enter('cancelled');
    // Temporal's convention: after its cleanup a cancelled run closes as Canceled, not Completed. The cancellation
    // carries no details to the close event, so the summary goes into the memo, where `cli status`/`stop` read it.
    // Only when the pipeline itself was cancelled: a step cancelled on its own still ends the run with its summary.
    if (CancellationScope.current().consideredCancelled && patched(PATCH.cancelledRunClosesCanceled)) {
      upsertMemo({ [plan.SUMMARY_MEMO]: summary });
      throw err;
    }
    return summary;
  }
}
