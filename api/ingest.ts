/**
 * What happens to validated calls: identity resolution, storage with deduplication, profile
 * updates, routing into journeys. Kept apart from HTTP so it can be tested and benchmarked alone.
 */
import { randomUUID } from 'node:crypto';
import { happenedAt } from '../core/event-time';
import type { StoredEvent } from '../profiles/store';
import { log } from '../observability/log';
import { deadReason } from '../routing/redrive';
import { isUnavailable } from '../routing/router';
import type { Call } from './schemas';
import type { EventRouter, EventStore } from './types';

/** What `ingest` needs; `inFlight` is shared by all requests of one server. */
export interface IngestDeps {
  store: EventStore;
  router: EventRouter;
  now: () => Date;
  /** Deliveries being processed, by messageId; see `serialize`. Omit for a private one. */
  inFlight?: InFlight;
}

/** Counts of one `ingest` call. */
export interface IngestResult {
  /** Stored and routed now. */
  routed: number;
  /** Already routed by an earlier delivery, or being routed by another one or the re-driver; acknowledged, nothing done. */
  duplicates: number;
  /**
   * Stored, but routing failed for a reason other than an outage (the event itself cannot be
   * routed now). Acknowledged all the same: the event is durably stored, and the re-driver
   * routes it later or, after its last attempt, sets it aside where `unbroken dead-letters`
   * shows it. Failing the request instead would make the client retry it forever and hold up
   * every call behind it in a batch.
   */
  deferred: number;
}

/**
 * A dependency failed while ingesting; the client should retry the same request. Events before
 * `messageId` were fully handled; this one and the rest were not routed, so their redelivery
 * (same messageIds) is treated as new.
 */
export class IngestUnavailableError extends Error {
  override readonly name = 'IngestUnavailableError';

  constructor(
    /** Which dependency failed: the profile store or the journey router. */
    readonly stage: 'store' | 'route',
    readonly messageId: string,
    override readonly cause: unknown,
  ) {
    super(`${stage === 'store' ? 'the profile store' : 'journey routing'} failed for messageId ${messageId}: ${errorText(cause)}`);
  }
}

/** Deliveries in progress, by messageId. */
export type InFlight = Map<string, Promise<void>>;

/** Creates the registry of deliveries in progress that one server's requests share. */
export function createInFlight(): InFlight {
  return new Map();
}

/** How many customers of one batch are routed at the same time. */
export const BATCH_CONCURRENCY = 8;

/**
 * Stores and routes calls. Calls of one customer (same userId, or same anonymousId when there is
 * no userId) are handled in the order sent; different customers of a batch in parallel, up to
 * BATCH_CONCURRENCY at once, because routing waits on Temporal and a 500-call batch handled
 * one call after another would take as long as 500 requests. An identify that links an
 * anonymousId to a userId can change which customer later calls belong to, so it is a barrier:
 * everything before it finishes first, and it runs alone. Any dependency failure is reported
 * (IngestUnavailableError) once the calls in flight have settled; the client's retry of the
 * same batch finds what was done as duplicates and finishes the rest.
 */
export async function ingest(calls: readonly Call[], deps: IngestDeps): Promise<IngestResult> {
  const receivedAt = deps.now().toISOString();
  const inFlight = deps.inFlight ?? createInFlight();
  const result: IngestResult = { routed: 0, duplicates: 0, deferred: 0 };
  const one = async (call: Call): Promise<void> => {
    const messageId = call.messageId ?? randomUUID();
    const outcome = await serialize(inFlight, messageId, () => ingestOne(call, messageId, receivedAt, deps));
    result[outcome] += 1;
  };
  for (const segment of segments(calls)) {
    const lanes = [...segment.values()];
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
  return result;
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

async function ingestOne(call: Call, messageId: string, receivedAt: string, deps: IngestDeps): Promise<'routed' | 'duplicates' | 'deferred'> {
  const { store, router } = deps;
  const event = await atStage('store', messageId, async () => {
    const customerId = await store.resolveCustomer({ userId: call.userId, anonymousId: call.anonymousId });
    const stored = toStoredEvent(call, messageId, customerId, receivedAt);
    const recorded = await store.recordEvent(stored);
    // `routing`: another delivery or the re-driver holds the event and routes it.
    if (recorded.status !== 'new') return undefined;
    // Re-applied when a delivery whose routing failed is retried; merging the same traits again
    // leaves the profile as it was.
    // Consent it states is ordered by when it happened, never later than it arrived (core/event-time.ts).
    if (call.type === 'identify') await store.identify(customerId, call.traits ?? {}, { at: happenedAt(stored.timestamp, receivedAt), messageId });
    return stored;
  });
  if (event === undefined) return 'duplicates';
  const routed = await atStage('route', messageId, async () => {
    try {
      await router.route(event);
      return true;
    } catch (err) {
      // Free the event for the client's retry now rather than when its lease ends; should the
      // store be down too, the lease ends by itself and the re-driver routes the event.
      await store.releaseEvent(messageId).catch(() => undefined);
      // An outage: 503, the client retries. Anything else is this event's own problem: the
      // re-driver counts its attempts and sets it aside after the last (see IngestResult.deferred).
      if (isUnavailable(err)) throw err;
      log().warn({ messageId, customerId: event.customerId, error: deadReason(err) }, 'routing a stored event failed; it is acknowledged and left to the re-driver');
      return false;
    }
  });
  if (!routed) return 'deferred';
  // Only now is a redelivery a duplicate: had routing failed, the retry must route it.
  await atStage('store', messageId, () => store.markEventRouted(messageId));
  return 'routed';
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

async function atStage<T>(stage: 'store' | 'route', messageId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new IngestUnavailableError(stage, messageId, error);
  }
}

/**
 * Runs deliveries of the same messageId one after another. A client that times out and retries
 * while the first delivery is still routing would otherwise have both pass `recordEvent` as new
 * (it only reports duplicates once routed) and route the event twice. The retry now waits, then
 * finds the event routed and is acknowledged as a duplicate. Across processes (and against the
 * re-driver) the store's routing lease decides: a delivery that finds the event leased to another
 * is acknowledged without routing it (`recordEvent` answers `routing`).
 */
async function serialize<T>(inFlight: InFlight, key: string, work: () => Promise<T>): Promise<T> {
  const previous = inFlight.get(key);
  const run = (previous ?? Promise.resolve()).then(work);
  // The chain continues whether this delivery failed or not; the next one decides for itself.
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  inFlight.set(key, settled);
  try {
    return await run;
  } finally {
    // Forget the key unless a later delivery has queued behind this one.
    if (inFlight.get(key) === settled) inFlight.delete(key);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
