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

  it('reports a store failure naming the first messageId of the part it could not store, and still tells of the parts stored before', async () => {
    const store = spyStore();
    const accepted: string[] = [];
    // The linking identify splits the batch: m1, then the link, then m3 and m4 together.
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
      { type: 'identify', userId: 'u1', anonymousId: 'anon', traits: {}, messageId: 'link' },
      { type: 'track', userId: 'u1', event: 'b', messageId: 'm3' },
      { type: 'track', userId: 'u1', event: 'c', messageId: 'm4' },
    ];
    const record = store.recordEvents.bind(store);
    store.recordEvents = async (events) => {
      if (events.some((e) => e.event.messageId === 'm4')) throw new Error('database is locked');
      return record(events);
    };
    const failure = ingest(calls, { store, now, accepted: (events) => accepted.push(...events.map((e) => e.messageId)) });
    await expect(failure).rejects.toBeInstanceOf(IngestUnavailableError);
    await expect(failure).rejects.toMatchObject({ stage: 'store', messageId: 'm3', message: 'the profile store failed for messageId m3: database is locked' });
    // m1 and the link are stored and must be routed: the router loop is told of them; m3 went with m4.
    expect(accepted).toEqual(['m1', 'link']);
    expect((await store.live.eventsFor('u1')).map((e) => e.messageId)).toEqual(['m1', 'link']);
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

  it('a track naming a userId and a new anonymousId links them, and the anonymous calls around it in the batch are stored under the user, in order', async () => {
    const store = spyStore();
    const calls: Call[] = [
      { type: 'track', anonymousId: 'anon', event: 'viewed', messageId: 'n1' },
      { type: 'track', userId: 'u1', anonymousId: 'anon', event: 'signed_in', messageId: 'p1' },
      { type: 'track', anonymousId: 'anon', event: 'viewed', messageId: 'n2' },
    ];
    await expect(ingest(calls, { store, now })).resolves.toEqual({ accepted: 3, duplicates: 0 });
    expect((await store.live.eventsFor('u1')).map((e) => [e.messageId, e.customerId])).toEqual([
      ['n1', 'u1'],
      ['p1', 'u1'],
      ['n2', 'u1'],
    ]);
    const router = new FakeRouter();
    await routingLoop(store, router).sweep();
    expect(router.routed.map((e) => [e.messageId, e.customerId])).toEqual([
      ['n1', 'u1'],
      ['p1', 'u1'],
      ['n2', 'u1'],
    ]);
  });

  it('stores a batch in one store call per part between linking identifies, each customer in the order sent; the loop routes each customer in that order', async () => {
    const store = spyStore();
    const parts: string[][] = [];
    const record = store.recordEvents.bind(store);
    store.recordEvents = async (events) => {
      parts.push(events.map((e) => e.event.messageId));
      return record(events);
    };
    // Every call of the batch has the same timestamp: only the order they were stored in orders them.
    const calls: Call[] = [
      { type: 'track', userId: 'a', event: 'e', messageId: 'a1' },
      { type: 'track', userId: 'b', event: 'e', messageId: 'b1' },
      { type: 'identify', userId: 'a', traits: { plan: 'pro' }, messageId: 'a2' },
      { type: 'track', userId: 'a', event: 'e', messageId: 'a3' },
      { type: 'track', anonymousId: 'anon', event: 'e', messageId: 'n1' },
      { type: 'identify', userId: 'c', anonymousId: 'anon', traits: {}, messageId: 'link' },
      { type: 'track', userId: 'c', event: 'e', messageId: 'c1' },
      { type: 'track', userId: 'b', event: 'e', messageId: 'b1' },
    ];
    await expect(ingest(calls, { store, now })).resolves.toEqual({ accepted: 7, duplicates: 1 });
    expect(parts).toEqual([['a1', 'b1', 'a2', 'a3', 'n1'], ['link'], ['c1', 'b1']]);
    expect(await store.live.getProfile('a')).toMatchObject({ plan: 'pro' });

    const router = new FakeRouter();
    await routingLoop(store, router).sweep();
    const routedFor = (customerId: string) => router.routed.filter((e) => e.customerId === customerId).map((e) => e.messageId);
    expect(routedFor('a')).toEqual(['a1', 'a2', 'a3']);
    expect(routedFor('b')).toEqual(['b1']);
    expect(routedFor('c')).toEqual(['n1', 'link', 'c1']);
  });
});
