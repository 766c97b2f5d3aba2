/**
 * Patch IDs of workflow changes that alter the commands a workflow emits: `patched(id)` is false when an execution
 * started before the change replays, so it keeps its old path (test/histories proves it).
 */

/** Rollback alarm periods must be whole minutes: a spec or deployModel input with 10 or 30 s now fails up front. */
export const ROLLBACK_PERIOD_WHOLE_MINUTES = 'rollback-period-whole-minutes';
