/**
 * Audiences in SQL, for both databases: the event aggregates of customers (one grouped statement
 * per event name, served by the track events' (customer_id, event, timestamp) index), and the
 * listing of everyone who matches an audience now.
 *
 * The listing has one meaning with the router's check because the decision is the same function:
 * SQL narrows the customers to those that can match (the aggregate tests it can state exactly,
 * e.g. `count >= 1` and `last_at < now - 60d`), page by page in id order, and each candidate is
 * then decided by core/audiences.ts `audienceMatches` over its profile, consent and aggregates.
 * Tests SQL cannot state exactly (text on traits, `not`, an `any` with such a part) narrow
 * nothing; they are decided in the second step.
 */
import type { Condition } from '../../compiler/plan';
import { aggregateReads, audienceMatches, parseAggregatePath, withZeroCounts, type AggregateRead, type EventAggregates } from '../../core/audiences';
import { consentReads, type ConsentStates } from '../../core/consent';
import { emptyProfile } from '../../core/profile';
import type { AudienceListing, AudiencePage, AudiencePageOptions, Profile } from '../store';
import { consentState } from '../rules';
import { join, raw, sql, typed, type Sql } from './dialect';
import type { Runner } from './driver';

/** Candidates read per statement while listing. */
const PAGE = 500;

function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function inList(ids: readonly string[]): Sql {
  return join(
    ids.map((id) => sql`${id}`),
    ', ',
  );
}

/** The aggregates `reads` name, for each of `customerIds` that has any of those events (no zero counts filled in). */
export async function loadAggregates(db: Runner, customerIds: readonly string[], reads: readonly AggregateRead[], nowMs: number): Promise<Map<string, EventAggregates>> {
  const out = new Map<string, EventAggregates>();
  if (customerIds.length === 0) return out;
  for (const read of reads) {
    const windows = Object.entries(read.fields).filter(([, spec]) => spec.kind === 'count' && spec.windowMs !== undefined);
    const windowColumns = windows.map(
      ([, spec], i) => sql`, SUM(CASE WHEN timestamp >= ${typed(new Date(nowMs - (spec.windowMs as number)).toISOString(), 'timestamptz')} THEN 1 ELSE 0 END) AS ${raw(`w${i}`)}`,
    );
    const rows = await db.all(
      sql`SELECT customer_id, COUNT(*) AS n, MIN(timestamp) AS first_at, MAX(timestamp) AS last_at${join(windowColumns, '')}
          FROM events WHERE customer_id IN (${inList(customerIds)}) AND event = ${read.event} AND type = 'track'
          GROUP BY customer_id`,
    );
    for (const row of rows) {
      const id = String(row.customer_id);
      const values: Record<string, number | string> = {};
      for (const [field, spec] of Object.entries(read.fields)) {
        if (spec.kind === 'first_at' || spec.kind === 'last_at') values[field] = iso(row[spec.kind]);
        else if (spec.windowMs === undefined) values[field] = Number(row.n);
        else values[field] = Number(row[`w${windows.findIndex(([f]) => f === field)}`] ?? 0);
      }
      const aggregates = out.get(id) ?? {};
      aggregates[read.event] = values;
      out.set(id, aggregates);
    }
  }
  return out;
}

/** The consent states `condition` reads, for each of `customerIds`: an explicit row, else the legacy trait, else unknown. */
async function loadConsent(db: Runner, profiles: ReadonlyMap<string, Profile>, customerIds: readonly string[], conditions: readonly (Condition | undefined)[]): Promise<Map<string, ConsentStates>> {
  const reads = consentReads(...conditions);
  const out = new Map<string, ConsentStates>();
  if (reads.length === 0 || customerIds.length === 0) return out;
  const rows = await db.all(sql`SELECT customer_id, channel, category, status FROM subscriptions WHERE customer_id IN (${inList(customerIds)})`);
  const explicit = new Map(rows.map((r) => [`${String(r.customer_id)}\u0000${String(r.channel)}\u0000${String(r.category)}`, String(r.status)]));
  for (const id of customerIds) {
    const states: ConsentStates = {};
    const profile = profiles.get(id);
    for (const { channel, category } of reads) {
      const traits = profile as Record<string, unknown> | undefined;
      states[channel] = { ...states[channel], [category]: consentState(explicit.get(`${id}\u0000${channel}\u0000${category}`), traits, category) };
    }
    out.set(id, states);
  }
  return out;
}

