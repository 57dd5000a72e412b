/**
 * Fills a migrated store with N customers and 10 × N track events over a year for the sweep
 * benchmark, set-based in the database (as bench/lib/console-seed.ts does), so a million
 * customers take minutes rather than hours.
 *
 * The shape a lapsed-customers audience cares about: two customers in three have ordered
 * (order_completed), and how long ago a customer was last active is skewed towards recent, so
 * about a fifth of those who ordered last did so more than 60 days ago; one in fifteen has
 * unsubscribed from email marketing. Each customer's ten events lie a month or so apart.
 */
import { runSeed, type Flavour } from './console-seed';

const DAY = 86_400;
/** Events per customer. */
export const EVENTS_PER_CUSTOMER = 10;

/** What was written and how long it took. */
export interface SweepSeeded {
  counts: Record<string, number>;
  ms: number;
}

/** `count` customers `<prefix>1`, `<prefix>2`, … with `traits` (a JSON object's text). */
function customerRows(f: Flavour, count: number, prefix: string, traits: string, now: string): string {
  const given = traits.replace(/'/g, "''");
  // The first name goes in as one more member of the traits object.
  return `${f.series(count)} INSERT INTO customers (id, email, timezone, traits, tags, created_at, updated_at)
       SELECT '${prefix}' || s.i, '${prefix}' || s.i || '@example.com', 'Europe/Berlin',
              ${f.json(`'${given.slice(0, -1)}${given.length > 2 ? ',' : ''}"first_name":"Customer ' || s.i || '"}'`)}, ${f.json(`'[]'`)}, ${f.ago(now, `${400 * DAY}`)}, ${f.ago(now, `${400 * DAY}`)}
       FROM s`;
}

function statements(f: Flavour, customers: number, now: string): string[] {
  const N = customers;
  const EV = EVENTS_PER_CUSTOMER * N;
  // Event i belongs to customer c, as its k-th event; events are written customer by customer.
  const c = `((s.i - 1) / ${EVENTS_PER_CUSTOMER} + 1)`;
  const k = `((s.i - 1) % ${EVENTS_PER_CUSTOMER})`;
  // Days since the customer was last active: 0..98, x² / 100 of a uniform x, so most are recent.
  const idle = `((${c} * 37) % 100) * ((${c} * 37) % 100) / 100`;
  const ago = `(${idle} * ${DAY} + ${k} * 36 * ${DAY} + (s.i * 7919) % ${DAY})`;
  const name = `CASE WHEN ${c} % 3 <> 0 AND ${k} % 3 = 0 THEN 'order_completed' ELSE CASE ${k} % 3 WHEN 0 THEN 'cart_abandoned' WHEN 1 THEN 'page_viewed' ELSE 'product_viewed' END END`;
  return [
    customerRows(f, N, 'c', '{}', now),
    `${f.series(EV)} INSERT INTO events (message_id, type, customer_id, user_id, event, properties, timestamp, received_at, routed_at)
       SELECT 'ev-' || s.i, 'track', 'c' || ${c}, 'c' || ${c}, ${name}, ${f.json(`'{"total":' || (s.i % 200) || '}'`)},
              ${f.ago(now, ago)}, ${f.ago(now, ago)}, ${f.ago(now, ago)}
       FROM s`,
    `${f.series(N)} INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at)
       SELECT 'c' || s.i, 'email', 'marketing', 'unsubscribed', 'unsubscribe_link', ${f.ago(now, `${30 * DAY}`)}
       FROM s WHERE s.i % 15 = 0`,
  ];
}

/** Writes the customers and events into the store at `url` (migrated, nobody writing to it). */
export async function seedSweepStore(url: string, customers: number, now: Date): Promise<SweepSeeded> {
  const started = performance.now();
  const counts = await runSeed(url, (f) => statements(f, customers, now.toISOString()), ['customers', 'events', 'subscriptions']);
  return { counts, ms: performance.now() - started };
}

/** Writes `count` customers `<prefix>1…` with `traits` into the store at `url` (a broadcast's audience). */
export async function seedCustomers(url: string, prefix: string, count: number, traits: Record<string, unknown>, now: Date): Promise<void> {
  await runSeed(url, (f) => [customerRows(f, count, prefix, JSON.stringify(traits), now.toISOString())], []);
}
