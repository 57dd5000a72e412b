import { ingest, IngestUnavailableError } from '../../api/ingest';
import type { Call } from '../../api/schemas';
import { FakeRouter, SpyStore } from './fakes';

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
  it('counts routed calls and duplicates without any HTTP around it', async () => {
    const store = spyStore();
    const router = new FakeRouter();
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
      { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm2' },
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
    ];
    await expect(ingest(calls, { store, router, now })).resolves.toEqual({ routed: 2, duplicates: 1, deferred: 0 });
    expect(router.routed.map((e) => e.messageId)).toEqual(['m1', 'm2']);
  });

  it('reports which dependency failed and for which messageId', async () => {
    const store = spyStore();
    const router = new FakeRouter();
    router.failWith = new Error('14 UNAVAILABLE: temporal down');
    const failure = ingest([{ type: 'track', userId: 'u1', event: 'a', messageId: 'm1' }], { store, router, now });
    await expect(failure).rejects.toBeInstanceOf(IngestUnavailableError);
    await expect(failure).rejects.toMatchObject({ stage: 'route', messageId: 'm1', message: 'journey routing failed for messageId m1: 14 UNAVAILABLE: temporal down' });
  });

  it('acknowledges a call whose routing fails for a reason other than an outage, leaving it stored and unrouted for the re-driver', async () => {
    const store = spyStore();
    const router = new FakeRouter();
    router.failWith = new TypeError('a bug');
    const calls: Call[] = [
      { type: 'track', userId: 'u1', event: 'a', messageId: 'm1' },
      { type: 'track', userId: 'u1', event: 'b', messageId: 'm2' },
    ];
    await expect(ingest(calls, { store, router, now })).resolves.toEqual({ routed: 0, duplicates: 0, deferred: 2 });
    expect((await store.live.eventsFor('u1')).map((e) => [e.messageId, e.routedAt])).toEqual([
      ['m1', undefined],
      ['m2', undefined],
    ]);
  });

  it('routes different customers of a batch in parallel, keeps each customer in order, and lets a linking identify run alone', async () => {
    const store = spyStore();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const router = {
      async route(event: { messageId: string }) {
        active += 1;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${event.messageId}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        log.push(`end ${event.messageId}`);
        active -= 1;
      },
    };
    const calls: Call[] = [
      { type: 'track', userId: 'a', event: 'e', messageId: 'a1' },
      { type: 'track', userId: 'b', event: 'e', messageId: 'b1' },
      { type: 'track', userId: 'a', event: 'e', messageId: 'a2' },
      { type: 'track', anonymousId: 'anon', event: 'e', messageId: 'n1' },
      { type: 'identify', userId: 'c', anonymousId: 'anon', traits: {}, messageId: 'link' },
      { type: 'track', userId: 'c', event: 'e', messageId: 'c1' },
    ];
    await expect(ingest(calls, { store, router, now })).resolves.toEqual({ routed: 6, duplicates: 0, deferred: 0 });
    expect(maxActive).toBeGreaterThan(1);
    const at = (entry: string) => log.indexOf(entry);
    expect(at('start a2')).toBeGreaterThan(at('end a1'));
    // Everything before the linking identify has finished before it starts, and it runs alone.
    for (const id of ['a1', 'a2', 'b1', 'n1']) expect(at(`end ${id}`)).toBeLessThan(at('start link'));
    expect(at('start c1')).toBeGreaterThan(at('end link'));
  });
});
