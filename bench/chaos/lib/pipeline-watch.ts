/**
 * Helpers the worker-kills, service-restart, faults and cancellation campaigns share: start a migrationPipeline on a
 * LocalHarness, follow which step it is in (the pipeline's `status` query), wait for its outcome with a deadline,
 * and print progress as it goes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { childWorkflowId } from '../../../contracts/names';
import type { PipelineStepName, PipelineSummary } from '../../../contracts/pipeline-plan';
import type { PipelinePhase } from '../../../contracts/status';
import { sleep } from '../../../local/shared/procs';
import { type CancelReport, failureChain, queryStatus } from '../../../worker/pipeline-client';
import type { LocalHarness } from '../../../testing/local-harness';
import type { Spec } from '../../../testing/tiny-spec';

/** A step name, or the pipeline's own phases before/after the steps; 'unknown' while no worker answers. */
export type Phase = PipelinePhase | 'unknown';

/** How a run ended: its summary, or its failure's message chain. */
export interface RunOutcome {
  summary?: PipelineSummary;
  failure?: string;
  /** Wall time from start to outcome, seconds. */
  seconds: number;
}

const t0 = Date.now();
/** Prints a progress line with the seconds since the campaign started. */
export function say(tag: string, msg: string): void {
  console.log(`[${tag} ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
}

/** Every message in an error's cause chain, joined. */
export function failureText(err: unknown): string {
  return failureChain(err) || String(err);
}

/** The pipeline's current phase from its `status` query; 'unknown' while no worker answers. */
export async function currentPhase(h: LocalHarness, workflowId: string, timeoutMs = 3_000): Promise<Phase> {
  try {
    return (await queryStatus(await h.client(), workflowId, timeoutMs))?.pipelinePhase ?? 'unknown';
  } catch {
    return 'unknown'; // no connection to the dev server
  }
}

/**
 * `step` while that step's child workflow runs, else 'unknown': read from the server (DescribeWorkflowExecution), so
 * unlike `currentPhase` it needs no worker task and catches steps that last a fraction of a second.
 */
export async function childPhase(
  h: LocalHarness,
  workflowId: string,
  step: PipelineStepName,
): Promise<PipelineStepName | 'unknown'> {
  try {
    const d = await (await h.client()).workflow.getHandle(childWorkflowId(workflowId, step)).describe();
    return d.status.name === 'RUNNING' ? step : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Starts migrationPipeline with `spec` on `taskQueue`. */
export async function startPipeline(
  h: LocalHarness,
  taskQueue: string,
  workflowId: string,
  spec: Spec,
): Promise<WorkflowHandle> {
  const client = await h.client();
  return client.workflow.start('migrationPipeline', {
    taskQueue,
    workflowId,
    args: [spec],
    workflowExecutionTimeout: '30m',
  });
}

/** Waits for the run's result (or failure) without throwing. */
export async function outcomeOf(handle: WorkflowHandle, started = Date.now()): Promise<RunOutcome> {
  try {
    const summary = (await handle.result()) as PipelineSummary;
    return { summary, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    return {
      failure: failureText(err),
      seconds: (Date.now() - started) / 1000,
    };
  }
}

/** A run's outcome from what cancelAndReport saw (`started`: when the run started, for its wall time). */
export function reportedOutcome(report: CancelReport, started: number): RunOutcome {
  const seconds = (Date.now() - started) / 1000;
  if ('summary' in report) return { summary: report.summary, seconds };
  if ('failure' in report) return { failure: failureText(report.failure), seconds };
  return { failure: 'no result within the cancel deadline', seconds };
}

/** The outcome for a table cell: the summary's outcome, or the failure without Temporal's wrapper messages. */
export function outcomeCell(o: RunOutcome): string {
  if (o.summary) return o.summary.outcome;
  const text = (o.failure ?? '').replace(
    /(Workflow execution failed|Child Workflow execution failed|Activity task failed) <- /g,
    '',
  );
  return `failed: ${text.slice(0, 400).replace(/\|/g, '/').replace(/\n/g, ' ')}`;
}

/** The outcome with the endpoint action (`deployed (updated)`), or the failure. */
export function deployCell(o: RunOutcome): string {
  return o.summary ? `${o.summary.outcome} (${o.summary.endpoint?.action ?? '-'})` : outcomeCell(o);
}

/** Polls the phase every `intervalMs` and calls `onPhase` whenever it changes, until `stop()` is true. */
export async function followPhases(
  h: LocalHarness,
  workflowId: string,
  stop: () => boolean,
  onPhase: (p: Phase) => void,
  intervalMs = 500,
): Promise<void> {
  let last: Phase | undefined;
  while (!stop()) {
    const p = await currentPhase(h, workflowId);
    if (p !== 'unknown' && p !== last) {
      last = p;
      onPhase(p);
    }
    await sleep(intervalMs);
  }
}
