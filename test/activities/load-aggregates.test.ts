import { createLoadAggregates } from '../../activities/load-aggregates';
import { aggregateReads } from '../../core/audiences';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { ProfileStore } from '../../profiles/store';
import { captureMailer } from '../../activities/mailer';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const reads = aggregateReads({
  all: [
    { path: 'events.order_completed.count_30d', op: 'gte', value: 1 },
    { path: 'events.order_completed.last_at', op: 'before', value: { relativeMs: -60 * DAY } },
  ],
});

let store: SqliteProfileStore;
beforeEach(() => {
  store = new SqliteProfileStore(':memory:');
});
afterEach(() => store.close());

it('reads the aggregates an if needs, counting back from the run\'s clock, not the server\'s', async () => {
  for (const [i, daysAgo] of [90, 20].entries()) {
    const at = new Date(NOW - daysAgo * DAY).toISOString();
    await store.recordEvent({ messageId: `o${i}`, type: 'track', customerId: 'ann', userId: 'ann', event: 'order_completed', timestamp: at, receivedAt: at });
  }
  const load = createLoadAggregates({ store, mailer: captureMailer(), mailFrom: 'shop@example.com' });
  expect(await load({ customerId: 'ann', reads, nowMs: NOW })).toEqual({ order_completed: { count_30d: 1, last_at: new Date(NOW - 20 * DAY).toISOString() } });
  // Fifteen days later on the journey's clock, the order of 20 days ago falls out of the window.
  expect(await load({ customerId: 'ann', reads, nowMs: NOW + 15 * DAY })).toMatchObject({ order_completed: { count_30d: 0 } });
  expect(await load({ customerId: 'bob', reads, nowMs: NOW })).toEqual({ order_completed: { count_30d: 0 } });
});

it('counts nothing on a profile store that keeps no events', async () => {
  const { getProfile, identify, applyChanges } = store;
  const bare = { getProfile, identify, applyChanges } as unknown as ProfileStore;
  const load = createLoadAggregates({ store: bare, mailer: captureMailer(), mailFrom: 'shop@example.com' });
  expect(await load({ customerId: 'ann', reads, nowMs: NOW })).toEqual({ order_completed: { count_30d: 0 } });
});
