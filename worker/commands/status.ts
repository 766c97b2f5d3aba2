/**
 * `npm run cli -- status <run>`: a pipeline run's steps (each step workflow's state and its status query), the
 * resources they name, and those resources' live state from AWS (Describe calls), so an operator sees what is
 * running and billing without opening the console.
 */
import { BatchGetBuildsCommand, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelPackageCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { type Client, WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { gatherRunReport, type ReportClients } from '../../activities/run-report/gather';
import {
  latestStepRecord,
  readRunHistory,
  type RunHistory,
  stepOutcome,
  stepResourceNames,
} from '../../activities/run-report/history';
import { ErrorType } from '../../contracts/errors';
import { childWorkflowId, runResourceNames } from '../../contracts/names';
import { PIPELINE_STEPS, type PipelineSummary, SUMMARY_MEMO } from '../../contracts/pipeline-plan';
import { REPORT_MEMO, type RunReportRef } from '../../contracts/run-report';
import type { StepStatus } from '../../contracts/status';
import { CommandFailure } from '../command-line';
import { queryStatus } from '../pipeline-client';
import { runVersion, searchAttribute } from './run-attributes';

/** The AWS calls `status` makes (the worker's clients satisfy it; tests pass their own). */
export interface LiveStateClients {
  sagemaker: Pick<SageMakerClient, 'send'>;
  codebuild: Pick<CodeBuildClient, 'send'>;
}

/** Options of `status`. */
export interface StatusOptions {
  /** Flag the run when its actual spend passes the estimate × this (default: the spec's costGuard.overspendFactor). */
  overspendFactor?: number;
}

/** A resource a run names, and what AWS says about it now. */
interface Resource {
  kind: string;
  name: string;
  state: string;
}

const QUERY_TIMEOUT_MS = 5000;

async function live(what: () => Promise<string>): Promise<string> {
  try {
    return await what();
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (/not found|does not exist|could not find/i.test(e.message ?? '')) return 'not found';
    return `unknown (${e.name ?? 'error'}: ${e.message ?? String(err)})`;
  }
}

/** The live state of each resource the run's statuses name (or, without them, the names a first run derives). */
async function liveResources(aws: LiveStateClients, names: Record<string, string>): Promise<Resource[]> {
  const out: Resource[] = [];
  const sm = aws.sagemaker;
  if (names.buildId) {
    const id = names.buildId;
    out.push({
      kind: 'image build',
      name: id,
      state: await live(async () => {
        const b = (await aws.codebuild.send(new BatchGetBuildsCommand({ ids: [id] }))).builds?.[0];
        return b ? `${b.buildStatus} (phase ${b.currentPhase})` : 'not found';
      }),
    });
  }
  if (names.trainingJob) {
    const n = names.trainingJob;
    out.push({
      kind: 'training job',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: n }));
        return `${d.TrainingJobStatus} / ${d.SecondaryStatus}${d.FailureReason ? `: ${d.FailureReason}` : ''}`;
      }),
    });
  }
  if (names.tuningJob) {
    const n = names.tuningJob;
    out.push({
      kind: 'tuning job',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: n }));
        const c = d.TrainingJobStatusCounters;
        return `${d.HyperParameterTuningJobStatus}: ${c?.Completed ?? 0} completed, ${c?.InProgress ?? 0} in progress, ${(c?.NonRetryableError ?? 0) + (c?.RetryableError ?? 0)} failed, ${c?.Stopped ?? 0} stopped`;
      }),
    });
  }
  if (names.processingJob) {
    const n = names.processingJob;
    out.push({
      kind: 'processing job',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: n }));
        return `${d.ProcessingJobStatus}${d.FailureReason ? `: ${d.FailureReason}` : ''}`;
      }),
    });
  }
  if (names.transformJob) {
    const n = names.transformJob;
    out.push({
      kind: 'transform job',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeTransformJobCommand({ TransformJobName: n }));
        return `${d.TransformJobStatus}${d.FailureReason ? `: ${d.FailureReason}` : ''}`;
      }),
    });
  }
  if (names.modelPackageArn) {
    const n = names.modelPackageArn;
    out.push({
      kind: 'model package',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: n }));
        return `${d.ModelPackageStatus}, ${d.ModelApprovalStatus}`;
      }),
    });
  }
  if (names.endpointName) {
    const n = names.endpointName;
    out.push({
      kind: 'endpoint',
      name: n,
      state: await live(async () => {
        const d = await sm.send(new DescribeEndpointCommand({ EndpointName: n }));
        const pending = d.PendingDeploymentSummary?.EndpointConfigName;
        return `${d.EndpointStatus} on ${d.EndpointConfigName}${pending ? `, updating to ${pending}` : ''}${d.FailureReason ? `: ${d.FailureReason}` : ''}`;
      }),
    });
  }
  return out;
}

