/**
 * What the web console reads from every LiveStore: the journeys page's numbers and the customer
 * search; called from the shared suite (live-store.suite.ts) so both databases run them.
 */
import type { LiveStore } from '../../profiles/store';

const T0 = '2024-05-01T10:00:00.000Z';
const DAY = 24 * 3_600_000;

function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

async function enter(store: LiveStore, journeyId: string, customerId: string, when: string): Promise<string> {
  const decision = await store.tryEnrol({ journeyId, customerId, version: 'v1', reEntry: { mode: 'always' }, at: when, workflowIdPrefix: `journey:${journeyId}:${customerId}`, input: null });
  if (!decision.enrolled) throw new Error(`${customerId} did not enter ${journeyId}`);
  return decision.enrolment.workflowId;
}

async function step(store: LiveStore, workflowId: string, journeyId: string, customerId: string, stepId: string, kind: string, when: string, detail?: Record<string, unknown>): Promise<void> {
  await store.recordStep({ idempotencyKey: `${workflowId}:${stepId}:${kind}`, workflowId, journeyId, version: 'v1', customerId, stepId, kind, at: when, ...(detail ? { detail } : {}) });
}

export function consoleStoreCases(store: () => LiveStore): void {
  describe('console queries', () => {
    it('counts each journey’s entries today, in seven days and in all, customers inside, outcomes, sends and skips', async () => {
      const s = store();
      const old = await enter(s, 'welcome', 'a', at(-30 * DAY));
      await step(s, old, 'welcome', 'a', 'hello', 'sent', at(-30 * DAY));
      await step(s, old, 'welcome', 'a', 'end', 'converted', at(-29 * DAY));
      const week = await enter(s, 'welcome', 'b', at(-3 * DAY));
      await step(s, week, 'welcome', 'b', 'hello', 'skipped', at(-3 * DAY), { reason: 'no_consent' });
      await step(s, week, 'welcome', 'b', 'end', 'completed', at(-2 * DAY));
      const today = await enter(s, 'welcome', 'c', at(1000));
      await step(s, today, 'welcome', 'c', 'hello', 'sent', at(2000));
      await step(s, today, 'welcome', 'c', 'wait', 'waiting', at(3000));
      const other = await enter(s, 'cart', 'a', at(0));
      await step(s, other, 'cart', 'a', 'mail', 'sent', at(1000));

      const overview = await s.journeyOverview(['cart', 'welcome'], { today: at(0), week: at(-7 * DAY) });
      expect(overview).toEqual([
        { journeyId: 'cart', entered: { today: 1, week: 1, all: 1 }, active: 1, outcomes: {}, sent: 1, skipped: 0 },
        { journeyId: 'welcome', entered: { today: 1, week: 2, all: 3 }, active: 1, outcomes: { converted: 1, completed: 1 }, sent: 2, skipped: 1 },
      ]);
      expect(await s.journeyOverview(['cart', 'welcome'], { today: at(DAY), week: at(DAY) })).toEqual(
        overview.map((o) => ({ ...o, entered: { today: 0, week: 0, all: o.entered.all } })),
      );
      // A journey not asked about is not counted.
      expect(await s.journeyOverview(['welcome'], { today: at(0), week: at(-7 * DAY) })).toEqual([overview[1]]
      );
    });

    it('answers zeros for a journey without runs, in the order asked, nothing for no journeys, and refuses a time that is no time', async () => {
      const s = store();
      const run = await enter(s, 'welcome', 'a', at(0));
      await step(s, run, 'welcome', 'a', 'hello', 'sent', at(0));
      const zero = { entered: { today: 0, week: 0, all: 0 }, active: 0, outcomes: {}, sent: 0, skipped: 0 };
      expect(await s.journeyOverview(['zeta', 'welcome', "it's"], { today: T0, week: T0 })).toEqual([
        { journeyId: 'zeta', ...zero },
        { journeyId: 'welcome', entered: { today: 1, week: 1, all: 1 }, active: 1, outcomes: {}, sent: 1, skipped: 0 },
        { journeyId: "it's", ...zero },
      ]);
      expect(await s.journeyOverview([], { today: T0, week: T0 })).toEqual([]);
      await expect(s.journeyOverview(['welcome'], { today: 'yesterday', week: T0 })).rejects.toThrow(/today/);
    });

    it('finds a customer by id, by email or phone in any spelling, and by a linked anonymous id', async () => {
      const s = store();
      await s.identify('u1', { email: 'Ann.Lee@Example.com', phone: '+49 30 1234567' });
      await s.identify('u2', { email: 'bob@example.com' });
      await s.resolveCustomer({ userId: 'u1', anonymousId: 'anon-1' });
      expect(await s.findCustomers('u1', 10)).toEqual(['u1']);
      expect(await s.findCustomers('  ann.lee@EXAMPLE.com ', 10)).toEqual(['u1']);
      expect(await s.findCustomers('+49 (30) 123-4567', 10)).toEqual(['u1']);
      expect(await s.findCustomers('anon-1', 10)).toEqual(['u1']);
      expect(await s.findCustomers('bob@example.com', 10)).toEqual(['u2']);
      expect(await s.findCustomers('nobody@example.com', 10)).toEqual([]);
      expect(await s.findCustomers('', 10)).toEqual([]);
      expect(await s.findCustomers("' OR 1=1 --", 10)).toEqual([]);
    });

    it('finds a customer known only by their runs, and lists several people sharing an address up to the limit', async () => {
      const s = store();
      await enter(s, 'welcome', 'ghost', at(0));
      expect(await s.findCustomers('ghost', 10)).toEqual(['ghost']);
      for (const id of ['p1', 'p2', 'p3']) await s.identify(id, { email: 'shared@example.com' });
      expect(await s.findCustomers('shared@example.com', 10)).toEqual(['p1', 'p2', 'p3']);
      expect(await s.findCustomers('shared@example.com', 2)).toEqual(['p1', 'p2']);
    });
  });
}
