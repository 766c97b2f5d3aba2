/**
 * Replays event histories against workflow code and explains each failure: which history, and which event of it the
 * code no longer agrees with. One engine for the kept histories (test/replay), the non-determinism test and
 * `npm run cli -- replay` against a cluster.
 */
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * One history to replay: `name` identifies it in results (a file, or `<workflowId> <runId>`); `workflowId` is the ID
 * the run had, which the replayed code sees (the pipeline derives its children's IDs from it).
 */
export interface NamedHistory {
  name: string;
  workflowId: string;
  history: History;
}

/** The outcome of replaying one history. */
export interface ReplayOutcome {
  name: string;
  workflowType: string;
  ok: boolean;
  /** The SDK's error, followed by the history event it names (type and what it scheduled or started). */
  error?: string;
}

/** The workflow code to replay against: source (plus bundler options) or a prebuilt bundle, and a data converter. */
export type ReplaySource = Pick<
  ReplayWorkerOptions,
  'workflowsPath' | 'workflowBundle' | 'bundlerOptions' | 'dataConverter' | 'interceptors'
>;

/** The workflow type a history starts. */
export function historyWorkflowType(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}

const EVENT_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(temporal.api.enums.v1.EventType).map(([name, value]) => [value, name]),
);
function eventTypeName(e: HistoryEvent): string {
  const t = e.eventType;
  if (typeof t === 'string') return t;
  if (t === null || t === undefined) return 'unknown';
  return EVENT_TYPE_NAMES[t] ?? String(t);
}

/** A one-line description of an event: its ID, type, and the activity, child workflow, timer or marker it concerns. */
export function describeEvent(e: HistoryEvent): string {
  const what =
    e.activityTaskScheduledEventAttributes?.activityType?.name ??
    e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ??
    e.markerRecordedEventAttributes?.markerName ??
    e.timerStartedEventAttributes?.timerId ??
    e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ??
    undefined;
  const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  return `event ${String(e.eventId)} ${eventTypeName(e)}${what ? ` (${what}${child ? ` ${child}` : ''})` : ''}`;
}

/** Finds the events a determinism error refers to: by event ID, or by the child workflow ID / activity it quotes. */
function referencedEvents(history: History, message: string): HistoryEvent[] {
  const events = history.events ?? [];
  const found: HistoryEvent[] = [];
  const add = (e: HistoryEvent | undefined) => {
    if (e && !found.includes(e)) found.push(e);
  };
  for (const m of message.matchAll(/event(?:[ _]?id)?\W{0,3}(\d+)/gi))
    add(events.find((e) => String(e.eventId) === m[1]));
  // "Child workflow id of scheduled event 'x' does not match ..." names the event by what it started.
  const scheduled = /scheduled event '([^']+)'/i.exec(message)?.[1];
  if (scheduled !== undefined)
    add(
      events.find(
        (e) =>
          e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === scheduled ||
          e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === scheduled ||
          e.activityTaskScheduledEventAttributes?.activityId === scheduled ||
          e.activityTaskScheduledEventAttributes?.activityType?.name === scheduled ||
          e.timerStartedEventAttributes?.timerId === scheduled,
      ),
    );
  return found;
}

/** The SDK's determinism message (its TMPRL line when there is one) with the history events it refers to. */
export function explainReplayError(history: History, message: string): string {
  const core = /\[TMPRL\d+\][^"]*/.exec(message)?.[0]?.replace(/\\'/g, "'") ?? message;
  const events = referencedEvents(history, core);
  return events.length ? `${core}; at history ${events.map(describeEvent).join(', ')}` : core;
}

/** Replays every history against `source`, yielding one outcome per history in input order. */
export async function* replayHistories(
  histories: NamedHistory[],
  source: ReplaySource,
  replayName = 'replay',
): AsyncGenerator<ReplayOutcome> {
  const results = Worker.runReplayHistories(
    { ...source, replayName },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  // The SDK replays one history at a time, in order, and yields one result per history.
  let i = 0;
  for await (const r of results) {
    const h = histories[i++] as NamedHistory;
    yield {
      name: h.name,
      workflowType: historyWorkflowType(h.history),
      ok: !r.error,
      error: r.error ? explainReplayError(h.history, r.error.message) : undefined,
    };
  }
}
