/** Where simulate puts a schedule journey's firings in a script, and whose they are. */
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { isFiring, isFiringOf, occurrenceOf, withScheduleFirings } from '../../cli/simulate-schedule';
import type { SimEvent } from '../../cli/simulate';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';

const compiled = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'audience-sweep'), activityCatalog);
const plan = (id: string): JourneyPlan => compiled.plans.get(id)!;
// weekly-news fires Mondays at 10:00 in Berlin; 2026-11-24 is a Tuesday.
const START = Date.parse('2026-11-24T10:00:00Z');
const MONDAY = Date.parse('2026-11-30T09:00:00Z');
const track = (atMs: number, event: string): SimEvent => ({ atMs, type: 'track', event, properties: {} });

test('each time of the schedule from the start to the last event is a firing, in order, after a scripted event of the same moment', () => {
  const script = [track(START, 'page_viewed'), track(MONDAY, 'page_viewed'), track(MONDAY + 7 * 86_400_000, 'page_viewed')];
  const events = withScheduleFirings([plan('weekly-news'), plan('announcement')], script, START);
  expect(events.map((e) => [new Date(e.atMs).toISOString(), isFiring(e) ? 'firing' : 'scripted'])).toEqual([
    ['2026-11-24T10:00:00.000Z', 'scripted'],
    ['2026-11-30T09:00:00.000Z', 'scripted'],
    ['2026-11-30T09:00:00.000Z', 'firing'],
    ['2026-12-07T09:00:00.000Z', 'scripted'],
    ['2026-12-07T09:00:00.000Z', 'firing'],
  ]);
  const firing = events[2];
  expect(firing).toMatchObject({ type: 'track', event: 'audience_entered', properties: { audience: 'with-email' } });
  expect(occurrenceOf(firing)).toBe('2026-11-30T09:00:00.000Z');
  expect(isFiringOf(plan('weekly-news'), firing)).toBe(true);
  expect(isFiringOf(plan('announcement'), firing)).toBe(false);
});

test('a script ending before the first time has no firing, and one without schedule journeys is left as it is', () => {
  const script = [track(START, 'page_viewed'), track(MONDAY - 1, 'page_viewed')];
  expect(withScheduleFirings([plan('weekly-news')], script, START).some(isFiring)).toBe(false);
  expect(withScheduleFirings([plan('announcement'), plan('welcome')], [...script, track(MONDAY + 1, 'x')], START)).toHaveLength(3);
});
