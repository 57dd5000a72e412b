/**
 * Where simulate puts a date journey's entry in a script (the start, an identify that gives the
 * date on its day, or the fire time; whose entry it is), and the renewal example through the real
 * `unbroken simulate`: the reminder seven days ahead at 09:00 on the customer's clock.
 */
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { dateEntryOccurrence, isDateEntry, withDateEntries } from '../../cli/simulate-dates';
import type { SimEvent } from '../../cli/simulate';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';
import { unbroken } from '../support/cli';

const compiled = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'date-trigger'), activityCatalog);
const plan = (id: string): JourneyPlan => compiled.plans.get(id)!;
const START = Date.parse('2026-11-24T10:00:00Z');
const HOUR = 3_600_000;
const identify = (atMs: number, traits: Record<string, unknown>): SimEvent => ({ atMs, type: 'identify', traits });
const track = (atMs: number): SimEvent => ({ atMs, type: 'track', event: 'page_viewed', properties: {} });
const opts = (profile: Record<string, unknown>) => ({ profile: { id: 'ann', tags: [], ...profile }, startMs: START, defaultTimezone: 'UTC' });
const shape = (events: SimEvent[]) => events.map((e) => [new Date(e.atMs).toISOString(), isDateEntry(e) ? `entry ${dateEntryOccurrence(plan('birthday'), e) ?? dateEntryOccurrence(plan('renewal-notice'), e)}` : e.type]);

test('a birthday due at the start enters at the start; one later that day at 09:00 on the customer\'s clock', async () => {
  expect(shape(await withDateEntries([plan('birthday')], [track(START + HOUR)], opts({ birthday: '1990-11-24' })))).toEqual([
    ['2026-11-24T10:00:00.000Z', 'entry 2026'],
    ['2026-11-24T11:00:00.000Z', 'track'],
  ]);
  // Los Angeles is UTC-8: 09:00 on the 24th there is 17:00 UTC.
  expect(shape(await withDateEntries([plan('birthday')], [track(START + HOUR)], opts({ birthday: '1990-11-24', timezone: 'America/Los_Angeles' })))).toEqual([
    ['2026-11-24T11:00:00.000Z', 'track'],
    ['2026-11-24T17:00:00.000Z', 'entry 2026'],
  ]);
});

test('an identify that gives the date on its day enters with it; a day already past enters next year; no date never enters', async () => {
  const given = await withDateEntries([plan('birthday')], [identify(START + 2 * HOUR, { birthday: '1985-11-24' })], opts({}));
  expect(shape(given)).toEqual([
    ['2026-11-24T12:00:00.000Z', 'identify'],
    ['2026-11-24T12:00:00.000Z', 'entry 2026'],
  ]);
  expect(given[1]).toMatchObject({ type: 'track', event: 'date_reached', properties: { date: 'profile.birthday', occurrence: '2026' } });
  // A date a year away is looked for up to a year past the last event: next year's birthday.
  const later = await withDateEntries([plan('birthday')], [], opts({ birthday: '1990-11-23' }));
  expect(shape(later)).toEqual([['2027-11-23T09:00:00.000Z', 'entry 2027']]);
  expect(await withDateEntries([plan('birthday')], [], opts({ birthday: 'soon' }))).toEqual([]);
});

test('an entry belongs to its own journey: a where that fails at the fire time enters nobody, and others never take it', async () => {
  const renewal = { renewal_date: '2026-12-10' };
  expect(await withDateEntries([plan('renewal-notice')], [], opts({ ...renewal, plan: 'basic' }))).toEqual([]);
  const [entry] = await withDateEntries([plan('renewal-notice')], [], opts({ ...renewal, plan: 'pro' }));
  // 09:00 in New York on 3 December is 14:00 UTC.
  expect(new Date(entry.atMs).toISOString()).toBe('2026-12-03T14:00:00.000Z');
  expect(dateEntryOccurrence(plan('renewal-notice'), entry)).toBe('2026-12-10');
  expect(dateEntryOccurrence(plan('birthday'), entry)).toBeUndefined();
});

test('unbroken simulate renewal: the reminder on the simulated 1 December at 09:00 Berlin, seven days before the renewal', () => {
  const r = unbroken([
    'simulate',
    'renewal',
    '--profile',
    'definitions/examples/ann.json',
    '--events',
    'definitions/examples/renewal.events.jsonl',
    '--start',
    '2026-11-24T10:00:00Z',
    '--json',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as { outcome: string; timeline: { kind: string; at: string; template?: string; event?: string }[] };
  expect(report.outcome).toBe('completed');
  expect(report.timeline[0]).toMatchObject({ kind: 'entered', at: '2026-12-01T08:00:00.000Z', event: 'date_reached' });
  expect(report.timeline.find((t) => t.kind === 'sent')).toMatchObject({ template: 'renewal-reminder', at: '2026-12-01T08:00:00.000Z' });
}, 180_000);
