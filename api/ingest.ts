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

/** How many customers of one batch are stored at the same time. */
export const BATCH_CONCURRENCY = 8;

/**
 * Stores calls. Calls of one customer (same userId, or same anonymousId when there is no userId)
 * are stored in the order sent, so the router sees them in that order; different customers of a
 * batch in parallel, up to BATCH_CONCURRENCY at once. An identify that links an anonymousId to a
 * userId can change which customer later calls belong to, so it is a barrier: everything before
 * it finishes first, and it runs alone. A store failure is reported (IngestUnavailableError) once
 * the calls in flight have settled; the client's retry finds what was stored as duplicates.
 */
export async function ingest(calls: readonly Call[], deps: IngestDeps): Promise<IngestResult> {
  await admit(calls, deps);
  const receivedAt = deps.now().toISOString();
  const stored: StoredEvent[] = [];
  let duplicates = 0;
  try {
    for (const segment of segments(calls)) {
      await storeLanes([...segment.values()], async (call) => {
        const event = await ingestOne(call, receivedAt, deps);
        if (event === undefined) duplicates += 1;
        else stored.push(event);
      });
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

/** Runs each lane's calls in order, lanes side by side; the first failure ends the rest and is thrown once all settled. */
async function storeLanes(lanes: Call[][], one: (call: Call) => Promise<void>): Promise<void> {
  let failure: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < lanes.length) {
      const lane = lanes[next++];
      for (const call of lane) {
        try {
          await one(call);
        } catch (err) {
          failure ??= err;
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, lanes.length) }, worker));
  if (failure !== undefined) throw failure;
}

/** Splits calls into runs between linking identifies; each run maps a customer key to its calls. */
function segments(calls: readonly Call[]): Map<string, Call[]>[] {
  const out: Map<string, Call[]>[] = [];
  let current = new Map<string, Call[]>();
  for (const call of calls) {
    const links = call.type === 'identify' && call.userId !== undefined && call.anonymousId !== undefined;
    if (links) {
      if (current.size) out.push(current);
      out.push(new Map([['link', [call]]]));
      current = new Map();
      continue;
    }
    const key = call.userId !== undefined ? `u:${call.userId}` : `a:${call.anonymousId}`;
    const lane = current.get(key);
    if (lane) lane.push(call);
    else current.set(key, [call]);
  }
  if (current.size) out.push(current);
  return out;
}

/**
 * Stores one call, in two round trips to the store: the customer's id, then the event (with an
 * identify's traits). Returns the stored event, or undefined for a duplicate.
 */
async function ingestOne(call: Call, receivedAt: string, deps: IngestDeps): Promise<StoredEvent | undefined> {
  const messageId = call.messageId ?? randomUUID();
  try {
    const customerId = await deps.store.resolveCustomer({ userId: call.userId, anonymousId: call.anonymousId });
    const stored = toStoredEvent(call, messageId, customerId, receivedAt);
    // Consent an identify states is ordered by when it happened, never later than it arrived (core/event-time.ts).
    const identify = call.type === 'identify' ? { traits: call.traits ?? {}, stated: { at: happenedAt(stored.timestamp, receivedAt), messageId } } : undefined;
    const recorded = await deps.store.recordEvent(stored, identify);
    return recorded.status === 'new' ? stored : undefined;
  } catch (error) {
    throw new IngestUnavailableError(messageId, error);
  }
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
