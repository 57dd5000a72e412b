/**
 * The numbers of the console's page of one journey (console/pages/journey.ts), for both
 * databases: a few grouped queries, each seeking by journey through an index (enrolments by
 * journey and outcome or their unique (journey_id, customer_id, …) key, step records by
 * (journey_id, kind, …)), and the runs past each step from their counters (sql/counters.ts).
 */
import type { JourneyPageNumbers, StepNumbers } from '../store';
import { sql, utcDay } from './dialect';
import type { Row, Runner } from './driver';

/** One journey's page numbers over all its versions, or over `version` alone. */
export async function journeyPage(db: Runner, journeyId: string, opts: { version?: string; since: string }): Promise<JourneyPageNumbers> {
  const version = opts.version === undefined ? sql`` : sql`AND version = ${opts.version}`;
  const [versions, runs, waiting, passed, sent, skips, days] = await Promise.all([
    db.all(sql`SELECT version, deployed_at FROM journey_versions WHERE journey_id = ${journeyId} ORDER BY deployed_at DESC, version`),
    db.all(
      sql`SELECT outcome, COUNT(*) AS runs, COUNT(*) FILTER (WHERE ended_at IS NULL) AS active
          FROM enrolments WHERE journey_id = ${journeyId} ${version} GROUP BY outcome`,
    ),
    db.all(
      sql`SELECT current_step, COUNT(*) AS runs FROM enrolments
          WHERE journey_id = ${journeyId} AND ended_at IS NULL ${version} GROUP BY current_step`,
    ),
    // A run records several entries at one step (a wait, then the event that ended it): it passed
    // once, counted when its first record there was written (sql/counters.ts); summed over versions.
    db.all(sql`SELECT step_id, SUM(runs) AS runs FROM step_passes WHERE journey_id = ${journeyId} ${version} GROUP BY step_id`),
    db.all(sql`SELECT step_id, COUNT(*) AS sent FROM step_records WHERE journey_id = ${journeyId} AND kind = 'sent' ${version} GROUP BY step_id`),
    // SQLite's ->> returns a JSON number as a number, PostgreSQL's as text: String() makes both text.
    db.all(
      sql`SELECT step_id, detail->>'reason' AS reason, COUNT(*) AS count FROM step_records
          WHERE journey_id = ${journeyId} AND kind = 'skipped' ${version} GROUP BY 1, 2`,
    ),
    db.all(
      sql`SELECT ${utcDay('ended_at')} AS day, outcome, COUNT(*) AS runs FROM enrolments
          WHERE journey_id = ${journeyId} AND ended_at >= ${opts.since} AND outcome IS NOT NULL ${version} GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
  ]);
  let entered = 0;
  let active = 0;
  const outcomes: Record<string, number> = {};
  for (const row of runs) {
    entered += Number(row.runs);
    active += Number(row.active);
    if (row.outcome !== null) outcomes[String(row.outcome)] = Number(row.runs);
  }
  return {
    journeyId,
    versions: versions.map((row) => ({ version: String(row.version), deployedAt: String(row.deployed_at) })),
    entered,
    active,
    outcomes,
    steps: stepNumbers({ passed, sent, waiting, skips }),
    days: byDay(days),
  };
}

/** Each step's box: what passed it, who waits there, sends and skips; a step known to any query is listed. */
function stepNumbers(rows: { passed: readonly Row[]; sent: readonly Row[]; waiting: readonly Row[]; skips: readonly Row[] }): StepNumbers[] {
  const byStep = new Map<string, StepNumbers>();
  const of = (stepId: string): StepNumbers => {
    let s = byStep.get(stepId);
    if (s === undefined) {
      s = { stepId, passed: 0, waiting: 0, sent: 0, skipped: {} };
      byStep.set(stepId, s);
    }
    return s;
  };
  for (const row of rows.passed) of(String(row.step_id)).passed = Number(row.runs);
  for (const row of rows.sent) of(String(row.step_id)).sent = Number(row.sent);
  // A run that has recorded nothing yet has no current step: it is not at any box.
  for (const row of rows.waiting) if (row.current_step !== null) of(String(row.current_step)).waiting = Number(row.runs);
  for (const row of rows.skips) {
    const reason = row.reason === null || row.reason === undefined ? 'unknown' : String(row.reason);
    const skipped = of(String(row.step_id)).skipped;
    skipped[reason] = (skipped[reason] ?? 0) + Number(row.count);
  }
  return [...byStep.values()].sort((a, b) => (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
}

function byDay(rows: readonly Row[]): JourneyPageNumbers['days'] {
  const days = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const day = String(row.day);
    const outcomes = days.get(day) ?? {};
    outcomes[String(row.outcome)] = Number(row.runs);
    days.set(day, outcomes);
  }
  return [...days.entries()].map(([day, outcomes]) => ({ day, outcomes }));
}
