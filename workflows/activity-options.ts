/**
 * Activity proxies with the project's timeouts and retry schedule (backoff, no attempt limit; the timeouts bound a
 * retried call). Which failure types are not retried, and the types whose retry depends on the attempt (a quota wait's
 * pacing, an unknown AWS code's limit), come from contracts/errors.ts; see docs/retries.md. The timeouts are set here,
 * once per kind of call: call sites add only what differs per call (a summary, a create's cancellation type), since
 * per-call options are merged over the proxy's.
 */
import {
  proxyActivities,
  type ActivityInterfaceFor,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../contracts/errors';
import { LIVENESS_HEARTBEAT_TIMEOUT_S, WAIT_HEARTBEAT_TIMEOUT_S } from '../contracts/liveness';

/** Every activity this project registers. */
export type Activities = ReturnType<typeof createActivities>;
/** The workflow-side proxy of the activities (each also has `executeWithOptions`). */
export type ActivityProxy = ActivityInterfaceFor<Activities>;

/**
 * Every retryable failure is retried without an attempt limit, with this backoff, unless the failure names its own
 * next delay (CapacityWait: contracts/errors.ts `retryAfter`, which Temporal applies above maximumInterval) or is
 * non-retryable (the listed types at once; AwsUnrecognized and an unsized quota wait after a few attempts).
 */
export const RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Quick AWS calls (create, describe, tag). The worker heartbeats for them (contracts/liveness.ts), so a call lost with
 * its worker is retried after the heartbeat timeout; start-to-close still bounds a call that hangs.
 */
export function quickActivities(): ActivityProxy {
  return proxyActivities<Activities>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: `${LIVENESS_HEARTBEAT_TIMEOUT_S}s`,
    retry: RETRY,
  });
}

/** Long work that heartbeats (uploads, data sync). */
export function longActivities(startToCloseTimeout: ActivityOptions['startToCloseTimeout']): ActivityProxy {
  return proxyActivities<Activities>({ startToCloseTimeout, heartbeatTimeout: '2m', retry: RETRY });
}

/**
 * Waits on an AWS job from a heartbeating polling activity: no history is added per poll, and a worker crash
 * is noticed after the heartbeat timeout, when another worker resumes the poll. The waits heartbeat every 10 s
 * whatever the poll interval, so the timeout does not grow with it (contracts/liveness.ts). A wait may run for the
 * job's longest life (`maxWaitSeconds`) plus `slackSeconds`.
 */
export function waitingActivities(maxWaitSeconds: number, slackSeconds = 6 * 3600): ActivityProxy {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${maxWaitSeconds + slackSeconds}s`,
    heartbeatTimeout: `${WAIT_HEARTBEAT_TIMEOUT_S}s`,
    retry: RETRY,
  });
}

/** Retry-as-poll: the activity fails retryably until the awaited condition holds; retries add no history. */
export function pollingActivities(pollIntervalSeconds: number, maxWaitSeconds: number): ActivityProxy {
  return proxyActivities<Activities>({
    startToCloseTimeout: '1m',
    heartbeatTimeout: `${LIVENESS_HEARTBEAT_TIMEOUT_S}s`,
    scheduleToCloseTimeout: `${maxWaitSeconds}s`,
    retry: {
      ...RETRY,
      initialInterval: `${pollIntervalSeconds}s`,
      backoffCoefficient: 1,
      maximumInterval: `${pollIntervalSeconds}s`,
    },
  });
}
