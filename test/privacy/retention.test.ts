/** The retention loop on a real SQLite store: batch after batch until nothing older is left. */
import { RetentionSweeper } from '../../privacy/retention';
import { SqliteProfileStore } from '../../profiles/sqlite';

const DAY = 24 * 3_600_000;

test('a sweep deletes old routed events in batches until none is left, and leaves unrouted and young ones', async () => {
  const store = new SqliteProfileStore(':memory:');
  try {
    const now = Date.parse('2026-06-01T00:00:00.000Z');
    const old = new Date(now - 40 * DAY).toISOString();
    for (let i = 0; i < 7; i++) {
      await store.recordEvent({ messageId: `old-${i}`, type: 'track', customerId: 'c1', event: 'e', timestamp: old, receivedAt: old });
      await store.markEventRouted(`old-${i}`);
    }
    await store.recordEvent({ messageId: 'old-unrouted', type: 'track', customerId: 'c1', event: 'e', timestamp: old, receivedAt: old });
    const young = new Date(now - 5 * DAY).toISOString();
    await store.recordEvent({ messageId: 'young', type: 'track', customerId: 'c1', event: 'e', timestamp: young, receivedAt: young });
    await store.markEventRouted('young');

    const sweeper = new RetentionSweeper({ store, days: 30, batch: 3, now: () => new Date(now) });
    expect(await sweeper.sweep()).toEqual({ events: 7, messages: 0 });
    expect((await store.eventsFor('c1')).map((e) => e.messageId).sort()).toEqual(['old-unrouted', 'young']);
    expect(await sweeper.sweep()).toEqual({ events: 0, messages: 0 });
  } finally {
    await store.close();
  }
});

test('retention of less than a day, or not a whole number of days, is refused', () => {
  const store = { applyRetention: async () => ({ events: 0, messages: 0 }) };
  for (const days of [0, -1, 1.5, Number.NaN]) expect(() => new RetentionSweeper({ store, days })).toThrow(/whole number of at least 1/);
});
