import { localClockText, msUntilWindow, zonedTimeToInstant } from '../../core/time';
import type { TimeWindow } from '../../compiler/plan';

const weekdays9to20: TimeWindow = { days: [1, 2, 3, 4, 5], startMinute: 9 * 60, endMinute: 20 * 60, timezone: 'customer' };
const at = (iso: string): number => Date.parse(iso);

describe('send windows in the customer timezone', () => {
  test('a moment inside the window needs no wait', () => {
    // Wednesday 10:00 in Berlin (UTC+1 in winter).
    expect(msUntilWindow(at('2026-11-25T09:00:00Z'), weekdays9to20, 'Europe/Berlin')).toBe(0);
  });

  test('an evening moment waits until 09:00 local the next weekday', () => {
    // Wednesday 21:30 Berlin → Thursday 09:00 Berlin = 08:00Z.
    const now = at('2026-11-25T20:30:00Z');
    expect(now + msUntilWindow(now, weekdays9to20, 'Europe/Berlin')).toBe(at('2026-11-26T08:00:00Z'));
  });

  test('a Friday night waits over the weekend to Monday morning', () => {
    const now = at('2026-11-28T03:00:00Z'); // Friday 22:00 in New York
    expect(now + msUntilWindow(now, weekdays9to20, 'America/New_York')).toBe(at('2026-11-30T14:00:00Z'));
  });

  test('the same UTC instant is inside the window in one zone and outside in another', () => {
    const now = at('2026-11-25T02:00:00Z'); // 21:00 Tuesday in New York, 11:00 Wednesday in Tokyo
    expect(msUntilWindow(now, weekdays9to20, 'Asia/Tokyo')).toBe(0);
    expect(msUntilWindow(now, weekdays9to20, 'America/New_York')).toBe(at('2026-11-25T14:00:00Z') - now);
  });

  test('09:00 after the spring DST change is the new offset (Berlin, 29 March 2026)', () => {
    // Saturday 28 March 21:00 CET; window every day; next 09:00 is Sunday 09:00 CEST = 07:00Z.
    const daily: TimeWindow = { ...weekdays9to20, days: [0, 1, 2, 3, 4, 5, 6] };
    const now = at('2026-03-28T20:00:00Z');
    expect(now + msUntilWindow(now, daily, 'Europe/Berlin')).toBe(at('2026-03-29T07:00:00Z'));
  });

  test('09:00 after the autumn DST change is the new offset (New York, 1 November 2026)', () => {
    const daily: TimeWindow = { ...weekdays9to20, days: [0, 1, 2, 3, 4, 5, 6] };
    const now = at('2026-11-01T02:00:00Z'); // Saturday 22:00 EDT
    expect(now + msUntilWindow(now, daily, 'America/New_York')).toBe(at('2026-11-01T14:00:00Z')); // 09:00 EST
  });

  test('an overnight window stays open after midnight', () => {
    const night: TimeWindow = { days: [0, 1, 2, 3, 4, 5, 6], startMinute: 22 * 60, endMinute: 6 * 60, timezone: 'UTC' };
    expect(msUntilWindow(at('2026-11-25T03:00:00Z'), night, 'UTC')).toBe(0);
    expect(msUntilWindow(at('2026-11-25T12:00:00Z'), night, 'UTC')).toBe(10 * 3_600_000);
  });

  test('a local time skipped by DST resolves one hour later', () => {
    // 02:30 does not exist in Berlin on 29 March 2026; it becomes 03:30 CEST = 01:30Z.
    expect(zonedTimeToInstant(2026, 3, 29, 150, 'Europe/Berlin')).toBe(at('2026-03-29T01:30:00Z'));
  });
});

describe('the local clock of an instant', () => {
  it('gives the weekday and time in the zone, across a date line and a DST change', () => {
    expect(localClockText(Date.parse('2026-11-24T10:00:00Z'), 'Europe/Berlin')).toBe('Tue 11:00');
    expect(localClockText(Date.parse('2026-11-24T10:00:00Z'), 'Pacific/Auckland')).toBe('Tue 23:00');
    expect(localClockText(Date.parse('2026-11-24T12:30:00Z'), 'Pacific/Auckland')).toBe('Wed 01:30');
    // Berlin leaves summer time on 2026-10-25 at 01:00 UTC.
    expect(localClockText(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('Sun 02:30');
    expect(localClockText(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('Sun 02:30');
    expect(localClockText(Date.parse('2026-10-25T00:00:00Z'), 'UTC')).toBe('Sun 00:00');
  });
});
