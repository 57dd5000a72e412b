/**
 * How far each broadcast has come (`unbroken trigger`, or a firing of a schedule journey's
 * schedule), for `unbroken stats` (both databases, schema v15). The sweep activity writes a
 * broadcast's running totals as it goes through the audience; each write replaces the last, so a
 * retried page writes the same numbers again rather than adding them twice.
 */
import type { BroadcastProgress } from '../store';
import { sql } from './dialect';
import type { Driver } from './driver';
import { BROADCAST, columns, fromRow, insertRow } from './rows';

/** Writes the broadcast's numbers so far (a new row for its first write). */
export async function recordBroadcast(db: Driver, b: BroadcastProgress, at: string): Promise<void> {
  await db.run(
    sql`${insertRow('broadcasts', BROADCAST, b, { extra: { updated_at: at } })}
        ON CONFLICT (journey_id, began_at) DO UPDATE SET
          matched = excluded.matched, entered = excluded.entered, finished_at = excluded.finished_at,
          stopped = excluded.stopped, updated_at = excluded.updated_at`,
  );
}

/** The journey's broadcast that began last, if it had any. */
export async function latestBroadcast(db: Driver, journeyId: string): Promise<BroadcastProgress | undefined> {
  const rows = await db.all(sql`SELECT ${columns(BROADCAST)} FROM broadcasts WHERE journey_id = ${journeyId} ORDER BY began_at DESC LIMIT 1`);
  return rows.length === 0 ? undefined : fromRow(BROADCAST, rows[0], db.dialect);
}
