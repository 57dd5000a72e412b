/**
 * The counters a journey's page and split results read (profiles/sql/counters.ts, schema v13)
 * against the counts they replace, taken over the step records themselves as before v13, on
 * SQLite and (with TEST_DATABASE_URL) PostgreSQL: replayed and several records per step, two
 * versions, a split with a holdout, records of one run racing each other, an erasure, and a
 * store of the older schema whose history the migration counts.
 */
import os from 'node:os';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';
import type { SplitCount } from '../../core/splits';
import { storePerTest, testDatabases, type TestDatabase } from '../support/databases';

const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const hash = (channel: string, address: string) => `${channel}:${address.length}`;

/** Raw SQL on the test database, beside the store: the pre-v13 queries and schema surgery. */
async function rawQuery(db: TestDatabase, text: string): Promise<Record<string, unknown>[]> {
  if (db.file !== undefined) {
    const raw = new Database(db.file);
    try {
      const statement = raw.prepare(text);
      return statement.reader ? (statement.all() as Record<string, unknown>[]) : (statement.run(), []);
    } finally {
      raw.close();
    }
  }
  const pool = new Pool({ connectionString: db.url, max: 1 });
  try {
    return (await pool.query(text)).rows as Record<string, unknown>[];
  } finally {
    await pool.end();
  }
}

const only = (version?: string, alias = '') => (version === undefined ? '' : `AND ${alias}version = '${version}'`);

/** The runs past each step as the page counted them before v13. */
async function passedFromRecords(db: TestDatabase, journey: string, version?: string): Promise<Record<string, number>> {
  const rows = await rawQuery(db, `SELECT step_id, COUNT(DISTINCT workflow_id) AS runs FROM step_records WHERE journey_id = '${journey}' ${only(version)} GROUP BY step_id`);
  return Object.fromEntries(rows.map((r) => [String(r.step_id), Number(r.runs)]));
}

/** A split's arms as splitCounts counted them before v13. */
async function armsFromRecords(db: TestDatabase, journey: string, version?: string): Promise<SplitCount[]> {
  const rows = await rawQuery(
    db,
    `SELECT s.step_id, s.detail->>'variant' AS variant, COUNT(*) AS entered, COUNT(*) FILTER (WHERE e.outcome = 'converted') AS converted
     FROM step_records s JOIN enrolments e ON e.workflow_id = s.workflow_id
     WHERE s.journey_id = '${journey}' AND s.kind = 'branched' AND s.detail->>'variant' IS NOT NULL ${only(version, 's.')}
     GROUP BY 1, 2`,
  );
  return sorted(rows.map((r) => ({ stepId: String(r.step_id), variant: String(r.variant), entered: Number(r.entered), converted: Number(r.converted) })));
}

function sorted(counts: SplitCount[]): SplitCount[] {
  return [...counts].sort((a, b) => `${a.stepId}/${a.variant}`.localeCompare(`${b.stepId}/${b.variant}`));
}

async function passedOnPage(store: LiveStore, journey: string, version?: string): Promise<Record<string, number>> {
  const page = await store.journeyPage(journey, { since: at(-1), ...(version === undefined ? {} : { version }) });
  return Object.fromEntries(page.steps.filter((s) => s.passed > 0).map((s) => [s.stepId, s.passed]));
}

