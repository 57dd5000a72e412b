/**
 * The numbers of the console's journey page (`journeyPage`) on SQLite and (with
 * TEST_DATABASE_URL) PostgreSQL in a schema of its own: runs recorded through the store as the
 * workflows record them, then read back over all versions and over one.
 */
import { storePerTest, testDatabases } from '../support/databases';

const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe.each(testDatabases('journey-page'))('journeyPage on %s', (_name, create) => {
  const opened = storePerTest(create);

  /** Enters `customer` into `journey` at `version` and records `steps` ([step, kind, ms, detail?]) in order. */
  async function run(journey: string, version: string, customer: string, enteredMs: number, steps: [string, string, number, Record<string, unknown>?][]): Promise<void> {
    const decision = await opened.store.tryEnrol({ journeyId: journey, customerId: customer, version, reEntry: { mode: 'always' }, at: at(enteredMs), workflowIdPrefix: `journey:${journey}:${customer}`, input: null });
    if (!decision.enrolled) throw new Error(`${customer} did not enter`);
    const workflowId = decision.enrolment.workflowId;
    for (const [i, [stepId, kind, ms, detail]] of steps.entries()) {
      await opened.store.recordStep({ idempotencyKey: `${workflowId}:${i}`, workflowId, journeyId: journey, version, customerId: customer, stepId, kind, at: at(ms), ...(detail ? { detail } : {}) });
    }
  }

  async function seed(): Promise<void> {
    await opened.store.deployJourneys([{ journeyId: 'welcome', version: 'v1', plan: { journey: 'welcome' } }], at(-40 * DAY));
    await opened.store.deployJourneys([{ journeyId: 'welcome', version: 'v2', plan: { journey: 'welcome', changed: true } }], at(-DAY));
    // v1: a completes late on day -3 (UTC), b converts at the first instant of day -2, f ended long ago.
    await run('welcome', 'v1', 'a', -4 * DAY, [
      ['entry', 'entered', -4 * DAY],
      ['hello', 'sent', -4 * DAY],
      ['pause', 'waited', -4 * DAY],
      ['pause', 'event', -3 * DAY],
      ['pause', 'completed', Date.parse('2026-11-17T23:59:59.999Z') - T0],
    ]);
    await run('welcome', 'v1', 'b', -3 * DAY, [
      ['entry', 'entered', -3 * DAY],
      ['hello', 'skipped', -3 * DAY, { reason: 'no_address' }],
      ['pause', 'converted', Date.parse('2026-11-18T00:00:00.000Z') - T0],
    ]);
    await run('welcome', 'v1', 'f', -39 * DAY, [
      ['entry', 'entered', -39 * DAY],
      ['hello', 'skipped', -39 * DAY, { reason: 'no_consent' }],
      ['pause', 'completed', -38 * DAY],
    ]);
    // v2: c waits after its hello, d has recorded only its entry, e was skipped twice with and without a reason.
    await run('welcome', 'v2', 'c', 0, [
      ['entry', 'entered', 0],
      ['hello', 'sent', 0],
    ]);
    await run('welcome', 'v2', 'd', 0, [['entry', 'entered', 0]]);
    await run('welcome', 'v2', 'e', 0, [
      ['entry', 'entered', 0],
      ['hello', 'skipped', 0, { reason: 'no_address' }],
      ['hello', 'skipped', 1],
    ]);
    // Another journey's records are not this one's.
    await run('cart', 'v1', 'a', 0, [
      ['entry', 'entered', 0],
      ['hello', 'sent', 0],
    ]);
  }

  it('counts each step once per run, who waits where, sends and skips by reason, and runs ended per UTC day, over all versions', async () => {
    await seed();
    const n = await opened.store.journeyPage('welcome', { since: at(-30 * DAY) });
    expect(n).toEqual({
      journeyId: 'welcome',
      versions: [
        { version: 'v2', deployedAt: at(-DAY) },
        { version: 'v1', deployedAt: at(-40 * DAY) },
      ],
      entered: 6,
      active: 3,
      outcomes: { completed: 2, converted: 1 },
      steps: [
        { stepId: 'entry', passed: 6, waiting: 1, sent: 0, skipped: {} },
        { stepId: 'hello', passed: 5, waiting: 2, sent: 2, skipped: { no_address: 2, no_consent: 1, unknown: 1 } },
        { stepId: 'pause', passed: 3, waiting: 0, sent: 0, skipped: {} },
      ],
      days: [
        { day: '2026-11-17', outcomes: { completed: 1 } },
        { day: '2026-11-18', outcomes: { converted: 1 } },
      ],
    });
  });

  it('limits every number to one version when asked, and answers nothing but zeros for a journey never deployed', async () => {
    await seed();
    const v2 = await opened.store.journeyPage('welcome', { version: 'v2', since: at(-30 * DAY) });
    expect(v2).toMatchObject({
      entered: 3,
      active: 3,
      outcomes: {},
      steps: [
        { stepId: 'entry', passed: 3, waiting: 1, sent: 0, skipped: {} },
        { stepId: 'hello', passed: 2, waiting: 2, sent: 1, skipped: { no_address: 1, unknown: 1 } },
      ],
      days: [],
    });
    const v1 = await opened.store.journeyPage('welcome', { version: 'v1', since: at(-50 * DAY) });
    expect(v1.outcomes).toEqual({ completed: 2, converted: 1 });
    expect(v1.days.map((d) => d.day)).toEqual(['2026-10-13', '2026-11-17', '2026-11-18']);
    expect(await opened.store.journeyPage('nobody', { since: at(0) })).toEqual({ journeyId: 'nobody', versions: [], entered: 0, active: 0, outcomes: {}, steps: [], days: [] });
  });

  it('refuses a `since` that is no time', async () => {
    await expect(opened.store.journeyPage('welcome', { since: "yesterday'; --" })).rejects.toThrow(/since/);
  });
});
