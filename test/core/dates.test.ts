import { datedWaitTarget, parseDateValue } from '../../core/dates';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string): number => Date.parse(iso);

describe('parseDateValue', () => {
  test('a date without a time is a local day, a date with an offset an exact instant', () => {
    expect(parseDateValue('2026-12-24')).toEqual({ wall: at('2026-12-24T00:00:00Z'), dateOnly: true });
    expect(parseDateValue('2026-12-24T09:30')).toEqual({ wall: at('2026-12-24T09:30:00Z'), dateOnly: false });
    expect(parseDateValue('2026-12-24T09:30:00Z')).toEqual({ instant: at('2026-12-24T09:30:00Z') });
    expect(parseDateValue('2026-12-24T09:30:00.250+01:00')).toEqual({ instant: at('2026-12-24T08:30:00.250Z') });
    expect(parseDateValue('2026-12-24 09:30:00-0500')).toEqual({ instant: at('2026-12-24T14:30:00Z') });
    expect(parseDateValue(at('2026-12-24T00:00:00Z'))).toEqual({ instant: at('2026-12-24T00:00:00Z') });
  });

  test('missing values, days that do not exist and words are not dates', () => {
    for (const v of [undefined, null, '', 'soon', 'December 24', '1', '2026-02-30', '2026-13-01', '2026-12-24T25:00', NaN, {}, true]) {
      expect(parseDateValue(v)).toBeUndefined();
    }
  });
});

describe('datedWaitTarget', () => {
  test('a birthday without a time is local midnight in the customer zone, not UTC midnight', () => {
    // Sydney is UTC+11 in December: midnight on the 24th there is 13:00 UTC on the 23rd.
    expect(datedWaitTarget('2026-12-24', { offsetMs: 0 }, 'Australia/Sydney')).toEqual({ untilMs: at('2026-12-23T13:00:00Z') });
    expect(datedWaitTarget('2026-12-24', { offsetMs: 0 }, 'America/Los_Angeles')).toEqual({ untilMs: at('2026-12-24T08:00:00Z') });
  });

  test('time and offset are local: 09:00 on the day, and days before at the same local hour across DST', () => {
    expect(datedWaitTarget('2026-12-24', { offsetMs: 0, minuteOfDay: 9 * 60 }, 'Australia/Sydney')).toEqual({ untilMs: at('2026-12-23T22:00:00Z') });
    // Berlin changes to summer time on 29 March 2026: 7 local days before 2 April 09:00 CEST is 26 March 09:00 CET.
    expect(datedWaitTarget('2026-04-02', { offsetMs: -7 * DAY, minuteOfDay: 9 * 60 }, 'Europe/Berlin')).toEqual({ untilMs: at('2026-03-26T08:00:00Z') });
    expect(datedWaitTarget('2026-04-02T09:00', { offsetMs: -7 * DAY }, 'Europe/Berlin')).toEqual({ untilMs: at('2026-03-26T08:00:00Z') });
  });

  test('an exact instant takes the offset as elapsed time, and a time of day on its local day', () => {
    expect(datedWaitTarget('2026-12-20T00:00:00Z', { offsetMs: -7 * DAY }, 'Europe/Berlin')).toEqual({ untilMs: at('2026-12-13T00:00:00Z') });
    // 23:30 UTC on the 20th is already the 21st in Berlin: 09:00 there.
    expect(datedWaitTarget('2026-12-20T23:30:00Z', { offsetMs: 0, minuteOfDay: 9 * 60 }, 'Europe/Berlin')).toEqual({ untilMs: at('2026-12-21T08:00:00Z') });
  });

  test('a missing date is invalid and reported as null, an unreadable one as found', () => {
    expect(datedWaitTarget(undefined, { offsetMs: 0 }, 'UTC')).toEqual({ invalid: null });
    expect(datedWaitTarget(null, { offsetMs: 0 }, 'UTC')).toEqual({ invalid: null });
    expect(datedWaitTarget('next tuesday', { offsetMs: 0 }, 'UTC')).toEqual({ invalid: 'next tuesday' });
    expect(datedWaitTarget('2026-02-30', { offsetMs: 0 }, 'UTC')).toEqual({ invalid: '2026-02-30' });
  });
});
