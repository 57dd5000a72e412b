import type { TimeWindow } from '../../../compiler/plan';
import { dateTarget, sendWindowFor, windowWait } from '../../../workflows/pure/schedule';

const HOUR = 3_600_000;
const weekdays9to17 = (timezone: string): TimeWindow => ({ days: [1, 2, 3, 4, 5], startMinute: 9 * 60, endMinute: 17 * 60, timezone });

describe('windowWait', () => {
  test('inside the window there is nothing to wait for', () => {
    // Tuesday 24 November 2026, 10:00 UTC = 11:00 in Berlin.
    expect(windowWait(Date.parse('2026-11-24T10:00:00Z'), weekdays9to17('Europe/Berlin'), undefined, 'UTC')).toEqual({ delayMs: 0, zone: 'Europe/Berlin' });
  });

  test('a customer window is read in the profile zone', () => {
    // Tuesday 06:00 UTC is 07:00 in Berlin: two hours until 09:00 there.
    expect(windowWait(Date.parse('2026-11-24T06:00:00Z'), weekdays9to17('customer'), 'Europe/Berlin', 'UTC')).toEqual({ delayMs: 2 * HOUR, zone: 'Europe/Berlin' });
  });

  test('a missing or unknown profile zone falls back to the configured default', () => {
    const at = Date.parse('2026-11-24T06:00:00Z');
    expect(windowWait(at, weekdays9to17('customer'), undefined, 'UTC')).toEqual({ delayMs: 3 * HOUR, zone: 'UTC' });
    expect(windowWait(at, weekdays9to17('customer'), 'Mars/Olympus', 'UTC').zone).toBe('UTC');
  });

  test('after Friday closing time the wait runs to Monday morning', () => {
    // Friday 27 November 2026, 18:00 UTC → Monday 30 November, 09:00 UTC.
    const { delayMs } = windowWait(Date.parse('2026-11-27T18:00:00Z'), weekdays9to17('UTC'), undefined, 'UTC');
    expect(new Date(Date.parse('2026-11-27T18:00:00Z') + delayMs).toISOString()).toBe('2026-11-30T09:00:00.000Z');
  });
});

describe('sendWindowFor', () => {
  const journey = weekdays9to17('customer');
  const quiet = { ...weekdays9to17('UTC'), days: [0, 1, 2, 3, 4, 5, 6] };

  test('the journey send window wins over configured quiet hours', () => {
    expect(sendWindowFor(journey, quiet, 'marketing')).toBe(journey);
  });

  test('journeys without a window use the configured quiet hours, or none', () => {
    expect(sendWindowFor(undefined, quiet, 'marketing')).toBe(quiet);
    expect(sendWindowFor(undefined, undefined, 'marketing')).toBeUndefined();
  });

  test('transactional messages never wait for a window', () => {
    expect(sendWindowFor(journey, quiet, 'transactional')).toBeUndefined();
  });
});

describe('dateTarget', () => {
  test('the date plus the offset', () => {
    expect(dateTarget('2026-12-20T00:00:00Z', -7 * 24 * HOUR)).toEqual({ untilMs: Date.parse('2026-12-13T00:00:00Z') });
    expect(dateTarget(Date.parse('2026-12-20T00:00:00Z'), HOUR)).toEqual({ untilMs: Date.parse('2026-12-20T01:00:00Z') });
  });

  test('a missing date is invalid and reported as null', () => {
    expect(dateTarget(undefined, 0)).toEqual({ invalid: null });
    expect(dateTarget(null, 0)).toEqual({ invalid: null });
  });

  test('an empty or unreadable date is invalid and reported as found', () => {
    expect(dateTarget('', 0)).toEqual({ invalid: '' });
    expect(dateTarget('next tuesday', 0)).toEqual({ invalid: 'next tuesday' });
    expect(dateTarget({ at: 'x' }, 0)).toEqual({ invalid: { at: 'x' } });
  });
});
