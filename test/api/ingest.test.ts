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
    await expect(ingest(calls, { store, router, now })).resolves.toEqual({ routed: 2, duplicates: 1 });
    expect(router.routed.map((e) => e.messageId)).toEqual(['m1', 'm2']);
  });

  it('reports which dependency failed and for which messageId', async () => {
    const store = spyStore();
    const router = new FakeRouter();
    router.failWith = new Error('temporal down');
    const failure = ingest([{ type: 'track', userId: 'u1', event: 'a', messageId: 'm1' }], { store, router, now });
    await expect(failure).rejects.toBeInstanceOf(IngestUnavailableError);
    await expect(failure).rejects.toMatchObject({ stage: 'route', messageId: 'm1', message: 'journey routing failed for messageId m1: temporal down' });
  });
});