/**
 * What a step's activities are waiting for while Temporal retries them: a CapacityWait's "waiting for capacity:
 * <quota>..." (activities/aws-errors.ts), from the pending activity's last failure. The step's own status query
 * cannot say it (a retry happens on the server, unseen by the workflow); Temporal's describe can.
 */
export function capacityWaits(d: Pick<WorkflowExecutionDescription, 'raw'>): string[] {
  const out: string[] = [];
  for (const a of d.raw.pendingActivities ?? []) {
    const f = a.lastFailure;
    if (f?.applicationFailureInfo?.type !== ErrorType.CapacityWait || !f.message) continue;
    out.push(`${f.message.split('; ')[0]} (${a.activityType?.name ?? 'activity'} attempt ${a.attempt ?? '?'})`);
  }
  return out;
}

/** Prints the run's status; returns the lines. */
export async function runStatus(
  client: Client,
  aws: LiveStateClients,
  workflowId: string,
  o: StatusOptions = {},
): Promise<string[]> {
  let run;
  try {
    run = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CommandFailure(`status: no run ${workflowId} in namespace ${client.options.namespace}`);
    throw err;
  }
  const lines = [
    `run ${workflowId} (${run.type}) ${run.status.name}, started ${run.startTime.toISOString()}${run.closeTime ? `, closed ${run.closeTime.toISOString()}` : ''} [run ${run.runId}]`,
    `  version ${runVersion(run.searchAttributes)}; step ${searchAttribute(run.searchAttributes, 'PipelineStep') ?? '-'}; approval ${searchAttribute(run.searchAttributes, 'ApprovalStatus') ?? '-'}; endpoint ${searchAttribute(run.searchAttributes, 'EndpointName') ?? '-'}`,
  ];
  // A run stopped since v5 closed as Canceled; what it stopped and why is its summary, kept in its memo.
  // Each step's result is in the run's history, readable with no worker running (a query needs one).
  const history: RunHistory | undefined = await readRunHistory(client, workflowId, run.runId).catch(() => undefined);
  const closedSummary = (run.memo?.[SUMMARY_MEMO] ?? history?.result) as Partial<PipelineSummary> | undefined;
  if (closedSummary?.outcome) lines.push(`  outcome ${closedSummary.outcome}: ${closedSummary.message ?? ''}`);
  const report = (closedSummary?.report ?? run.memo?.[REPORT_MEMO]) as RunReportRef | undefined;
  if (report) lines.push(`  report ${report.s3Uri}`);
  // A closed run answers no query without a worker (and needs none: its history has it all).
  const pipeline = run.closeTime ? undefined : await queryStatus(client, workflowId, QUERY_TIMEOUT_MS);
  if (!pipeline && !run.closeTime)
    lines.push('  (no worker answered the status query: showing what Temporal, its history and AWS know)');
  if (pipeline?.resources.runKey) lines.push(`  ${String(pipeline.lastObserved?.rerun ?? 're-run')}`);
  if (pipeline?.stopped.length) lines.push(`  stopped: ${pipeline.stopped.join('; ')}`);

  const names: Record<string, string> = {};
  const fromHistory: Record<string, string> = {};
  const steps: string[] = [];
  for (const step of PIPELINE_STEPS) {
    const id = childWorkflowId(workflowId, step);
    let state = '-';
    let detail = 'not started';
    let status: StepStatus | undefined;
    try {
      const d = await client.workflow.getHandle(id).describe();
      // The same step ID is reused by every run of this workflow ID: only this run's child counts.
      if (d.parentExecution?.runId === run.runId) {
        state = d.status.name;
        const recorded = history && latestStepRecord(history, step);
        if (d.closeTime && recorded && recorded.state !== 'Running') {
          detail = stepOutcome(recorded);
          status = { step, phase: detail, resources: {}, metrics: {}, stopped: [], awaitingApproval: false };
          Object.assign(fromHistory, stepResourceNames(recorded.result));
        } else {
          status = await queryStatus(client, id, QUERY_TIMEOUT_MS);
          detail = status?.phase ?? '(no status: no worker answered)';
        }
        const waits = capacityWaits(d);
        if (waits.length) detail += `; ${waits.join('; ')}`;
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // A live step's status carries the same resource fields as its recorded result: one reader for both.
    Object.assign(names, stepResourceNames(status?.resources));
    steps.push(`  ${step.padEnd(14)} ${state.padEnd(11)} ${detail}`);
  }
  lines.push('steps', ...steps);
  for (const [k, v] of Object.entries(fromHistory)) names[k] ??= v;
  if (history) lines.push(...(await spendLines(history, aws, report, o, closedSummary)));

  // Without status answers a first run's names are still known (they derive from the workflow ID alone).
  const derived = runResourceNames(workflowId, pipeline?.resources.runKey);
  const started = new Set(steps.filter((s) => !s.includes(' not started')).map((s) => s.trim().split(' ')[0]));
  if (!names.trainingJob && started.has('trainModel')) names.trainingJob = derived.trainingJob;
  if (!names.tuningJob && started.has('tuneModel')) names.tuningJob = derived.tuningJob;
  if (!names.processingJob && started.has('prepareData')) names.processingJob = derived.processingJob;
  if (!names.transformJob && started.has('evaluateModel')) names.transformJob = derived.transformJob;
  names.endpointName ??= searchAttribute(run.searchAttributes, 'EndpointName') ?? '';
  if (!names.endpointName) delete names.endpointName;

  const resources = await liveResources(aws, names);
  lines.push('resources (live, from AWS)');
  if (resources.length === 0) lines.push('  none created yet');
  for (const r of resources) lines.push(`  ${r.kind.padEnd(14)} ${r.name}  ${r.state}`);
  return lines;
}

/**
 * The run's actual spend against its estimate: from its report when it wrote one (v6), else computed now from its
 * jobs' billable time (any run, open or closed).
 */
async function spendLines(
  history: RunHistory,
  aws: LiveStateClients,
  report: RunReportRef | undefined,
  o: StatusOptions,
  summary: Partial<PipelineSummary> | undefined,
): Promise<string[]> {
  let spend: Pick<RunReportRef, 'actualSpendUsd' | 'estimatedMaxSpendUsd' | 'overspendFactor' | 'overspent'>;
  if (report && o.overspendFactor === undefined) spend = report;
  else {
    try {
      // Spend needs no curves, so no log reads: status stays a handful of Describe calls.
      const clients: ReportClients = {
        sagemaker: aws.sagemaker,
        logs: { send: () => Promise.reject(new Error('unused')) },
      };
      spend = await gatherRunReport(history, clients, {
        overspendFactor: o.overspendFactor,
        summary: summary as Record<string, unknown> | undefined,
        curves: false,
      });
    } catch (err) {
      return [`spend: unknown (${(err as Error).message})`];
    }
  }
  return [
    `spend: actual $${spend.actualSpendUsd.toFixed(2)} of a worst-case estimate $${spend.estimatedMaxSpendUsd.toFixed(2)}` +
      (spend.overspent ? ` — OVERSPENT (above the estimate × ${spend.overspendFactor})` : ''),
  ];
}
