/**
 * How a step workflow surfaces an activity's failure as its own, so the parent sees the failure type, not a wrapper.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * An activity's failure of one of `types` as this workflow's own non-retryable failure (same type, message and
 * details, the activity failure as its cause); any other error is returned unchanged.
 */
export function asStepFailure(err: unknown, types: readonly string[]): unknown {
  if (
    err instanceof ActivityFailure &&
    err.cause instanceof ApplicationFailure &&
    types.includes(err.cause.type ?? '')
  ) {
    return ApplicationFailure.create({
      type: err.cause.type ?? undefined,
      message: err.cause.message,
      nonRetryable: true,
      details: err.cause.details ?? undefined,
      cause: err,
    });
  }
  return err;
}
