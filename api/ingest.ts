/**
 * What happens to validated calls: identity resolution and storage with deduplication (an
 * identify's traits in the same transaction). That is all a request waits for: once an event is
 * stored it is accepted, and the router loop (routing/loop.ts) routes it into journeys. Kept apart
 * from HTTP so it can be tested and benchmarked alone.
 */
import { randomUUID } from 'node:crypto';
import { happenedAt } from '../core/event-time';
import type { StoredEvent } from '../profiles/store';
import { BacklogFullError, type BacklogGuard } from './backlog';
import type { Call } from './schemas';
import type { EventStore } from './types';

/** What `ingest` needs. */
export interface IngestDeps {
  store: EventStore;
  now: () => Date;
  /** Told of the events a call stored (metrics, and waking the router loop of this process). */
  accepted?: (events: readonly StoredEvent[]) => void;
  /** Refuses calls while too many accepted events wait to be routed; absent: no limit. */
  backlog?: BacklogGuard;
}

/** Counts of one `ingest` call. */
export interface IngestResult {
  /** Stored now; the router loop routes them. */
  accepted: number;
  /** Stored by an earlier delivery (same messageId); acknowledged, nothing done. */
  duplicates: number;
}

/**
 * The store failed while ingesting; the client should retry the same request. Calls before
 * `messageId` were stored; this one and the rest were not, so their redelivery (same messageIds)
 * is stored then, and the stored ones are acknowledged as duplicates.
 */
export class IngestUnavailableError extends Error {
  override readonly name = 'IngestUnavailableError';
  readonly stage = 'store';

  constructor(
    readonly messageId: string,
    override readonly cause: unknown,
  ) {
    super(`the profile store failed for messageId ${messageId}: ${errorText(cause)}`);
  }
}

/**
 * Stores calls, in segments split at identifies that link an anonymousId to a userId: a link can
 * change which customer the calls after it belong to, so it is stored on its own, after all before
 * it. A segment's customers are resolved, then its events are stored in one store call (one
 * transaction: all or none) in the order sent, so the router sees each customer's events in that
 * order. A store failure is reported (IngestUnavailableError, naming the failed segment's first
 * messageId); the segments before it are stored, and the client's retry finds them as duplicates.
 */
export async function ingest(calls: readonly Call[], deps: IngestDeps): Promise<IngestResult> {
  await admit(calls, deps);
  const receivedAt = deps.now().toISOString();
  const stored: StoredEvent[] = [];
  let duplicates = 0;
  try {
    for (const segment of segments(calls)) {
      for (const event of await storeSegment(segment, receivedAt, deps)) {
        if (event === undefined) duplicates += 1;
        else stored.push(event);
      }
    }
  } finally {
    // Also after a failure: what was stored before it is accepted and must be routed.
    if (stored.length > 0) {
      deps.backlog?.accepted(stored.length);
      deps.accepted?.(stored);
    }
  }
  return { accepted: stored.length, duplicates };
}

/** Refuses the calls while the backlog is full; a store that cannot count it is a store outage (503, retry). */
async function admit(calls: readonly Call[], deps: IngestDeps): Promise<void> {
  try {
    await deps.backlog?.admit(calls.length);
  } catch (error) {
    if (error instanceof BacklogFullError) throw error;
    throw new IngestUnavailableError(calls[0]?.messageId ?? '(none yet)', error);
  }
}

/** Splits calls into runs between linking identifies, each link a run of its own; order kept. */
function segments(calls: readonly Call[]): Call[][] {
  const out: Call[][] = [];
  let current: Call[] = [];
  for (const call of calls) {
    if (call.type === 'identify' && call.userId !== undefined && call.anonymousId !== undefined) {
      if (current.length) out.push(current);
      out.push([call]);
      current = [];
    } else {
      current.push(call);
    }
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * Stores one segment: its customers' ids (each customer resolved once), then its events (an
 * identify with its traits) in one store call. Per call, the stored event, or undefined for a
 * duplicate.
 */
async function storeSegment(calls: readonly Call[], receivedAt: string, deps: IngestDeps): Promise<(StoredEvent | undefined)[]> {
  const messageIds = calls.map((call) => call.messageId ?? randomUUID());
  try {
    const customerIds = await resolveCustomers(calls, deps.store);
    const items = calls.map((call, i) => {
      const event = toStoredEvent(call, messageIds[i], customerIds[i], receivedAt);
      // Consent an identify states is ordered by when it happened, never later than it arrived (core/event-time.ts).
      if (call.type !== 'identify') return { event };
      return { event, identify: { traits: call.traits ?? {}, stated: { at: happenedAt(event.timestamp, receivedAt), messageId: messageIds[i] } } };
    });
    const results = await deps.store.recordEvents(items);
    return items.map((item, i) => (results[i].status === 'new' ? item.event : undefined));
  } catch (error) {
    throw new IngestUnavailableError(messageIds[0], error);
  }
}

/**
 * Each call's customer id; calls naming the same ids share one lookup, different ones run side by
 * side. Calls with a userId come first: one that also names an anonymousId links it (and moves
 * what was stored under it), so the anonymous calls of the same segment, read after, resolve to
 * the user too and are stored under the user, in the order sent, never left behind the link.
 */
async function resolveCustomers(calls: readonly Call[], store: EventStore): Promise<string[]> {
  const lookups = new Map<string, Promise<string>>();
  const resolve = (call: Call) => {
    const key = JSON.stringify([call.userId ?? null, call.anonymousId ?? null]);
    let lookup = lookups.get(key);
    if (lookup === undefined) lookups.set(key, (lookup = store.resolveCustomer({ userId: call.userId, anonymousId: call.anonymousId })));
    return lookup;
  };
  const users = await Promise.all(calls.map((call) => (call.userId !== undefined ? resolve(call) : undefined)));
  return Promise.all(calls.map((call, i) => users[i] ?? resolve(call)));
}

/** The stored form of a call; fields the sender left out stay absent. */
export function toStoredEvent(call: Call, messageId: string, customerId: string, receivedAt: string): StoredEvent {
  const event: StoredEvent = {
    messageId,
    type: call.type,
    customerId,
    // Normalised to UTC so stored timestamps compare as strings.
    timestamp: call.timestamp === undefined ? receivedAt : new Date(call.timestamp).toISOString(),
    receivedAt,
  };
  if (call.userId !== undefined) event.userId = call.userId;
  if (call.anonymousId !== undefined) event.anonymousId = call.anonymousId;
  if (call.context !== undefined) event.context = call.context;
  if (call.type === 'track') {
    event.event = call.event;
    if (call.properties !== undefined) event.properties = call.properties;
  } else if (call.traits !== undefined) {
    event.traits = call.traits;
  }
  return event;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