/** One aggregate subquery over the customer `c.id`. */
function aggregateOf(kind: 'count' | 'first_at' | 'last_at', event: string, since: string | undefined): Sql {
  const what = kind === 'count' ? sql`COUNT(*)` : kind === 'first_at' ? sql`MIN(e.timestamp)` : sql`MAX(e.timestamp)`;
  const window = since === undefined ? sql`` : sql` AND e.timestamp >= ${typed(since, 'timestamptz')}`;
  return sql`(SELECT ${what} FROM events e WHERE e.customer_id = c.id AND e.event = ${event} AND e.type = 'track'${window})`;
}

/**
 * A SQL condition every customer who matches `condition` meets (it may let through some who do
 * not), or undefined when it narrows nothing. Only aggregate tests whose SQL means exactly what
 * core/conditions.ts means are stated; a `not` narrows nothing, since its inside is only a bound.
 */
export function narrowing(condition: Condition, nowMs: number): Sql | undefined {
  if ('all' in condition) {
    const parts = condition.all.map((c) => narrowing(c, nowMs)).filter((p): p is Sql => p !== undefined);
    return parts.length === 0 ? undefined : sql`(${join(parts, ' AND ')})`;
  }
  if ('any' in condition) {
    const parts = condition.any.map((c) => narrowing(c, nowMs));
    return parts.some((p) => p === undefined) ? undefined : sql`(${join(parts as Sql[], ' OR ')})`;
  }
  if ('not' in condition) return undefined;
  const parsed = parseAggregatePath(condition.path);
  if (!parsed || 'error' in parsed) return undefined;
  const since = parsed.windowMs === undefined ? undefined : new Date(nowMs - parsed.windowMs).toISOString();
  const value = condition.value;
  if (parsed.kind === 'count') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    const ops: Partial<Record<string, string>> = { eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
    const op = ops[condition.op];
    return op === undefined ? undefined : sql`${aggregateOf('count', parsed.event, since)} ${raw(op)} ${typed(value, 'numeric')}`;
  }
  if (condition.op === 'exists') {
    const exists = sql`EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id AND e.event = ${parsed.event} AND e.type = 'track')`;
    return value === false ? sql`NOT ${exists}` : exists;
  }
  if (condition.op !== 'before' && condition.op !== 'after') return undefined;
  let at: number | undefined;
  if (value !== null && typeof value === 'object' && 'relativeMs' in value) at = nowMs + Number((value as { relativeMs: number }).relativeMs);
  else if (typeof value === 'string' && !value.includes('{{')) at = new Date(value).getTime();
  if (at === undefined || Number.isNaN(at)) return undefined;
  const op = condition.op === 'before' ? '<' : '>';
  return sql`${aggregateOf(parsed.kind, parsed.event, undefined)} ${raw(op)} ${typed(new Date(at).toISOString(), 'timestamptz')}`;
}

/** Where the listing reads profiles from: the store's own decoding of customer rows. */
export type ProfileLoader = (ids: readonly string[]) => Promise<Map<string, Profile>>;

/**
 * Customers left out of a page because they are inside a journey now, or (`ever`) have been in
 * it at all, or entered it after `enteredSince` (a cool-down): a narrowing only, the store's
 * enrolment still decides.
 */
export function outsideOf(outside: AudiencePageOptions['outside']): Sql {
  if (outside === undefined) return sql``;
  let kept = sql` AND n.ended_at IS NULL`;
  if (outside.ever) kept = sql``;
  else if (outside.enteredSince !== undefined) kept = sql` AND (n.ended_at IS NULL OR n.entered_at > ${typed(outside.enteredSince, 'timestamptz')})`;
  return sql` AND NOT EXISTS (SELECT 1 FROM enrolments n WHERE n.journey_id = ${outside.journeyId} AND n.customer_id = c.id${kept})`;
}

/** Customer ids after `after` up to `upTo`: everyone with a profile or a track event. */
function everyone(after: string, upTo: string): Sql {
  const bound = (column: string) => sql`${raw(column)} > ${typed(after, 'text')} AND ${raw(column)} <= ${typed(upTo, 'text')}`;
  return sql`SELECT id FROM customers WHERE ${bound('id')} UNION SELECT customer_id AS id FROM events WHERE type = 'track' AND ${bound('customer_id')}`;
}

/**
 * The stretch of ids the next page looks at: the first `size` ids after `after`, as its last id
 * and how many there were. Each side of the union reads its index in id order and stops after
 * `size`, so this costs the same on every page however large the store is.
 */
