/**
 * Test doubles for the event API: a spy in front of the real SQLite LiveStore (so the tests see
 * what the store really kept) and a router that records or fails.
 */
import type { EventRouter, EventStore } from '../../api/types';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { LiveStore, Profile, RecordEventResult, StatementOrigin, StoredEvent } from '../../profiles/store';

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

  async recordEvent(event: StoredEvent): Promise<RecordEventResult> {
    this.enter('recordEvent');
    return this.live.recordEvent(event);
  }

  async markEventRouted(messageId: string): Promise<void> {
    this.enter('markEventRouted');
    return this.live.markEventRouted(messageId);
  }

  async releaseEvent(messageId: string): Promise<void> {
    this.enter('releaseEvent');
    return this.live.releaseEvent(messageId);
  }

  async identify(id: string, traits: Record<string, unknown>, stated?: StatementOrigin): Promise<Profile> {
    this.enter('identify');
    return this.live.identify(id, traits, stated);
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
