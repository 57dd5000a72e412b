/**
 * Audiences in the store, on both databases (called from live-store.suite.ts): the SQL listing
 * answers the shared table of test/core/audience-cases.ts exactly as the pure evaluator does, and
 * the aggregates the router loads are counted by each event's own timestamp.
 */
import type { AudiencePage, LiveStore } from '../../profiles/store';
import { aggregateReads, audienceMatches } from '../../core/audiences';
import { AUDIENCE_CASES, compiledCases, NOW, WORLD } from '../core/audience-cases';

const RECEIVED = new Date(NOW).toISOString();

/** Stores the world: identifies, then every track event with its own (mostly past) timestamp. */
async function fillWorld(store: LiveStore): Promise<void> {
  for (const customer of WORLD) {
    if (customer.traits) await store.identify(customer.id, customer.traits);
    for (const [i, e] of customer.events.entries()) {
      await store.recordEvent({ messageId: `${customer.id}-${i}`, type: 'track', customerId: customer.id, userId: customer.id, event: e.event, timestamp: e.timestamp, receivedAt: RECEIVED });
    }
  }
  // Events of other kinds and names never count: an identify, and another event name.
  await store.recordEvent({ messageId: 'ada-identify', type: 'identify', customerId: 'ada', userId: 'ada', traits: {}, timestamp: RECEIVED, receivedAt: RECEIVED });
  await store.recordEvent({ messageId: 'eve-other', type: 'track', customerId: 'eve', userId: 'eve', event: 'order_refunded', timestamp: RECEIVED, receivedAt: RECEIVED });
}

