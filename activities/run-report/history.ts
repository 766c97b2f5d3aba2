/**
 * A pipeline run as its Temporal history records it: the spec it started with, each step (child workflow) with its
 * start and close times and its completion result, and the run's own result. Read from the history alone, so it
 * works for open and closed runs with no worker running (a status query needs a worker; the history does not).
 */
import type { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { PIPELINE_STEPS, type PipelineStepName } from '../../contracts/pipeline-plan';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One step as the pipeline's history records it. */
export interface StepRecord {
  step: PipelineStepName;
  childWorkflowId: string;
  startedAt: Date;
  closedAt?: Date;
  /** Temporal's close state of the child: Completed, Failed, Canceled, TimedOut, Terminated; Running while open. */
  state: 'Running' | 'Completed' | 'Failed' | 'Canceled' | 'TimedOut' | 'Terminated';
  /** The child's completion result (its step output), when it completed. */
  result?: Record<string, unknown>;
  /** The failure's message, when it failed. */
  failure?: string;
}

/** A pipeline run read from its history. */
export interface RunHistory {
  workflowId: string;
  runId: string;
  workflowType: string;
  startedAt: Date;
  closedAt?: Date;
  /** The raw spec the run started with (its first input argument). */
  spec: unknown;
  steps: StepRecord[];
  /** The run's result (its PipelineSummary), when it completed. */
  result?: Record<string, unknown>;
  /** The run's memo, decoded. */
  memo: Record<string, unknown>;
}

function eventDate(e: HistoryEvent): Date {
  const t = e.eventTime;
  const seconds = Number(t?.seconds ?? 0);
  return new Date(seconds * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));
}

function isStep(name: string | null | undefined): name is PipelineStepName {
  return (PIPELINE_STEPS as readonly string[]).includes(name ?? '');
}

/** Reads a run's steps and results from its history; `runId` picks a run of the ID (default: the latest). */
export async function readRunHistory(client: Client, workflowId: string, runId?: string): Promise<RunHistory> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  const history = await handle.fetchHistory();
  const converter = client.options.loadedDataConverter;
  const decodeFirst = async (payloads: unknown): Promise<unknown> =>
    (await decodeArrayFromPayloads(converter, payloads as Parameters<typeof decodeArrayFromPayloads>[1]))[0];

  const run: RunHistory = {
    workflowId,
    runId: description.runId,
    workflowType: description.type,
    startedAt: description.startTime,
    closedAt: description.closeTime ?? undefined,
    spec: undefined,
    steps: [],
    memo: (description.memo ?? {}) as Record<string, unknown>,
  };
  // Each child is known by the event that initiated it; its later events name that event's ID.
  const byInitiated = new Map<string, StepRecord>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId ?? '');
    if (e.workflowExecutionStartedEventAttributes) {
      run.spec = await decodeFirst(e.workflowExecutionStartedEventAttributes.input?.payloads);
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      const step = a.workflowType?.name;
      if (!isStep(step)) continue;
      const record: StepRecord = {
        step,
        childWorkflowId: a.workflowId ?? '',
        startedAt: eventDate(e),
        state: 'Running',
      };
      byInitiated.set(id, record);
      run.steps.push(record);
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      const a = e.childWorkflowExecutionCompletedEventAttributes;
      const record = byInitiated.get(String(a.initiatedEventId ?? ''));
      if (!record) continue;
      record.state = 'Completed';
      record.closedAt = eventDate(e);
      record.result = (await decodeFirst(a.result?.payloads)) as Record<string, unknown> | undefined;
    } else {
      const closed =
        (e.childWorkflowExecutionFailedEventAttributes &&
          (['Failed', e.childWorkflowExecutionFailedEventAttributes] as const)) ||
        (e.childWorkflowExecutionCanceledEventAttributes &&
          (['Canceled', e.childWorkflowExecutionCanceledEventAttributes] as const)) ||
        (e.childWorkflowExecutionTimedOutEventAttributes &&
          (['TimedOut', e.childWorkflowExecutionTimedOutEventAttributes] as const)) ||
        (e.childWorkflowExecutionTerminatedEventAttributes &&
          (['Terminated', e.childWorkflowExecutionTerminatedEventAttributes] as const));
      if (closed) {
        const record = byInitiated.get(String(closed[1].initiatedEventId ?? ''));
        if (!record) continue;
        record.state = closed[0];
        record.closedAt = eventDate(e);
        const failure = (
          closed[1] as { failure?: { message?: string | null; cause?: { message?: string | null } | null } }
        ).failure;
        if (failure) record.failure = failure.cause?.message ?? failure.message ?? undefined;
      } else if (e.workflowExecutionCompletedEventAttributes) {
        run.result = (await decodeFirst(e.workflowExecutionCompletedEventAttributes.result?.payloads)) as
          Record<string, unknown> | undefined;
      }
    }
  }
  return run;
}

/**
 * The step's latest record in the run (a step that ran again, after a failed attempt, has several), or its latest
 * in `state`. The report and `status` read step results through this one reader.
 */
export function latestStepRecord(
  run: RunHistory,
  step: PipelineStepName,
  state?: StepRecord['state'],
): StepRecord | undefined {
  return run.steps.filter((s) => s.step === step && (state === undefined || s.state === state)).at(-1);
}

/** The AWS resource names a step's result carries, under the keys `status` and the report use. */
export function stepResourceNames(result: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!result) return out;
  const pick = (key: string, as: string): void => {
    const v = result[key];
    if (typeof v === 'string' && v) out[as] = v;
  };
  pick('buildId', 'buildId');
  pick('trainingJobName', 'trainingJob');
  pick('tuningJobName', 'tuningJob');
  pick('processingJobName', 'processingJob');
  pick('transformJobName', 'transformJob');
  pick('modelPackageArn', 'modelPackageArn');
  pick('endpointName', 'endpointName');
  return out;
}

/** One line saying what a completed step produced, from its result (for `status` when no worker answers). */
export function stepOutcome(record: StepRecord): string {
  if (record.state !== 'Completed') return record.failure ? `${record.state}: ${record.failure}` : record.state;
  const r = record.result ?? {};
  const parts = Object.entries(stepResourceNames(r)).map(([k, v]) => `${k} ${v}`);
  if (typeof r.objectiveValue === 'number') parts.push(`objective ${r.objectiveValue}`);
  if (typeof r.evalNll === 'number') parts.push(`eval_nll ${r.evalNll}`);
  if (typeof r.approvalStatus === 'string') parts.push(String(r.approvalStatus));
  if (typeof r.imageUri === 'string') parts.push(`image ${r.imageUri}`);
  return `completed (from history${parts.length ? `: ${parts.join(', ')}` : ''})`;
}
