/**
 * Patch ids of interpreter changes that emit different commands than before. Each stays until no
 * run started before it can still be in flight (then `deprecatePatch`, then removal).
 */

/** A send whose retries ran out is skipped instead of failing the journey. */
export const SEND_RETRIES_EXHAUSTED_SKIPS = 'send-retries-exhausted-skips';

/**
 * Entries that signals add to the timeline (events, identifies) are recorded in the store too,
 * by a local activity (a marker in the history, no extra activity task per signal).
 */
export const SIGNAL_ENTRIES_RECORDED = 'signal-entries-recorded-locally';

/**
 * `wait_until: { date }` reads dates without an offset on the customer's clock, follows a date
 * that changes while the customer waits (an identify wakes the wait; the profile is read again
 * when the timer fires), and ends the journey on a missing or invalid date unless the step says
 * `on_invalid: continue`. Runs that reached a dated wait before keep skipping as they did.
 */
export const DATED_WAITS_FOLLOW_THE_PROFILE = 'dated-waits-follow-the-profile';

/**
 * An `if` with `in_audience` or `events.*` reads the customer's event aggregates first (the
 * `loadAggregates` activity). Plans compiled before audiences existed never reach the read.
 */
export const IF_READS_EVENT_AGGREGATES = 'if-reads-event-aggregates';

/**
 * An event or identify signal whose messageId the run has heard already is dropped. The router
 * loop may deliver an event twice (it crashed after signalling, before marking the event routed);
 * runs started before this heard such a repeat as a new event and keep doing so on replay.
 */
export const SIGNALS_DEDUPED_BY_MESSAGE_ID = 'signals-deduped-by-message-id';

/**
 * The timeline records of the journey's own flow (entered, sent, waited, branched, …) are kept
 * and written together by one local activity (`recordSteps`) whenever the run is about to wait
 * and when it ends, and a signal's entry goes with them: a marker per wait in the history instead
 * of an activity task's round trip through the server per step. Asked once, when the run starts;
 * runs started before keep their scheduled `recordStep` activities on replay.
 */
export const FLOW_RECORDS_BATCHED = 'flow-records-batched';

/**
 * The records of a send's and a profile update's outcome are stored by that activity itself, and
 * the flow's records kept before it ride along in its input (activities/types.ts RidingRecords):
 * no local activity at a wait that follows such a step, and the record is exact whatever crashes
 * between the work and the record. Asked once, when the run starts, instead of
 * FLOW_RECORDS_BATCHED (which it extends); runs started before keep their local batches at waits.
 */
export const RECORDS_RIDE_ON_ACTIVITIES = 'records-ride-on-activities';