export function audienceStoreCases(getStore: () => LiveStore): void {
  describe('audiences', () => {
    const plans = compiledCases();

    it('lists exactly the customers of every case of the shared table, with the count', async () => {
      const store = getStore();
      await fillWorld(store);
      const answers: Record<string, string[]> = {};
      const expected: Record<string, string[]> = {};
      for (const c of AUDIENCE_CASES) {
        const plan = plans.get(c.id);
        if (!plan) throw new Error(`no plan for ${c.id}`);
        const listing = await store.audience(plan.where, { nowMs: NOW, sampleSize: 100 });
        expect(listing.count).toBe(listing.sample.length);
        answers[c.id] = listing.sample;
        expected[c.id] = c.members;
      }
      expect(answers).toEqual(expected);
    });

    it('counts everyone but samples only as many ids as asked, in id order', async () => {
      const store = getStore();
      await fillWorld(store);
      const plan = plans.get('recent-buyer-or-pro');
      if (!plan) throw new Error('no plan');
      expect(await store.audience(plan.where, { nowMs: NOW, sampleSize: 2 })).toEqual({ count: 3, sample: ['ada', 'bob'] });
      expect(await store.audience(plan.where, { nowMs: NOW, sampleSize: 0 })).toEqual({ count: 3, sample: [] });
    });

    it('pages through the candidates in id order by keyset, and the pages decided together are the listing', async () => {
      const store = getStore();
      await fillWorld(store);
      for (const c of AUDIENCE_CASES) {
        const plan = plans.get(c.id);
        if (!plan) throw new Error(`no plan for ${c.id}`);
        const seen: string[] = [];
        const members: string[] = [];
        let after: string | undefined = '';
        while (after !== undefined) {
          const page: AudiencePage = await store.audiencePage(plan.where, { nowMs: NOW, after, limit: 2 });
          expect(page.candidates.length).toBeLessThanOrEqual(2);
          for (const { id, facts } of page.candidates) {
            seen.push(id);
            if (audienceMatches(plan.where, facts, NOW)) members.push(id);
          }
          after = page.next;
        }
        expect(seen).toEqual([...seen].sort());
        expect(new Set(seen).size).toBe(seen.length);
        expect({ id: c.id, members }).toEqual({ id: c.id, members: c.members });
      }
    });

    it('goes on past stretches of ids where nobody can match: such a page is empty and says where to go on', async () => {
      const store = getStore();
      // 25 profiles without orders come before the one buyer; a page of 1 looks at 10 ids at a time.
      for (let i = 0; i < 25; i++) await store.identify(`p${String(i).padStart(2, '0')}`, { plan: 'free' });
      await store.recordEvent({ messageId: 'q-order', type: 'track', customerId: 'q-buyer', userId: 'q-buyer', event: 'order_completed', timestamp: RECEIVED, receivedAt: RECEIVED });
      const buyers = { path: 'events.order_completed.count', op: 'gte' as const, value: 1 };
      const pages: string[][] = [];
      let after: string | undefined = '';
      while (after !== undefined) {
        const page: AudiencePage = await store.audiencePage(buyers, { nowMs: NOW, after, limit: 1 });
        pages.push(page.candidates.map((c) => c.id));
        after = page.next;
      }
      expect(pages.flat()).toEqual(['q-buyer']);
      expect(pages[0]).toEqual([]);
    });

    it('leaves out of a page customers inside the journey, with ever those who were ever in it, with enteredSince those who entered since', async () => {
      const store = getStore();
      await fillWorld(store);
      const plan = plans.get('never-browsed');
      if (!plan) throw new Error('no plan');
      const enrol = (customerId: string) =>
        store.tryEnrol({ journeyId: 'win-back', customerId, version: 'v1', reEntry: { mode: 'always' }, at: RECEIVED, workflowIdPrefix: `win-back:${customerId}`, input: null });
      const entered = await enrol('cyd');
      if (!entered.enrolled) throw new Error('cyd was not enrolled');
      await store.recordStep({ idempotencyKey: 'cyd-end', workflowId: entered.enrolment.workflowId, journeyId: 'win-back', version: 'v1', customerId: 'cyd', stepId: 'end', kind: 'completed', at: RECEIVED });
      await enrol('eve');
      const ids = async (ever: boolean) => (await store.audiencePage(plan.where, { nowMs: NOW, after: '', limit: 10, outside: { journeyId: 'win-back', ever } })).candidates.map((c) => c.id);
      expect(await ids(false)).toEqual(expect.arrayContaining(['cyd', 'fay']));
      expect(await ids(false)).not.toContain('eve');
      expect(await ids(true)).not.toContain('cyd');
      expect(await ids(true)).toContain('fay');
      // A cool-down: cyd entered at RECEIVED; left out while that entry is inside the cool-down, back once it is not.
      const since = async (at: number) =>
        (await store.audiencePage(plan.where, { nowMs: NOW, after: '', limit: 10, outside: { journeyId: 'win-back', ever: false, enteredSince: new Date(at).toISOString() } })).candidates.map((c) => c.id);
      expect(await since(NOW - 60_000)).not.toContain('cyd');
      expect(await since(NOW + 60_000)).toContain('cyd');
      expect(await since(NOW + 60_000)).not.toContain('eve');
    });

    it('loads one customer\'s aggregates by the events\' own timestamps, zero for events never sent', async () => {
      const store = getStore();
      await fillWorld(store);
      const reads = aggregateReads({
        all: [
          { path: 'events.order_completed.first_at', op: 'exists', value: true },
          { path: 'events.order_completed.last_at', op: 'exists', value: true },
          { path: 'events.order_completed.count', op: 'gte', value: 1 },
          { path: 'events.page_viewed.count_7d', op: 'gte', value: 1 },
          { path: 'events.page_viewed.count', op: 'gte', value: 1 },
          { path: 'events.signed_up.count', op: 'gte', value: 1 },
        ],
      });
      const fay = WORLD.find((c) => c.id === 'fay');
      expect(await store.eventAggregates('fay', reads, NOW)).toEqual({
        order_completed: { first_at: fay?.events[1].timestamp, last_at: fay?.events[0].timestamp, count: 2 },
        page_viewed: { count_7d: 0, count: 0 },
        signed_up: { count: 0 },
      });
      expect(await store.eventAggregates('bob', reads, NOW)).toMatchObject({ page_viewed: { count_7d: 2, count: 3 } });
      expect(await store.eventAggregates('nobody-at-all', reads, NOW)).toEqual({ order_completed: { count: 0 }, page_viewed: { count_7d: 0, count: 0 }, signed_up: { count: 0 } });
    });
  });
}
