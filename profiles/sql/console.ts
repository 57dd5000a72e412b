/**
 * What the web console (console/) reads from the SQL store (both databases): the journeys page's
 * numbers in a few grouped queries over all journeys at once, and the customer search.
 */
import { normaliseAddress } from '../rules';
import type { JourneyOverview } from '../store';
import { list, sql } from './dialect';
import type { Runner } from './driver';

/**
 * The numbers of the given journeys (zeros for one without runs), in their order. Two queries: the
 * runs grouped by journey and outcome, and the sends and skips counted by index seeks on
 * (journey_id, kind), so the cost follows the journeys asked about, not every step ever recorded.
 */
export async function journeyOverview(db: Runner, journeyIds: readonly string[], since: { today: string; week: string }): Promise<JourneyOverview[]> {
  if (journeyIds.length === 0) return [];
  const ids = list(journeyIds);
  const [runs, steps] = await Promise.all([
    db.all(
      sql`SELECT journey_id, outcome, COUNT(*) AS entered,
                 COUNT(*) FILTER (WHERE entered_at >= ${since.today}) AS today,
                 COUNT(*) FILTER (WHERE entered_at >= ${since.week}) AS week,
                 COUNT(*) FILTER (WHERE ended_at IS NULL) AS active
          FROM enrolments WHERE journey_id IN (${ids}) GROUP BY journey_id, outcome`,
    ),
    db.all(sql`SELECT journey_id, kind, COUNT(*) AS count FROM step_records WHERE journey_id IN (${ids}) AND kind IN ('sent', 'skipped') GROUP BY journey_id, kind`),
  ]);
  const byJourney = new Map<string, JourneyOverview>(
    journeyIds.map((journeyId) => [journeyId, { journeyId, entered: { today: 0, week: 0, all: 0 }, active: 0, outcomes: {}, sent: 0, skipped: 0 }]),
  );
  for (const row of runs) {
    const o = byJourney.get(String(row.journey_id));
    if (o === undefined) continue;
    o.entered.all += Number(row.entered);
    o.entered.today += Number(row.today);
    o.entered.week += Number(row.week);
    o.active += Number(row.active);
    if (row.outcome !== null) o.outcomes[String(row.outcome)] = Number(row.entered);
  }
  for (const row of steps) {
    const o = byJourney.get(String(row.journey_id));
    if (o === undefined) continue;
    if (row.kind === 'sent') o.sent = Number(row.count);
    else o.skipped = Number(row.count);
  }
  return [...byJourney.values()];
}

/**
 * Canonical ids of customers whose id, linked anonymous id, email or phone is `term`; an address
 * is compared in its canonical form, as the store keeps it. At most `limit`, ordered by id.
 */
export async function findCustomers(db: Runner, term: string, limit: number): Promise<string[]> {
  const text = term.trim();
  if (text === '') return [];
  const email = normaliseAddress('email', text);
  const phone = normaliseAddress('sms', text);
  // An anonymous id linked to a user resolves to that user: the person is listed once.
  const rows = await db.all(
    sql`SELECT DISTINCT COALESCE(l.user_id, f.id) AS id FROM (
          SELECT id FROM customers WHERE id = ${text} OR email = ${email} OR phone = ${phone}
          UNION SELECT anonymous_id AS id FROM identity_links WHERE anonymous_id = ${text}
          UNION SELECT customer_id AS id FROM enrolments WHERE customer_id = ${text}
        ) f LEFT JOIN identity_links l ON l.anonymous_id = f.id ORDER BY 1 LIMIT ${limit}`,
  );
  return rows.map((row) => String(row.id));
}
