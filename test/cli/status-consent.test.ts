/**
 * `unbroken status` shows the customer's consent history: when each statement happened, for which
 * channel and category, what it said, who carried it, and why an older one changed nothing.
 */
import { customerStatus, formatStatus } from '../../cli/live';
import { SqliteProfileStore } from '../../profiles/sqlite';

const T = '2026-03-01T12:00:00.000Z';
const before = (ms: number) => new Date(Date.parse(T) - ms).toISOString();
const HOUR = 3_600_000;

let store: SqliteProfileStore;
beforeEach(() => {
  store = new SqliteProfileStore(':memory:');
});
afterEach(() => store.close());

it('lists consent in the order it happened and says which statements were ignored and why', async () => {
  await store.setSubscription('ann', 'email', 'marketing', 'unsubscribed', 'one_click', T);
  await store.identify('ann', { subscriptions: { email: { marketing: true } } }, { at: before(HOUR), messageId: 'late' });
  await store.identify('ann', { subscriptions: { email: { marketing: true }, sms: { marketing: false } } }, { at: T, messageId: 'tie' });

  const status = await customerStatus(store, 'ann');
  expect(status.consent).toEqual([
    expect.objectContaining({ at: before(HOUR), channel: 'email', category: 'marketing', status: 'subscribed', source: 'identify', applied: false, ignored_older_than: T }),
    expect.objectContaining({ at: T, channel: 'email', category: 'marketing', status: 'unsubscribed', source: 'one_click', applied: true }),
    expect.objectContaining({ at: T, channel: 'email', category: 'marketing', status: 'subscribed', source: 'identify', applied: false, ignored_older_than: T }),
    expect.objectContaining({ at: T, channel: 'sms', category: 'marketing', status: 'unsubscribed', source: 'identify', applied: true }),
  ]);

  const text = formatStatus({ ...status, live: false }).split('\n');
  expect(text[0]).toBe('customer ann has not entered any journey');
  expect(text[1]).toBe('consent (in the order it happened):');
  expect(text[2]).toMatch(new RegExp(`^  ${before(HOUR)}  email\\.marketing +subscribed +identify  ignored: older than ${T}$`));
  expect(text[3]).toMatch(new RegExp(`^  ${T}  email\\.marketing +unsubscribed +one_click$`));
  expect(text[4]).toMatch(/email\.marketing +subscribed +identify {2}ignored: an unsubscribe of the same instant wins$/);
  expect(text[5]).toMatch(/sms\.marketing +unsubscribed +identify$/);
});

it('shows no consent section for a customer who never stated any', async () => {
  await store.identify('bob', { plan: 'pro' });
  const status = await customerStatus(store, 'bob');
  expect(status.consent).toEqual([]);
  expect(formatStatus(status)).toBe('customer bob has not entered any journey');
});
