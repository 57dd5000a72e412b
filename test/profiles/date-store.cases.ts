/**
 * A date journey's candidates in the store, on both databases (called from live-store.suite.ts):
 * SQL narrows to the customers whose date trait reads as one of a few days, in id order, leaves
 * out those inside the journey and says which occurrences each has run already.
 */
import { dueCandidates, dueOccurrence } from '../../core/date-triggers';
import type { DatePageOptions, LiveStore } from '../../profiles/store';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const AT = new Date(NOW).toISOString();
const yearly = { every: 'year', offsetDays: 0, at: '09:00' } as const;
const renewal = { every: 'once', offsetDays: -7, at: '09:00' } as const;

const PEOPLE: Record<string, Record<string, unknown>> = {
  ann: { birthday: '1990-12-03' },
  bob: { birthday: '1985-06-01' },
  cat: { contract: { renewal_date: '2026-12-10' } },
  dan: { birthday: '2000-02-29' },
  eve: { birthday: 'soon' },
  fay: { birthday: 19901203 },
  gus: { plan: 'pro' },
  hal: { birthday: '1990-12-02T23:30:00Z' },
  ivy: { birthday: ' 1990-12-04 ' },
  jon: { birthday: { year: 1990, month: 12, day: 3 } },
};

function options(rule: typeof yearly | typeof renewal, path: string, overrides: Partial<DatePageOptions> = {}): DatePageOptions {
  return { journeyId: 'birthday', path, every: rule.every, ...dueCandidates(rule, NOW), nowMs: NOW, after: '', limit: 100, ...overrides };
}

export function dateStoreCases(getStore: () => LiveStore): void {
  describe('date journey candidates', () => {
    beforeEach(async () => {
      for (const [id, traits] of Object.entries(PEOPLE)) await getStore().identify(id, traits);
    });

    it('reads only customers whose date falls on a day around now, nested traits too, garbage never', async () => {
      const store = getStore();
      const ids = async (opts: DatePageOptions) => (await store.datePage(opts)).candidates.map((c) => c.id);
      expect(await ids(options(yearly, 'profile.birthday'))).toEqual(['ann', 'hal', 'ivy']);
      expect(await ids(options(renewal, 'profile.contract.renewal_date'))).toEqual(['cat']);
      // Three days after 28 February 2027 there is no 29th: a leap-day birthday is a candidate on the 28th.
      expect(await ids(options(yearly, 'profile.birthday', { ...dueCandidates(yearly, Date.parse('2027-02-28T12:00:00Z')) }))).toEqual(['dan']);
      expect(await ids(options(yearly, 'profile.nothing'))).toEqual([]);
    });

    it('pages by keyset with the facts the where reads, and the candidates decided are those due', async () => {
      const store = getStore();
      const first = await store.datePage(options(yearly, 'profile.birthday', { limit: 2, alsoReads: [{ path: 'consent.email.marketing', op: 'eq', value: 'subscribed' }] }));
      expect(first.candidates.map((c) => c.id)).toEqual(['ann', 'hal']);
      expect(first.next).toBe('hal');
      expect(first.candidates[0].facts.profile.birthday).toBe('1990-12-03');
      expect(first.candidates[0].facts.consent).toEqual({ email: { marketing: 'unknown' } });
      const second = await store.datePage(options(yearly, 'profile.birthday', { limit: 2, after: 'hal' }));
      expect(second).toEqual({ candidates: [expect.objectContaining({ id: 'ivy' })] });
      // In Berlin at 13:00 on the 3rd: ann and hal (23:30 UTC on the 2nd is the 3rd there) are due, ivy tomorrow.
      const due = [...first.candidates, ...second.candidates].filter((c) => dueOccurrence(yearly, c.facts.profile.birthday, 'Europe/Berlin', NOW));
      expect(due.map((c) => c.id)).toEqual(['ann', 'hal']);
    });

    it('leaves out customers inside the journey and names the occurrences a candidate has run', async () => {
      const store = getStore();
      const enrol = (customerId: string, occurrence: string) =>
        store.tryEnrol({ journeyId: 'birthday', customerId, version: 'v1', reEntry: { mode: 'always' }, at: AT, workflowIdPrefix: `birthday:${customerId}`, input: null, occurrence });
      const ann = await enrol('ann', '2026');
      if (!ann.enrolled) throw new Error('ann was not enrolled');
      await enrol('hal', '2026');
      let page = await store.datePage(options(yearly, 'profile.birthday'));
      expect(page.candidates.map((c) => c.id)).toEqual(['ivy']);
      await store.recordStep({ idempotencyKey: 'ann-end', workflowId: ann.enrolment.workflowId, journeyId: 'birthday', version: 'v1', customerId: 'ann', stepId: 'end', kind: 'completed', at: AT });
      page = await store.datePage(options(yearly, 'profile.birthday'));
      expect(page.candidates.map((c) => [c.id, c.done])).toEqual([
        ['ann', ['2026']],
        ['ivy', []],
      ]);
    });
  });
}
