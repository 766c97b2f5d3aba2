/**
 * Activity retries of a pipeline run, read from Temporal's histories of the pipeline and of its step workflows:
 * an activity that completed (or failed) on attempt N was retried N-1 times (worker crash, timeout, throttling, 5xx).
 */
import { temporal } from '@temporalio/proto';
import { childWorkflowId } from '../../../contracts/names';
import { PIPELINE_STEPS } from '../../../contracts/pipeline-plan';
import type { LocalHarness } from '../../../testing/local-harness';

const EventType = temporal.api.enums.v1.EventType;

/** Retries of one run: total and by activity type. */
export interface RunRetries {
  retries: number;
  byActivity: Record<string, number>;
}

/** Sums retries over the pipeline workflow and each step's child workflow (the ones that ran). */
export async function runRetries(h: LocalHarness, workflowId: string): Promise<RunRetries> {
  const client = await h.client();
  const out: RunRetries = { retries: 0, byActivity: {} };
  for (const id of [workflowId, ...PIPELINE_STEPS.map((s) => childWorkflowId(workflowId, s))]) {
    let events: temporal.api.history.v1.IHistoryEvent[];
    try {
      events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    } catch {
      continue; // the step did not run
    }
    const typeOf = new Map<string, string>();
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        typeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const a = e.activityTaskStartedEventAttributes;
        const extra = (a?.attempt ?? 1) - 1;
        if (extra > 0) {
          const t = typeOf.get(String(a?.scheduledEventId)) ?? '?';
          out.byActivity[t] = (out.byActivity[t] ?? 0) + extra;
          out.retries += extra;
        }
      }
    }
  }
  return out;
}

/** `createTrainingJob x3, waitForEndpoint x1` (most retried first), or `none`. */
export function retriesCell(r: RunRetries): string {
  const parts = Object.entries(r.byActivity)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} x${n}`);
  return parts.length ? parts.join(', ') : 'none';
}
