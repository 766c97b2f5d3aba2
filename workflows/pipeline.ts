/**
 * The pipeline: validate the spec, check the cost guard, then run the steps (seven, and two optional) as child
 * workflows with deterministic IDs. Shared by migrationPipeline (first run) and retrainPipeline (scheduled re-runs).
 * What each step adds to the summary and status is in contracts/pipeline-plan.ts (PipelineRecord); the spec rules
 * newer than open runs are in ./legacy-spec.ts.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  deprecatePatch,
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
import { checkCostGuard, PRICE_USD_PER_HOUR } from '../contracts/cost';
import type { Evaluation } from '../contracts/evaluate-model';
import type { PrepareDataOutput } from '../contracts/prepare-data';
import { pickChampion } from '../contracts/register-model';
import { ErrorType } from '../contracts/errors';
import { childWorkflowId, runResourceNames } from '../contracts/names';
import * as plan from '../contracts/pipeline-plan';
import type { PipelineSpec } from '../contracts/pipeline-spec';
import type { PipelinePhase, StepStatus } from '../contracts/status';
import type { TrainingDefinition } from '../contracts/train-model';
import { approvalStateSignal, stepStoppedSignal } from '../contracts/workflow-api';
import { longActivities, quickActivities } from './activity-options';
import type { RerunNote } from '../contracts/rerun';
import { PATCH } from './patches';
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

export { parseSpecOrFail } from './legacy-spec';

/** Options that differ between the first migration and scheduled retraining. */
export interface PipelineOptions {
  /** The previous run's tuning job to warm-start from (retraining). */
  warmStartFrom?: plan.WarmStartParent;
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
  /** A run that did its steps: marked done, then its report written (PATCH.runReport). */
  const finish = async (summary: plan.PipelineSummary): Promise<plan.PipelineSummary> => {
    markStep('done');
    enter('done');
    await attachRunReport(spec, summary, run);
    return summary;
  };
  enter('starting');
  setHandler(stepStoppedSignal, ({ step, stopped }) => {
    status.stopped.push(...stopped.map((s) => `${s} (by ${step})`));
  });
  setHandler(approvalStateSignal, ({ approvalStatus }) => {
    upsertSearchAttributes([{ key: APPROVAL_STATUS, value: approvalStatus }]);
  });

  deprecatePatch(PATCH.priceTable20261130);
  const cost = checkCostGuard(spec, PRICE_USD_PER_HOUR);
  const record = new plan.PipelineRecord(status, workflowId, cost.estimateUsd);
  if (!cost.ok) throw ApplicationFailure.nonRetryable(`Cost guard: ${cost.message}`, ErrorType.CostLimitExceeded, cost);
  await preflight(spec);
  const run = await runRef(workflowId, record);
  const step = stepStarter(workflowId, enter);

