/**
 * Shared pieces of the heartbeating wait loops (CodeBuild builds, training jobs): a cancellable pause that keeps
 * heartbeating while it waits, so a long poll interval never outlives the activity's heartbeat timeout and a
 * cancellation (which Temporal only delivers through heartbeat responses) is noticed within seconds.
 */
import { Context } from '@temporalio/activity';
import { EVENT_WOKEN_WAITS } from '../contracts/job-events';
import { WAIT_HEARTBEAT_SLICE_S } from '../contracts/liveness';
import type { ActivityDeps } from './deps';

/** Longest stretch between two heartbeats while pausing. */
export const HEARTBEAT_SLICE_MS = WAIT_HEARTBEAT_SLICE_S * 1000;

/** Sleeps `ms` in slices, heartbeating `details` between them; rejects when the activity is cancelled. */
export async function pauseWithHeartbeat(deps: ActivityDeps, ms: number, details: unknown): Promise<void> {
  const ctx = Context.current();
  let left = ms;
  ctx.heartbeat(details);
  while (left > 0) {
    const slice = Math.min(left, HEARTBEAT_SLICE_MS);
    // An injected sleep (tests, benches) is raced with cancellation so it cannot hide a cancel request.
    await (deps.sleep ? Promise.race([deps.sleep(slice), ctx.cancelled]) : ctx.sleep(slice));
    left -= slice;
    ctx.heartbeat(details);
  }
}

/**
 * Polls until `step` returns a value: `step` describes the resource and heartbeats what it saw (so the operator
 * sees it in the UI, and a retried attempt can read it), and says `done: false` with the details to keep
 * heartbeating while there is nothing to report yet. With `pauseFirst` (what the caller last saw) it waits one
 * interval before the first call: a wait restarted right after a status change would otherwise describe at once
 * what the previous wait had just seen, one extra call per change.
 */
export async function pollUntil<T>(
  deps: ActivityDeps,
  intervalSeconds: number,
  step: () => Promise<{ done: true; value: T } | { done: false; details: unknown }>,
  options: { pauseFirst?: unknown } = {},
): Promise<T> {
  intervalSeconds = pollIntervalSeconds(deps, intervalSeconds);
  if (options.pauseFirst !== undefined && options.pauseFirst !== null)
    await pauseWithHeartbeat(deps, intervalSeconds * 1000, options.pauseFirst);
  for (;;) {
    const r = await step();
    if (r.done) return r.value;
    await pauseWithHeartbeat(deps, intervalSeconds * 1000, r.details);
  }
}

/**
 * The interval a poll really uses: with events configured, a wait that a `jobStateChanged` signal wakes
 * (EVENT_WOKEN_WAITS) polls only as the net for a lost event; everything else keeps `requested`.
 */
export function pollIntervalSeconds(deps: ActivityDeps, requested: number): number {
  const net = deps.eventNetIntervalSeconds;
  if (net === undefined) return requested;
  let activityType: string;
  try {
    activityType = Context.current().info.activityType;
  } catch {
    return requested;
  }
  return EVENT_WOKEN_WAITS.includes(activityType) ? Math.max(requested, net) : requested;
}

/**
 * Heartbeats when running inside an activity and does nothing otherwise, for helpers that are also called from
 * plain code (a CLI, a test) and that must keep a long activity alive while they work.
 */
export function heartbeatIfActivity(details?: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.heartbeat(details);
}

/** Logs a warning through the activity's logger (the worker log, with the workflow and activity IDs) when in one. */
export function warnIfActivity(message: string): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.log.warn(message);
}

/** The workflow ID of the activity running now, or null outside an activity (a CLI, a test). */
export function activityWorkflowId(): string | null {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? null;
  } catch {
    return null;
  }
}
