/**
 * The console's per-step numbers, counted as step records are written instead of over every
 * record each time a journey's page is read (schema v13):
 *
 * - `step_passes`: per journey, version and step, the runs that recorded anything there. A run
 *   records several entries at one step (a wait, then the event that ended it); it passed once.
 * - `split_arms`: per journey, version, split step and arm, the `branched` records naming that
 *   arm (`detail.variant`) of runs that exist, and how many of those runs converted.
 *
 * Both are exactly what the page counted from step_records before: `COUNT(DISTINCT workflow_id)`
 * per step, and a split's `branched` records joined to their runs. A run's records all carry its
 * own version (activities/record-step.ts), so a step's runs over all versions is the sum of its
 * runs per version. The writer (SqlStore.recordStep) holds the run (its enrolment row, else a
 * lock) while it counts, so "the run's first record at this step" and "the run converts now"
 * are decided one record at a time.
 *
 * `recountSteps()` over every journey is part of migration 13's script: changing it changes a
 * shipped migration, which test/profiles/sql/migrations.test.ts refuses.
 */
import type { StepRecord } from '../store';
import { sql, typed, type Sql } from './dialect';

/** Which step records a recount or an increment covers: all, one journey's, one record's, one run's. */
type Scope = Sql;

const ALL: Scope = sql`TRUE`;

/**
 * Adds to the arms the `branched` records in `scope` that name an arm: each enters its arm, and
 * `converted` says what a record adds to its arm's conversions. The one definition of an arm's
 * numbers, shared by the backfill, a new record and a run that converts. Rows are updated in
 * key order, so two runs converting at once never wait on each other's rows crosswise. (SQLite
 * needs the SELECT's WHERE to tell the upsert's ON CONFLICT from a join's ON.)
 */
function addToArms(scope: Scope, tally: { entered: Sql; converted: Sql }): Sql {
  return sql`INSERT INTO split_arms (journey_id, version, step_id, variant, entered, converted)
    SELECT s.journey_id, s.version, s.step_id, s.detail->>'variant', ${tally.entered}, ${tally.converted}
    FROM step_records s JOIN enrolments e ON e.workflow_id = s.workflow_id
    WHERE ${scope} AND s.kind = 'branched' AND s.detail->>'variant' IS NOT NULL
    GROUP BY s.journey_id, s.version, s.step_id, s.detail->>'variant'
    ORDER BY s.journey_id, s.version, s.step_id, s.detail->>'variant'
    ON CONFLICT (journey_id, version, step_id, variant)
      DO UPDATE SET entered = split_arms.entered + excluded.entered, converted = split_arms.converted + excluded.converted`;
}

const EACH_RECORD = { entered: sql`COUNT(*)`, converted: sql`COUNT(*) FILTER (WHERE e.outcome = 'converted')` };

/**
 * Counts both tables afresh from the step records of `journeyId` (or of every journey): the
 * migration's backfill, the benchmark's seed, and an erasure that deleted records.
 */
export function recountSteps(journeyId?: string): Sql[] {
  const scope = journeyId === undefined ? ALL : sql`journey_id = ${journeyId}`;
  const records = journeyId === undefined ? ALL : sql`s.journey_id = ${journeyId}`;
  return [
    sql`DELETE FROM step_passes WHERE ${scope}`,
    sql`DELETE FROM split_arms WHERE ${scope}`,
    sql`INSERT INTO step_passes (journey_id, version, step_id, runs)
        SELECT journey_id, version, step_id, COUNT(DISTINCT workflow_id) FROM step_records WHERE ${scope} GROUP BY journey_id, version, step_id`,
    addToArms(records, EACH_RECORD),
  ];
}

/** A record as counted: the fields the statements below read. */
type Counted = Pick<StepRecord, 'idempotencyKey' | 'workflowId' | 'journeyId' | 'version' | 'stepId' | 'kind' | 'detail'>;

/**
 * Whether a record may name an arm: what `addToArms` selects, decided before asking the database
 * (`detail->>'variant' IS NOT NULL` holds for a present, non-null variant), so the other records,
 * nearly all, cost no statement for it.
 */
function namesArm(record: Counted): boolean {
  return record.kind === 'branched' && record.detail?.variant !== undefined && record.detail.variant !== null;
}

/** The record just inserted under `idempotencyKey`, counted: its run passed its step if this is the run's first record there; its arm, if it names one. */
export function countRecord(record: Counted): Sql[] {
  const pass = sql`INSERT INTO step_passes (journey_id, version, step_id, runs)
        SELECT ${typed(record.journeyId, 'text')}, ${typed(record.version, 'text')}, ${typed(record.stepId, 'text')}, 1
        WHERE NOT EXISTS (SELECT 1 FROM step_records WHERE workflow_id = ${record.workflowId} AND step_id = ${record.stepId}
                            AND version = ${record.version} AND idempotency_key <> ${record.idempotencyKey})
        ON CONFLICT (journey_id, version, step_id) DO UPDATE SET runs = step_passes.runs + 1`;
  return namesArm(record) ? [pass, addToArms(sql`s.idempotency_key = ${record.idempotencyKey}`, EACH_RECORD)] : [pass];
}

/** A run that converts just now: every arm it entered gains a conversion. */
export function countConversion(workflowId: string): Sql {
  return addToArms(sql`s.workflow_id = ${workflowId}`, { entered: sql`0`, converted: sql`COUNT(*)` });
}