describe.each(testDatabases('step-counters'))('step counters on %s', (_name, create) => {
  const opened = storePerTest(create);

  /** Enters `customer` into `journey` at `version`; returns the run's id. */
  async function enter(journey: string, version: string, customer: string): Promise<string> {
    const decision = await opened.store.tryEnrol({ journeyId: journey, customerId: customer, version, reEntry: { mode: 'always' }, at: at(0), workflowIdPrefix: `${journey}:${customer}`, input: null });
    if (!decision.enrolled) throw new Error(`${customer} did not enter`);
    return decision.enrolment.workflowId;
  }

  /** Records one step of a run; the key is the run and `n`, so the same `n` again is a replay. */
  function record(run: { workflowId: string; journey: string; version: string; customer: string }, n: number, stepId: string, kind: string, detail?: Record<string, unknown>): Promise<void> {
    return opened.store.recordStep({
      idempotencyKey: `${run.workflowId}:${n}`,
      workflowId: run.workflowId,
      journeyId: run.journey,
      version: run.version,
      customerId: run.customer,
      stepId,
      kind,
      at: at(n),
      ...(detail ? { detail } : {}),
    });
  }

  /**
   * Runs of `cart` in v1 and v2 through a split with a holdout, each waiting (a wait, then the
   * event that ended it), some records replayed, some runs converting and one converting twice.
   */
  async function seed(): Promise<void> {
    const runs: [string, string, string, string][] = [
      // customer, version, arm, end
      ['c1', 'v1', 'A', 'converted'],
      ['c2', 'v1', 'A', 'completed'],
      ['c3', 'v1', 'B', 'converted'],
      ['c4', 'v1', 'holdout', 'converted'],
      ['c5', 'v1', 'B', ''],
      ['c6', 'v2', 'A', 'converted'],
      ['c7', 'v2', 'holdout', 'completed'],
      ['c8', 'v2', 'B', ''],
    ];
    for (const [customer, version, arm, end] of runs) {
      const run = { workflowId: await enter('cart', version, customer), journey: 'cart', version, customer };
      await record(run, 1, 'entry', 'entered');
      await record(run, 1, 'entry', 'entered'); // a replayed record
      await record(run, 2, 'offer', 'branched', { variant: arm });
      await record(run, 2, 'offer', 'branched', { variant: arm }); // replayed: the arm is entered once
      await record(run, 3, 'vip', 'branched', { branch: 'then' }); // an `if`'s branch is no arm
      await record(run, 4, 'pause', 'waited');
      if (end === '') continue;
      await record(run, 5, 'pause', 'event');
      await record(run, 6, 'end', end);
      await record(run, 6, 'end', end); // a replayed ending converts once
      await record(run, 7, 'end', 'completed'); // an ended run keeps its first outcome
    }
    // The same customer again, in a new run of v1 (re-entry): a second run past every step.
    const again = { workflowId: await enter('cart', 'v1', 'c2'), journey: 'cart', version: 'v1', customer: 'c2' };
    await record(again, 1, 'entry', 'entered');
    await record(again, 2, 'offer', 'branched', { variant: 'B' });
    await record(again, 6, 'end', 'converted');
    // Another journey's records are not cart's.
    const other = { workflowId: await enter('welcome', 'v1', 'c1'), journey: 'welcome', version: 'v1', customer: 'c1' };
    await record(other, 1, 'entry', 'entered');
  }

  /** Every number the counters answer equals the count over the records, per version and over all. */
  async function expectCountersMatchRecords(journey = 'cart'): Promise<void> {
    for (const version of [undefined, 'v1', 'v2']) {
      expect(await passedOnPage(opened.store, journey, version)).toEqual(await passedFromRecords(opened.db, journey, version));
      expect(sorted(await opened.store.splitCounts(journey, version))).toEqual(await armsFromRecords(opened.db, journey, version));
    }
  }

  it('counts a run once per step and each arm entered and converted once, however often records repeat, per version and over all', async () => {
    await seed();
    expect(await passedOnPage(opened.store, 'cart')).toEqual({ entry: 9, offer: 9, vip: 8, pause: 8, end: 7 });
    expect(await passedOnPage(opened.store, 'cart', 'v2')).toEqual({ entry: 3, offer: 3, vip: 3, pause: 3, end: 2 });
    expect(sorted(await opened.store.splitCounts('cart'))).toEqual([
      { stepId: 'offer', variant: 'A', entered: 3, converted: 2 },
      { stepId: 'offer', variant: 'B', entered: 4, converted: 2 },
      { stepId: 'offer', variant: 'holdout', entered: 2, converted: 1 },
    ]);
    expect(sorted(await opened.store.splitCounts('cart', 'v1'))).toEqual([
      { stepId: 'offer', variant: 'A', entered: 2, converted: 1 },
      { stepId: 'offer', variant: 'B', entered: 3, converted: 2 },
      { stepId: 'offer', variant: 'holdout', entered: 1, converted: 1 },
    ]);
    await expectCountersMatchRecords();
    expect(await opened.store.splitCounts('never-deployed')).toEqual([]);
  });

  it('counts exactly when records of one run, replays among them, are written at the same time', async () => {
    const runs = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => ({ workflowId: await enter('race', 'v1', `r${i}`), journey: 'race', version: 'v1', customer: `r${i}` })),
    );
    await Promise.all(runs.map((run) => record(run, 1, 'offer', 'branched', { variant: run.customer < 'r5' ? 'A' : 'B' })));
    // Records of no enrolled run (the store holds no row of theirs to lock) count too.
    const strays = Array.from({ length: 4 }, (_, i) => ({ workflowId: `race:stray${i}`, journey: 'race', version: 'v1', customer: `s${i}` }));
    // Each run's wait, the event that ended it, its ending and replays of each, all at once: on
    // PostgreSQL these are transactions on separate connections.
    await Promise.all([
      ...runs.flatMap((run, i) => [
        record(run, 2, 'pause', 'waited'),
        record(run, 3, 'pause', 'event'),
        record(run, 2, 'pause', 'waited'),
        record(run, 4, 'end', i % 3 === 0 ? 'converted' : 'completed'),
        record(run, 4, 'end', i % 3 === 0 ? 'converted' : 'completed'),
      ]),
      ...strays.flatMap((run) => [record(run, 2, 'pause', 'waited'), record(run, 3, 'pause', 'event'), record(run, 4, 'pause', 'event')]),
    ]);
    expect(await passedOnPage(opened.store, 'race')).toEqual({ offer: 12, pause: 16, end: 12 });
    const converted = (await opened.store.splitCounts('race')).reduce((sum, arm) => sum + arm.converted, 0);
    expect(converted).toBe(4);
    await expectCountersMatchRecords('race');
  });

  it('keeps the numbers of a forgotten customer`s runs, and drops those of records no run of theirs holds', async () => {
    await seed();
    // A record of c3's under a run that is not c3's enrolment: an erasure deletes it.
    await record({ workflowId: 'stray:c3', journey: 'cart', version: 'v1', customer: 'c3' }, 1, 'stray-step', 'waited');
    expect((await passedOnPage(opened.store, 'cart', 'v1'))['stray-step']).toBe(1);
    const before = await opened.store.journeyPage('cart', { since: at(-1) });

    const result = await opened.store.forgetCustomer({ id: 'c3', at: at(100), hashAddress: hash });
    expect(result.erased.stepRecords).toBeGreaterThan(0);
    const after = await opened.store.journeyPage('cart', { since: at(-1) });
    expect(after.steps).toEqual(before.steps.filter((s) => s.stepId !== 'stray-step'));
    await expectCountersMatchRecords();
  });

  it('counts the history of a store of the older schema when it migrates, then goes on counting', async () => {
    await seed();
    const v12 = { passed: await passedFromRecords(opened.db, 'cart'), arms: await armsFromRecords(opened.db, 'cart') };
    await opened.store.close();
    // Back to schema v12: no counters (and v12's index for counting), the history in step_records and enrolments only.
    await rawQuery(opened.db, 'DROP TABLE step_passes');
    await rawQuery(opened.db, 'DROP TABLE split_arms');
    await rawQuery(opened.db, 'CREATE INDEX step_records_journey_step ON step_records (journey_id, step_id, workflow_id, kind)');
    await rawQuery(opened.db, 'DELETE FROM schema_migrations WHERE version = 13');

    opened.store = await openProfileStore(opened.db.url, os.tmpdir());
    expect(await passedOnPage(opened.store, 'cart')).toEqual(v12.passed);
    expect(sorted(await opened.store.splitCounts('cart'))).toEqual(v12.arms);
    await expectCountersMatchRecords();

    // c5 (arm B, waiting) converts after the upgrade; a new run enters A.
    const c5 = (await opened.store.enrolmentsFor('c5'))[0];
    await record({ workflowId: c5.workflowId, journey: 'cart', version: 'v1', customer: 'c5' }, 6, 'end', 'converted');
    const c9 = { workflowId: await enter('cart', 'v1', 'c9'), journey: 'cart', version: 'v1', customer: 'c9' };
    await record(c9, 2, 'offer', 'branched', { variant: 'A' });
    expect(sorted(await opened.store.splitCounts('cart', 'v1'))).toEqual([
      { stepId: 'offer', variant: 'A', entered: 3, converted: 1 },
      { stepId: 'offer', variant: 'B', entered: 3, converted: 3 },
      { stepId: 'offer', variant: 'holdout', entered: 1, converted: 1 },
    ]);
    await expectCountersMatchRecords();
  });
});
