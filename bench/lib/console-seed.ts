/**
 * Fills a migrated store with a large, skewed history for the console benchmark, set-based in the
 * database itself (a recursive CTE on SQLite, generate_series on PostgreSQL), so a million step
 * records take seconds. Runs are laid out from the deployed plans: each journey's own steps in
 * order, a split's arms and holdout, sends with their templates' channels, skips with reasons.
 */
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { JourneyPlan, Step } from '../../compiler/plan';
import { recountSteps } from '../../profiles/sql/counters';
import { postgresDialect, render, sqliteDialect, type Dialect } from '../../profiles/sql/dialect';
import type { DeployedJourney } from '../../profiles/store';

/** How big the history is. */
export interface SeedSizes {
  customers: number;
  /** Step records wanted; enrolments follow from the journeys' lengths (about 1 run per 7 records). */
  stepRecords: number;
}

/** What was written, row counts as the database reports them. */
export interface Seeded {
  counts: Record<string, number>;
  /** Customers with many runs and events (the head of the skew), for the pages that read one person. */
  busiest: string[];
  ms: number;
}

/** One row of the step layout: what a run of `journey` records at position `pos`. */
interface LayoutRow {
  journey: string;
  pos: number;
  step: string;
  kind: string;
  channel?: string;
  template?: string;
  /** A split's first two arms, and whether it holds some customers out. */
  arms?: [string, string];
  holdout?: boolean;
}

/** Most positions a run records (entered + six steps). */
const POSITIONS = 7;
/** Share of runs per journey, most first; journeys with a split come first so the split has data. */
const WEIGHTS = [30, 25, 18, 12, 9, 6];

/** The steps in the order a run meets them, a split's arms flattened after it. */
function flatten(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) => {
    if (s.kind === 'split') return [s, ...s.variants.flatMap((v) => flatten(v.steps))];
    if (s.kind === 'if') return [s, ...flatten(s.then), ...flatten(s.else)];
    if (s.kind === 'wait_for') return [s, ...flatten(s.onEvent)];
    return [s];
  });
}

function layoutOf(plan: JourneyPlan): LayoutRow[] {
  const rows: LayoutRow[] = [{ journey: plan.journey, pos: 0, step: 'entry', kind: 'entered' }];
  const seen = new Set<string>();
  for (const step of flatten(plan.steps)) {
    if (rows.length === POSITIONS || seen.has(step.id)) continue;
    seen.add(step.id);
    const base = { journey: plan.journey, pos: rows.length, step: step.id };
    if (step.kind === 'send') rows.push({ ...base, kind: 'sent', template: step.template, channel: plan.templates[step.template]?.channel ?? 'email' });
    else if (step.kind === 'split') rows.push({ ...base, kind: 'branched', arms: [step.variants[0].name, (step.variants[1] ?? step.variants[0]).name], holdout: step.holdout > 0 });
    else if (step.kind === 'if') rows.push({ ...base, kind: 'branched' });
    else if (step.kind === 'update_profile') rows.push({ ...base, kind: 'profile_updated' });
    else if (step.kind === 'do') rows.push({ ...base, kind: 'sent' });
    else if (step.kind === 'exit') rows.push({ ...base, kind: 'exited' });
    else rows.push({ ...base, kind: 'waited' });
  }
  return rows;
}

/** The SQL that differs between the two databases (bench/lib/sweep-seed.ts uses it too). */
export interface Flavour {
  /** A CTE `s(i)` counting 1..n, to put before INSERT. */
  series(n: number): string;
  /** `seconds` (an SQL expression) before `now`, as the store keeps times. */
  ago(now: string, seconds: string): string;
  /** `seconds` after the time in `column`. */
  after(column: string, seconds: string): string;
  json(text: string): string;
  yes: string;
  /** How the store's own statements are spelled here. */
  dialect: Dialect;
}