async function idWindow(db: Runner, after: string, size: number): Promise<{ last?: string; count: number }> {
  const rows = await db.all(
    sql`SELECT MAX(w.id) AS last, COUNT(*) AS n FROM (
          SELECT id FROM (SELECT id FROM customers WHERE id > ${typed(after, 'text')} ORDER BY id LIMIT ${size}) a
          UNION SELECT id FROM (SELECT DISTINCT customer_id AS id FROM events WHERE type = 'track' AND customer_id > ${typed(after, 'text')} ORDER BY customer_id LIMIT ${size}) b
          ORDER BY id LIMIT ${size}) w`,
  );
  const count = Number(rows[0]?.n ?? 0);
  return count === 0 ? { count } : { last: String(rows[0].last), count };
}

/**
 * One page of the customers who may match `condition` at `nowMs`, after the id `opts.after` in id
 * order, with the facts (profile, consent, aggregates) that `condition` and `opts.alsoReads` read.
 * The caller decides each with core/audiences.ts. Each page is a few short statements over a
 * bounded stretch of ids (ten pages' worth), so a sweep over a large store never holds a lock for
 * long and no page reads the whole events table (PostgreSQL would, for a union without bounds);
 * a page may hold no candidates while `next` goes on, and `next` is absent on the last page.
 */
export async function audiencePage(db: Runner, condition: Condition, opts: AudiencePageOptions & { loadProfiles: ProfileLoader }): Promise<AudiencePage> {
  const conditions = [condition, ...(opts.alsoReads ?? [])];
  const narrowed = narrowing(condition, opts.nowMs);
  const filter = narrowed === undefined ? sql`` : sql` AND ${narrowed}`;
  const windowSize = opts.limit * 10;
  const window = await idWindow(db, opts.after, windowSize);
  if (window.last === undefined) return { candidates: [] };
  const rows = await db.all(
    sql`SELECT c.id FROM (${everyone(opts.after, window.last)}) c
        WHERE TRUE${filter}${outsideOf(opts.outside)} ORDER BY c.id LIMIT ${opts.limit}`,
  );
  // Where the next page starts: after the last candidate when the page is full, else after the window.
  const next = rows.length === opts.limit ? String(rows[rows.length - 1].id) : window.count < windowSize ? undefined : window.last;
  const ids = rows.map((r) => String(r.id));
  if (ids.length === 0) return next === undefined ? { candidates: [] } : { candidates: [], next };
  const candidates = await factsOf(db, ids, conditions, opts.nowMs, opts.loadProfiles);
  return next === undefined ? { candidates } : { candidates, next };
}

/** The facts (profile, consent, aggregates) that `conditions` read, for each of `ids`, in their order. */
export async function factsOf(
  db: Runner,
  ids: readonly string[],
  conditions: readonly (Condition | undefined)[],
  nowMs: number,
  loadProfiles: ProfileLoader,
): Promise<AudiencePage['candidates']> {
  const reads = aggregateReads(...conditions);
  const profiles = await loadProfiles(ids);
  const consent = await loadConsent(db, profiles, ids, conditions);
  const aggregates = await loadAggregates(db, ids, reads, nowMs);
  return ids.map((id) => ({
    id,
    facts: { profile: profiles.get(id) ?? emptyProfile(id), consent: consent.get(id) ?? {}, events: withZeroCounts(reads, aggregates.get(id) ?? {}) },
  }));
}

/**
 * Everyone who matches `condition` at `nowMs`: every customer with a profile or a track event,
 * narrowed in SQL, decided by `audienceMatches`, page by page.
 */
export async function listAudience(
  db: Runner,
  condition: Condition,
  opts: { nowMs: number; sampleSize: number; loadProfiles: ProfileLoader },
): Promise<AudienceListing> {
  const listing: AudienceListing = { count: 0, sample: [] };
  let after: string | undefined = '';
  while (after !== undefined) {
    const page: AudiencePage = await audiencePage(db, condition, { nowMs: opts.nowMs, after, limit: PAGE, loadProfiles: opts.loadProfiles });
    for (const { id, facts } of page.candidates) {
      if (!audienceMatches(condition, facts, opts.nowMs)) continue;
      listing.count++;
      if (listing.sample.length < opts.sampleSize) listing.sample.push(id);
    }
    after = page.next;
  }
  return listing;
}
