/**
 * Test doubles for the event API: a spy in front of the real SQLite LiveStore (so the tests see
 * what the store really kept), a router that records or fails, and the router loop that routes
 * what the API stored, as `unbroken start` runs one beside it.
 */
import type { EventRouter, EventStore } from '../../api/types';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { EventToRecord, LiveStore, RecordEventResult, StoredEvent } from '../../profiles/store';
import { RoutingLoop, type RoutingLoopOptions, type SweepResult } from '../../routing/loop';

type EventStoreMethod = keyof EventStore;

/** The SQLite store in memory, recording which EventStore methods ran and failing one on demand. */
export class SpyStore implements EventStore {
  readonly live: LiveStore = new SqliteProfileStore(':memory:');
  readonly calls: EventStoreMethod[] = [];
  /** Makes every call of that method throw, as a store that went away would. */
  failing?: EventStoreMethod;

  async resolveCustomer(ids: { userId?: string; anonymousId?: string }): Promise<string> {
    this.enter('resolveCustomer');
    return this.live.resolveCustomer(ids);
  }

  async recordEvents(events: readonly EventToRecord[]): Promise<RecordEventResult[]> {
    this.enter('recordEvents');
    return this.live.recordEvents(events);
  }

  /** The stored event with that messageId, looked up through the customer it belongs to. */
  async event(customerId: string, messageId: string): Promise<StoredEvent | undefined> {
    return (await this.live.eventsFor(customerId)).find((e) => e.messageId === messageId);
  }

  private enter(method: EventStoreMethod): void {
    this.calls.push(method);
    if (this.failing === method) throw new Error(`store unreachable (${method})`);
  }
}

/** Records routed events; `failWith` makes routing throw, `gate` holds it until released. */
export class FakeRouter implements EventRouter {
  readonly routed: StoredEvent[] = [];
  failWith?: Error;
  gate?: Promise<void>;

  async route(event: StoredEvent): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.routed.push(structuredClone(event));
  }
}

/**
 * A router loop over the spy's store, never started: the API wakes it (`accepted: () =>
 * loop.wake()`) and tests sweep it by hand. Warnings are dropped unless `warn` is given.
 */
export function routingLoop(store: SpyStore, router: EventRouter, options: Partial<RoutingLoopOptions> = {}): RoutingLoop {
  return new RoutingLoop({ store: store.live, router, warn: () => undefined, ...options });
}

/**
 * Routes everything stored so far. A sweep woken earlier may have claimed its last page before
 * the latest request stored its events, so this waits for it and then sweeps once more.
 */
export async function settle(loop: RoutingLoop): Promise<SweepResult> {
  await loop.sweep();
  return loop.sweep();
}