export const SQLITE: Flavour = {
  series: (n) => `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n})`,
  ago: (now, seconds) => `strftime('%Y-%m-%dT%H:%M:%fZ', '${now}', '-' || (${seconds}) || ' seconds')`,
  after: (column, seconds) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${column}, '+' || (${seconds}) || ' seconds')`,
  json: (text) => `(${text})`,
  yes: '1',
  dialect: sqliteDialect,
};

export const POSTGRES: Flavour = {
  series: (n) => `WITH s(i) AS (SELECT generate_series(1::bigint, ${n}))`,
  ago: (now, seconds) => `(TIMESTAMPTZ '${now}' - (${seconds}) * INTERVAL '1 second')`,
  after: (column, seconds) => `(${column} + (${seconds}) * INTERVAL '1 second')`,
  json: (text) => `(${text})::jsonb`,
  yes: 'TRUE',
  dialect: postgresDialect,
};

/** The statements that write the history, in order (the layout and journey tables first). */
function statements(f: Flavour, journeys: readonly DeployedJourney[], sizes: SeedSizes, now: string): { layout: LayoutRow[]; sql: string[]; enrolments: number } {
  const plans = journeys.map((j) => j.plan as JourneyPlan).sort((a, b) => Number(hasSplit(b)) - Number(hasSplit(a)) || a.journey.localeCompare(b.journey));
  const weights = plans.map((_, i) => WEIGHTS[i] ?? 3);
  const total = weights.reduce((a, b) => a + b, 0);
  const layout = plans.flatMap(layoutOf);
  const perRun = plans.reduce((sum, p, i) => sum + (layoutOf(p).length * weights[i]) / total, 0);
  const E = Math.round(sizes.stepRecords / perRun);
  const N = sizes.customers;
  let lo = 0;
  const bands = plans.map((p, i) => {
    // Bands of i % 1000 so the shares follow the weights to a tenth of a percent.
    const hi = i === plans.length - 1 ? 1000 : lo + Math.round((weights[i] / total) * 1000);
    const band = { journey: p.journey, version: journeys.find((j) => j.journeyId === p.journey)!.version, lo, hi };
    lo = hi;
    return band;
  });
  const text = (v: string | undefined) => (v === undefined ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
  const DAYS_90 = 90 * 86_400;
  // Runs 1..N go to distinct customers (i*7 mod N is a permutation, N not a multiple of 7); later
  // runs come back to the tenth of customers 1..N/10: the regulars. Only runs 1..N are still
  // inside, so no customer is in one journey twice at once.
  const customerOf = `'c' || (CASE WHEN s.i <= ${N} THEN (s.i * 7) % ${N} + 1 ELSE (s.i * 13) % ${Math.max(1, Math.floor(N / 10))} + 1 END)`;
  const inside = `(s.i <= ${N} AND s.i % 10 = 0)`;
  const outcome = `CASE WHEN ${inside} THEN NULL WHEN (s.i * 7) % 9 < 2 THEN 'converted' WHEN (s.i * 7) % 9 = 2 THEN 'exited' ELSE 'completed' END`;
  const runAgo = `s.i * ${DAYS_90} / ${E}`;
  const EV = 3 * N;
  const eventCustomer = `'c' || (CASE WHEN s.i <= ${2 * N} THEN (s.i * 7) % ${N} + 1 ELSE (s.i * 13) % ${Math.min(100, N)} + 1 END)`;
  const eventNames = ['page_viewed', 'product_viewed', 'cart_abandoned', 'order_completed', 'signed_up'];
  return {
    layout,
    enrolments: E,
    sql: [
      `CREATE TEMP TABLE bench_layout (journey_id TEXT, pos INTEGER, step_id TEXT, kind TEXT, channel TEXT, template TEXT, arm1 TEXT, arm2 TEXT, holdout INTEGER)`,
      `INSERT INTO bench_layout VALUES ${layout
        .map((r) => `(${text(r.journey)}, ${r.pos}, ${text(r.step)}, ${text(r.kind)}, ${text(r.channel)}, ${text(r.template)}, ${text(r.arms?.[0])}, ${text(r.arms?.[1])}, ${r.holdout ? 1 : 0})`)
        .join(', ')}`,
      `CREATE TEMP TABLE bench_bands (journey_id TEXT, version TEXT, lo INTEGER, hi INTEGER)`,
      `INSERT INTO bench_bands VALUES ${bands.map((b) => `(${text(b.journey)}, ${text(b.version)}, ${b.lo}, ${b.hi})`).join(', ')}`,
      `${f.series(N)} INSERT INTO customers (id, email, phone, timezone, traits, tags, created_at, updated_at)
         SELECT 'c' || s.i, 'customer' || s.i || '@example.com', '+4930' || (10000000 + s.i), 'Europe/Berlin',
                ${f.json(`'{"first_name":"Customer ' || s.i || '","plan":"' || CASE WHEN s.i % 5 = 0 THEN 'pro' ELSE 'starter' END || '"}'`)},
                ${f.json(`'[]'`)}, ${f.ago(now, `s.i * ${DAYS_90} / ${N} + 86400`)}, ${f.ago(now, `s.i * ${DAYS_90} / ${N}`)}
         FROM s`,
      `${f.series(E)} INSERT INTO enrolments (workflow_id, journey_id, customer_id, entry, version, entered_at, input, ended_at, outcome, current_step)
         SELECT 'bench-' || b.journey_id || '-' || s.i, b.journey_id, ${customerOf}, s.i, b.version, ${f.ago(now, runAgo)}, ${f.json(`'null'`)},
                CASE WHEN ${inside} THEN NULL ELSE ${f.ago(now, `${runAgo} / 2`)} END, ${outcome},
                (SELECT MAX(l.step_id) FROM bench_layout l WHERE l.journey_id = b.journey_id AND l.pos = CASE WHEN ${inside} THEN 3 ELSE 1 END)
         FROM s JOIN bench_bands b ON s.i % 1000 >= b.lo AND s.i % 1000 < b.hi`,
      // Runs still inside have recorded up to their fourth position; a send is skipped one time in eight.
      `INSERT INTO step_records (idempotency_key, workflow_id, journey_id, version, customer_id, step_id, kind, at, detail)
         SELECT e.workflow_id || ':' || l.pos, e.workflow_id, e.journey_id, e.version, e.customer_id, l.step_id,
                CASE WHEN l.template IS NOT NULL AND (e.entry + l.pos) % 8 = 0 THEN 'skipped' ELSE l.kind END,
                ${f.after('e.entered_at', 'l.pos * 600')},
                CASE WHEN l.template IS NOT NULL AND (e.entry + l.pos) % 8 = 0
                       THEN ${f.json(`'{"reason":"' || CASE e.entry % 4 WHEN 0 THEN 'unsubscribed' WHEN 1 THEN 'frequency_cap' WHEN 2 THEN 'no_address' ELSE 'quiet_hours' END || '"}'`)}
                     WHEN l.arm1 IS NOT NULL
                       THEN ${f.json(`'{"variant":"' || CASE WHEN l.holdout = 1 AND e.entry % 10 = 0 THEN 'holdout' WHEN e.entry % 2 = 1 THEN l.arm1 ELSE l.arm2 END || '"}'`)}
                     ELSE NULL END
         FROM enrolments e JOIN bench_layout l ON l.journey_id = e.journey_id
         WHERE e.ended_at IS NOT NULL OR l.pos <= 3`,
      // The counters the store keeps as it writes records, counted as the migration to them does.
      ...recountSteps().map((q) => render(q, f.dialect).text),
      `INSERT INTO messages (idempotency_key, customer_id, journey_id, step_id, channel, template, status, result, created_at, updated_at)
         SELECT r.idempotency_key, r.customer_id, r.journey_id, r.step_id, l.channel, l.template, r.kind,
                CASE WHEN r.kind = 'skipped' THEN r.detail
                     ELSE ${f.json(`'{"to":"customer' || substr(r.customer_id, 2) || '@example.com","subject":"About ' || l.template || '"}'`)} END,
                r.at, r.at
         FROM step_records r JOIN bench_layout l ON l.journey_id = r.journey_id AND l.step_id = r.step_id AND l.template IS NOT NULL
         WHERE r.kind IN ('sent', 'skipped')`,
      // Two events in three go to anyone; the last third to the hundred busiest customers.
      `${f.series(EV)} INSERT INTO events (message_id, type, customer_id, user_id, event, properties, timestamp, received_at, routed_at)
         SELECT 'ev-' || s.i, 'track', ${eventCustomer}, ${eventCustomer},
                CASE s.i % 5 ${eventNames.map((n, k) => `WHEN ${k} THEN '${n}'`).join(' ')} END,
                ${f.json(`'{"total":' || (s.i % 200) || ',"sku":"sku-' || (s.i % 97) || '"}'`)},
                ${f.ago(now, `s.i * ${DAYS_90} / ${EV}`)}, ${f.ago(now, `s.i * ${DAYS_90} / ${EV}`)}, ${f.ago(now, `s.i * ${DAYS_90} / ${EV}`)}
         FROM s`,
      `${f.series(N)} INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at)
         SELECT 'c' || s.i, 'email', 'marketing', CASE WHEN s.i % 15 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, 'identify', ${f.ago(now, `s.i * 60`)}
         FROM s WHERE s.i % 5 = 0`,
      `${f.series(N)} INSERT INTO consent_changes (change_id, customer_id, channel, category, status, source, applied, happened_at, recorded_at)
         SELECT 'cc-' || s.i || '-' || k.n, 'c' || s.i, 'email', 'marketing', CASE WHEN k.n = 2 THEN 'unsubscribed' ELSE 'subscribed' END,
                CASE WHEN k.n = 2 THEN 'unsubscribe_link' ELSE 'identify' END, ${f.yes}, ${f.ago(now, `s.i * 60 + (2 - k.n) * 3600`)}, ${f.ago(now, `s.i * 60 + (2 - k.n) * 3600`)}
         FROM s JOIN (SELECT 1 AS n UNION ALL SELECT 2) k ON s.i % 5 = 0 AND (k.n = 1 OR s.i % 15 = 0)`,
      `${f.series(N)} INSERT INTO identity_links (anonymous_id, user_id, linked_at) SELECT 'anon-' || s.i, 'c' || s.i, ${f.ago(now, `s.i * 60`)} FROM s WHERE s.i % 10 = 0`,
      `${f.series(N)} INSERT INTO suppressions (channel, address, reason, at) SELECT 'email', 'customer' || s.i || '@example.com', 'bounce', ${f.ago(now, `s.i * 60`)} FROM s WHERE s.i % 500 = 0`,
    ],
  };
}

function hasSplit(plan: JourneyPlan): boolean {
  return flatten(plan.steps).some((s) => s.kind === 'split');
}

const TABLES = ['customers', 'enrolments', 'step_records', 'step_passes', 'split_arms', 'messages', 'events', 'subscriptions', 'consent_changes', 'identity_links', 'suppressions'];

/**
 * Runs the statements `build` writes for the store's database in one transaction, then counts
 * `tables`. `url` is `sqlite:<file>` or a PostgreSQL URL whose search_path selects the bench
 * schema; PostgreSQL gets VACUUM (ANALYZE) after, as autovacuum soon would.
 */
export async function runSeed(url: string, build: (f: Flavour) => string[], tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.exec(`PRAGMA foreign_keys = OFF`);
      const sql = build(SQLITE);
      db.transaction(() => sql.forEach((s) => db.exec(s)))();
      for (const t of tables) counts[t] = Number((db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n);
    } finally {
      db.close();
    }
    return counts;
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const s of build(POSTGRES)) await client.query(s);
    await client.query('COMMIT');
    // What autovacuum does to tables this size soon after: statistics, and the visibility map
    // that lets covering indexes answer without reading the table.
    if (tables.length > 0) await client.query(`VACUUM (ANALYZE) ${tables.join(', ')}`);
    for (const t of tables) counts[t] = Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${t}`)).rows[0].n);
  } finally {
    await client.end();
  }
  return counts;
}

/**
 * Writes the history into the store at `url` (`sqlite:<file>` or a PostgreSQL URL whose
 * search_path selects the bench schema). The store must be migrated and the journeys deployed;
 * no process may be writing to it.
 */
export async function seedConsoleHistory(url: string, journeys: readonly DeployedJourney[], sizes: SeedSizes, now: Date): Promise<Seeded> {
  const started = performance.now();
  const iso = now.toISOString();
  const counts = await runSeed(url, (f) => statements(f, journeys, sizes, iso).sql, TABLES);
  const busiest = Array.from({ length: Math.min(100, sizes.customers) }, (_, k) => `c${k + 1}`);
  return { counts, busiest, ms: performance.now() - started };
}
