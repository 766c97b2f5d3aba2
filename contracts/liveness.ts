/**
 * Liveness heartbeats for quick activities (single AWS calls that report no progress of their own). The workflow
 * schedules them with this heartbeat timeout and the worker heartbeats for them while they run
 * (worker/liveness-heartbeat.ts), so a killed worker's call is retried elsewhere after 20 s instead of after its
 * 2-minute start-to-close timeout. Activities that heartbeat their own progress use other timeouts and are left alone.
 */
export const LIVENESS_HEARTBEAT_TIMEOUT_S = 20;

/**
 * How often a waiting activity heartbeats, whatever its poll interval: it pauses between polls in slices of this
 * length (activities/polling.ts).
 */
export const WAIT_HEARTBEAT_SLICE_S = 10;

/** Heartbeat timeout of the waits: three missed slices, so a wait lost with its worker resumes elsewhere in 30 s. */
export const WAIT_HEARTBEAT_TIMEOUT_S = 3 * WAIT_HEARTBEAT_SLICE_S;
