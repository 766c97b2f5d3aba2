/**
 * The worker side of contracts/liveness.ts: while an activity scheduled with the liveness heartbeat timeout runs,
 * heartbeat for it every few seconds. The heartbeats say only "this worker is alive"; when they stop (the worker was
 * killed), the server times the attempt out after LIVENESS_HEARTBEAT_TIMEOUT_S and retries it on another worker.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { LIVENESS_HEARTBEAT_TIMEOUT_S } from '../contracts/liveness';

/** A quarter of the timeout: three heartbeats may be lost or throttled before the server gives up on the worker. */
const INTERVAL_MS = (LIVENESS_HEARTBEAT_TIMEOUT_S * 1000) / 4;

/**
 * Whether the worker heartbeats for this activity: only those scheduled with the liveness timeout, which never
 * heartbeat progress themselves.
 */
export function wantsLivenessHeartbeats(ctx: Pick<Context, 'info'>): boolean {
  return ctx.info.heartbeatTimeoutMs === LIVENESS_HEARTBEAT_TIMEOUT_S * 1000;
}

/** The activity interceptor (registered by worker/worker-options.ts). */
export const livenessHeartbeats: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      if (!wantsLivenessHeartbeats(ctx)) return next(input);
      const timer = setInterval(() => ctx.heartbeat(), INTERVAL_MS);
      try {
        return await next(input);
      } finally {
        clearInterval(timer);
      }
    },
  },
});