  try {
    // The team's code first: a missing directory or entry point fails the run before anything is built or started.
    const code = await packUserCode(spec, status, record);

    const built = await step('buildImage', (child) =>
      executeChild<typeof buildImage>('buildImage', { ...child, args: [plan.buildImageInput(spec, workflowId)] }),
    );
    const image = await step('publishImage', (child) =>
      executeChild<typeof publishImage>('publishImage', { ...child, args: [plan.publishImageInput(spec, built)] }),
    );
    record.image(built, image);

    const data = await step('syncData', (child) =>
      executeChild<typeof syncData>('syncData', { ...child, args: [plan.syncDataInput(spec)] }),
    );
    record.data(data);

    // Asked only when the spec enables the step: runs without it (and every run recorded before v4) record no marker.
    let prepared: PrepareDataOutput | null = null;
    if (spec.prepareData.enabled) {
      deprecatePatch(PATCH.prepareDataStep);
      prepared = await step('prepareData', (child) =>
        executeChild<typeof prepareData>('prepareData', {
          ...child,
          args: [plan.prepareDataInput(spec, run, image.imageUri)],
        }),
      );
      record.prepared(prepared);
    }
    const channels = plan.trainingChannels(data.channels, prepared);

    const definition = plan.trainingDefinition(spec, run, image.imageUri, channels, code.training);
    const trained = await step('trainModel', (child) =>
      executeChild<typeof trainModel>('trainModel', { ...child, args: [plan.trainModelInput(spec, run, definition)] }),
    );
    record.trained(trained);

    let tuned = null;
    if (spec.tuning.enabled) {
      const tuneInput = await tuningInput(spec, run, definition, options.warmStartFrom, status, record, {
        imageUri: image.imageUri,
        imageReused: built.skipped,
        data: { copied: data.copied, lastModified: data.lastModified },
        ...(prepared ? { preparedThisRun: true } : {}),
      });
      tuned = await step('tuneModel', (child) =>
        executeChild<typeof tuneModel>('tuneModel', { ...child, args: [tuneInput] }),
      );
      record.tuned(tuned);
    }

    const candidates = plan.championCandidates(trained, tuned, definition);
    let evaluation: Evaluation | undefined;
    const candidate = pickChampion(candidates, spec.objective.type);
    // Without a candidate there is nothing to score: registerModel fails with the reason, as it always has.
    const source = plan.evaluationSource(spec, prepared);
    if (spec.evaluation.enabled && candidate && source) {
      deprecatePatch(PATCH.evaluateModelStep);
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
      record.evaluated(evaluation);
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
    record.registered(registered);
    if (registered.modelPackageVersion !== null)
      upsertSearchAttributes([{ key: MODEL_PACKAGE_VERSION, value: registered.modelPackageVersion }]);
    deprecatePatch(PATCH.approvalStatusSearchAttribute);
    upsertSearchAttributes([{ key: APPROVAL_STATUS, value: registered.approvalStatus }]);
    if (registered.approvalStatus !== 'Approved') return await finish(record.notApproved(registered));
    if (!spec.deployment.enabled) return await finish(record.deploymentDisabled());

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
    ).catch(rejectRolledBack(registered.modelPackageArn));
    return await finish(record.deployed(deployed, registered));
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Each child stopped its own resources in a non-cancellable scope and signalled what it stopped.
    const summary = record.cancelled();
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

/**
 * Before anything is created: a spec naming another region than the workers' would silently run in theirs; then the
 * account (v5): a quota, role or permission that would fail a step hours in refuses the run now.
 */
async function preflight(spec: PipelineSpec): Promise<void> {
  if (spec.region !== undefined) {
    deprecatePatch(PATCH.specRegionCheck);
    await quickActivities().checkRegion({ region: spec.region });
  }
  if (patched(PATCH.accountPreflight)) await quickActivities().checkAccount(accountPreflightInput(spec));
}

/**
 * How this run names its resources: by workflow ID, or with a run key when the workflow ID ran before (a re-run gets
 * fresh resources, contracts/rerun.ts). Retries inside this run replay the recorded answer.
 */
async function runRef(workflowId: string, record: plan.PipelineRecord): Promise<plan.RunRef> {
  deprecatePatch(PATCH.freshResourcesOnRerun);
  const rerun = await rerunKey();
  if (!rerun) return workflowId;
  record.rerun(rerun);
  log.info(rerun.message);
  return { workflowId, runKey: rerun.runKey };
}

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

type ChildStart = { workflowId: string; parentClosePolicy: ParentClosePolicy };

/** Starts a step's child workflow: its deterministic ID, and cancel rather than terminate when the pipeline closes. */
function stepStarter(workflowId: string, enter: (phase: PipelinePhase) => void) {
  return async <R>(name: plan.PipelineStepName, start: (child: ChildStart) => Promise<R>): Promise<R> => {
    enter(name);
    markStep(name);
    // Retired (v2): asked at each start, where the marker was recorded.
    deprecatePatch(PATCH.childrenRequestCancel);
    return start({
      workflowId: childWorkflowId(workflowId, name),
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  };
}

/** Packs the team's code (training.code, deployment.code) into sourcedir.tar.gz in S3; nothing without code. */
async function packUserCode(
  spec: PipelineSpec,
  status: StepStatus,
  record: plan.PipelineRecord,
): Promise<plan.UserCode> {
  const code: plan.UserCode = {};
  const packInputs = plan.packUserCodeInputs(spec);
  if (!packInputs.training && !packInputs.inference) return code;
  deprecatePatch(PATCH.packUserCode);
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
    record.packed(kind, code[kind]);
  }
  return code;
}

/**
 * tuneModel's input. Retraining warm-starts from the previous run's tuning job: IdenticalDataAndAlgorithm only when
 * this run trains with the same image on unchanged data, else TransferLearning (the type changes the child's input,
 * no command). SageMaker refuses a parent whose objective or hyperparameters differ (a spec edit since the parent ran):
 * it is checked first and the run tunes cold, saying why, rather than fail after training (asked only with a parent).
 */
async function tuningInput(
  spec: PipelineSpec,
  run: plan.RunRef,
  definition: TrainingDefinition,
  parent: plan.WarmStartParent | undefined,
  status: StepStatus,
  record: plan.PipelineRecord,
  context: plan.WarmStartContext,
) {
  const warmStart = parent && {
    parentTuningJob: parent.tuningJobName,
    type: plan.warmStartType(parent, context).type,
  };
  const tuneInput = plan.tuneModelInput(spec, run, definition, warmStart);
  if (!warmStart || !patched(PATCH.warmStartParentCheck)) return tuneInput;
  status.phase = `checking warm-start parent ${warmStart.parentTuningJob}`;
  const fit = await quickActivities().checkWarmStartParent.executeWithOptions(
    { summary: `Check that tuning job ${warmStart.parentTuningJob} can be this run's warm-start parent` },
    [
      {
        tuningJob: {
          tuningJobName: tuneInput.tuningJobName,
          workflowId: childWorkflowId(workflowInfo().workflowId, 'tuneModel'),
          definition: tuneInput.definition,
          tuning: tuneInput.tuning,
        },
      },
    ],
  );
  record.warmStart({ parentTuningJob: warmStart.parentTuningJob, type: fit.type, reason: fit.reason });
  log.info(`Warm start: ${fit.type ?? 'none, tuning cold'}: ${fit.reason}`);
  if (fit.type === warmStart.type) return tuneInput;
  return plan.tuneModelInput(spec, run, definition, fit.type ? { ...warmStart, type: fit.type } : undefined);
}

/** A model the rollback alarms rejected must not stay Approved: later auto-approvals compare against it. */
function rejectRolledBack(modelPackageArn: string) {
  return async (err: unknown): Promise<never> => {
    if (
      err instanceof ChildWorkflowFailure &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === ErrorType.DeploymentRolledBack
    ) {
      const reason = `rolled back: ${err.cause.message}`.slice(0, 800);
      await CancellationScope.nonCancellable(() =>
        quickActivities().updateModelPackageApproval({
          modelPackageArn,
          status: 'Rejected',
          reviewer: 'pipeline',
          reason,
        }),
      );
    }
    throw err;
  };
}
