/** Contracts between the event API and the parts it drives (profile store, journey routing). */
import type { PartHealth } from '../health/probes';
import type { LiveStore, StoredEvent } from '../profiles/store';

/** Hands stored events to journeys; routing/ implements it with Temporal signal-with-start. */
export interface EventRouter {
  /** Called by the router loop for each accepted event, in order per customer (customerId already resolved). */
  route(event: StoredEvent): Promise<void>;
}

/**
 * The part of the live store the API uses. Any `LiveStore` fits; naming the subset keeps test
 * doubles and benchmarks honest about what ingestion touches.
 */
export type EventStore = Pick<LiveStore, 'resolveCustomer' | 'recordEvents'>;

/**
 * Result of `GET /readyz`'s probe: overall state and each part (store, temporal, smtp, worker) by
 * name, as health/probes.ts reports them, or the older form with one line per part (`ok` or why
 * not). The API answers with both forms, whichever it was given.
 */
export type ReadyReport = { ok: boolean; parts: Record<string, PartHealth> } | { ok: boolean; checks: Record<string, string> };
