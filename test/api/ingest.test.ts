import { BacklogFullError, BacklogGuard } from '../../api/backlog';
import { ingest, IngestUnavailableError } from '../../api/ingest';
import type { Call } from '../../api/schemas';
import type { StoredEvent } from '../../profiles/store';
import { FakeRouter, routingLoop, SpyStore } from './fakes';

const now = () => new Date('2024-05-01T12:00:00.000Z');
const stores: SpyStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.live.close();
});

function spyStore(): SpyStore {
  const store = new SpyStore();
  stores.push(store);
  return store;
}

describe('ingest', () => {
  it('stores calls, an identify with its traits, counts accepted calls and duplicates, and routes nothing itself', async () => {
    const store = spyStore();
    const accepted: StoredEvent[][] = [];
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
      { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm2' },
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
    ];
    await expect(ingest(calls, { store, now, accepted: (events) => accepted.push([...events]) })).resolves.toEqual({ accepted: 2, duplicates: 1 });
    expect(accepted.map((events) => events.map((e) => e.messageId))).toEqual([['m1', 'm2']]);
    expect((await store.live.eventsFor('u1')).map((e) => [e.messageId, e.routedAt])).toEqual([
      ['m1', undefined],
      ['m2', undefined],
    ]);
    expect(await store.live.getProfile('u1')).toMatchObject({ plan: 'pro' });
    expect(await store.live.routingBacklog()).toMatchObject({ events: 2 });
  });

  it('reports a store failure with the messageId it stopped at, and still tells of what it stored before', async () => {
    const store = spyStore();
    const accepted: string[] = [];
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
      { type: 'track', userId: 'u1', event: 'b', messageId: 'm2' },
    ];
    const record = store.recordEvent.bind(store);
    store.recordEvent = async (event, identify) => {
      if (event.messageId === 'm2') throw new Error('database is locked');
      return record(event, identify);
    };
    const failure = ingest(calls, { store, now, accepted: (events) => accepted.push(...events.map((e) => e.messageId)) });
    await expect(failure).rejects.toBeInstanceOf(IngestUnavailableError);
    await expect(failure).rejects.toMatchObject({ stage: 'store', messageId: 'm2', message: 'the profile store failed for messageId m2: database is locked' });
    // m1 is stored and must be routed: the router loop is told of it.
    expect(accepted).toEqual(['m1']);
  });

  it('refuses the whole call while the backlog is full, storing nothing', async () => {
    const store = spyStore();
    await ingest([{ type: 'track', userId: 'u1', event: 'a', messageId: 'm1' }], { store, now });
    const backlog = new BacklogGuard({ limit: 2, ttlMs: 0, count: async () => (await store.live.routingBacklog()).events });
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'b', messageId: 'm2' },
      { type: 'track', userId: 'u2', event: 'b', messageId: 'm3' },
    ];
    const refused = ingest(calls, { store, now, backlog });
    await expect(refused).rejects.toBeInstanceOf(BacklogFullError);
    await expect(refused).rejects.toMatchObject({ waiting: 1, limit: 2, retryAfterSec: 5 });
    expect((await store.live.routingBacklog()).events).toBe(1);
    await expect(ingest(calls.slice(0, 1), { store, now, backlog })).resolves.toEqual({ accepted: 1, duplicates: 0 });
  });

  it('stores different customers of a batch in parallel, keeps each customer in order, and lets a linking identify run alone; the loop routes each customer in that order', async () => {
    const store = spyStore();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const record = store.recordEvent.bind(store);
    store.recordEvent = async (event, identify) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${event.messageId}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push(`end ${event.messageId}`);
      active -= 1;
      return record(event, identify);
    };
    // Every call of the batch has the same timestamp: only the order they were stored in orders them.
    const calls: Call[] = [
      { type: 'track', userId: 'a', event: 'e', messageId: 'a1' },
      { type: 'track', userId: 'b', event: 'e', messageId: 'b1' },
      { type: 'track', userId: 'a', event: 'e', messageId: 'a2' },
      { type: 'track', anonymousId: 'anon', event: 'e', messageId: 'n1' },
      { type: 'identify', userId: 'c', anonymousId: 'anon', traits: {}, messageId: 'link' },
      { type: 'track', userId: 'c', event: 'e', messageId: 'c1' },
    ];
    await expect(ingest(calls, { store, now })).resolves.toEqual({ accepted: 6, duplicates: 0 });
    expect(maxActive).toBeGreaterThan(1);
    const at = (entry: string) => log.indexOf(entry);
    expect(at('start a2')).toBeGreaterThan(at('end a1'));
    // Everything before the linking identify has finished before it starts, and it runs alone.
    for (const id of ['a1', 'a2', 'b1', 'n1']) expect(at(`end ${id}`)).toBeLessThan(at('start link'));
    expect(at('start c1')).toBeGreaterThan(at('end link'));

    const router = new FakeRouter();
    await routingLoop(store, router).sweep();
    const routedFor = (customerId: string) => router.routed.filter((e) => e.customerId === customerId).map((e) => e.messageId);
    expect(routedFor('a')).toEqual(['a1', 'a2']);
    expect(routedFor('b')).toEqual(['b1']);
    expect(routedFor('c')).toEqual(['n1', 'link', 'c1']);
  });
});
