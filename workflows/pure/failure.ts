/** How an error thrown inside the journey reads in the timeline and whether it may be retried. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

/** The message a person should see: an activity's own error rather than Temporal's wrapper. */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** True when an activity failed with an error it declared permanent (a bad address, an SMTP 5xx). */
export function isPermanentActivityFailure(err: unknown): err is ActivityFailure {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable === true;
}
