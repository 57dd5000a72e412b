/**
 * When a call happened, as the rules that decide with it may take it. A sender's `timestamp` is
 * stored as sent (audiences aggregate on it), but a clock far off, a queued call or a hostile one
 * must not decide consent or entry: one dated 9999 would lock a customer out of a journey with a
 * cool-down, a run of calls dated weeks apart would enter it once per cool-down in one minute,
 * and an identify replayed from a queue would undo a newer unsubscribe.
 *
 * The rule, in one place:
 * - nothing happened after it reached us: a time later than `receivedAt` is `receivedAt`;
 * - consent is ordered by when it happened (`happenedAt`): an older time stays as old as it is,
 *   because moving an old statement forward could let it overturn a newer one;
 * - entry, re-entry cool-downs and trigger conditions take `entryTime`: the same, but no earlier
 *   than ENTRY_MAX_PAST_MS before arrival, so late calls cannot spread entries over the past.
 *
 * Sandbox-safe: plain Date arithmetic on the values given, no clock.
 */

/** How far before its arrival a call may still count as happening, for entry and re-entry. */
export const ENTRY_MAX_PAST_MS = 24 * 60 * 60 * 1000;

/** `timestamp` (ISO), or `receivedAt` when the sender's time is later than the arrival or not a time. */
export function happenedAt(timestamp: string | undefined, receivedAt: string): string {
  const received = Date.parse(receivedAt);
  const stated = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  if (!Number.isFinite(received)) throw new RangeError(`receivedAt "${receivedAt}" is not a time`);
  return new Date(Number.isFinite(stated) && stated < received ? stated : received).toISOString();
}

/** The time entry and re-entry decide with: `happenedAt`, at most ENTRY_MAX_PAST_MS before arrival. */
export function entryTime(timestamp: string | undefined, receivedAt: string): string {
  const happened = Date.parse(happenedAt(timestamp, receivedAt));
  return new Date(Math.max(happened, Date.parse(receivedAt) - ENTRY_MAX_PAST_MS)).toISOString();
}
