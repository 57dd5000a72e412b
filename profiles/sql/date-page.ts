/**
 * The candidates of a date journey's sweep, for both databases: customers whose date trait reads
 * as one of a few days, so a sweep reads the profiles of the customers whose day may have come
 * (a few days' worth) rather than every profile every time. Each candidate is then decided by
 * core/date-triggers.ts, which alone knows zones and the time of day.
 */
import type { DatePage, DatePageOptions } from '../store';
import { factsOf, outsideOf, type ProfileLoader } from './audience';
import { join, sql, typed, type Sql } from './dialect';
import type { Runner } from './driver';

/** The text of a trait path (`profile.contract.renewal_date`) in the customers' traits; `->`/`->>` read alike in both databases. */
function traitText(path: string): Sql {
  const segments = path.split('.').slice(1);
  const steps = segments.map((segment, i) => sql` ${i === segments.length - 1 ? sql`->>` : sql`->`} ${typed(segment, 'text')}`);
  return sql`trim(c.traits${join(steps, '')})`;
}

function inList(values: readonly string[]): Sql {
  return join(
    values.map((v) => sql`${v}`),
    ', ',
  );
}

/**
 * One page, after the id `opts.after` in id order, of the customers whose date at `opts.path` reads
 * as one of `opts.days` and who are not inside the journey now, with the facts `opts.alsoReads`
 * needs and the occurrences (of `opts.occurrences`) they have been entered for already.
 */
export async function datePage(db: Runner, opts: DatePageOptions & { loadProfiles: ProfileLoader }): Promise<DatePage> {
  if (opts.days.length === 0) return { candidates: [] };
  const text = traitText(opts.path);
  const day = opts.every === 'year' ? sql`substr(${text}, 6, 5)` : sql`substr(${text}, 1, 10)`;
  const rows = await db.all(
    sql`SELECT c.id FROM customers c WHERE c.id > ${typed(opts.after, 'text')} AND ${day} IN (${inList(opts.days)})${outsideOf({ journeyId: opts.journeyId, ever: false })}
        ORDER BY c.id LIMIT ${opts.limit}`,
  );
  const ids = rows.map((r) => String(r.id));
  if (ids.length === 0) return { candidates: [] };
  const facts = await factsOf(db, ids, [...(opts.alsoReads ?? [])], opts.nowMs, opts.loadProfiles);
  const done = new Map<string, string[]>();
  if (opts.occurrences.length > 0) {
    const runs = await db.all(
      sql`SELECT customer_id, instance_key FROM enrolments
          WHERE journey_id = ${opts.journeyId} AND customer_id IN (${inList(ids)}) AND instance_key IN (${inList(opts.occurrences)})`,
    );
    for (const run of runs) done.set(String(run.customer_id), [...(done.get(String(run.customer_id)) ?? []), String(run.instance_key)]);
  }
  const candidates = facts.map((c) => ({ ...c, done: done.get(c.id) ?? [] }));
  return ids.length < opts.limit ? { candidates } : { candidates, next: ids[ids.length - 1] };
}
