import { dateDayOf, dueCandidates, dueOccurrence, nextOccurrence, type DateRule } from '../../core/date-triggers';

const at = (iso: string): number => Date.parse(iso);
const yearly: DateRule = { every: 'year', offsetDays: 0, at: '09:00' };
const once: DateRule = { every: 'once', offsetDays: 0, at: '09:00' };

describe('dueOccurrence', () => {
  test('a birthday is due from 09:00 on the local day until that day ends, east of UTC', () => {
    // Berlin is UTC+1 in December: 09:00 there is 08:00 UTC.
    expect(dueOccurrence(yearly, '1990-12-03', 'Europe/Berlin', at('2026-12-03T07:59:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '1990-12-03', 'Europe/Berlin', at('2026-12-03T08:00:00Z'))).toEqual({ name: '2026', fireMs: at('2026-12-03T08:00:00Z') });
    expect(dueOccurrence(yearly, '1990-12-03', 'Europe/Berlin', at('2026-12-03T22:59:00Z'))?.name).toBe('2026');
    // Midnight in Berlin: the 4th, the day has passed and is not fired late.
    expect(dueOccurrence(yearly, '1990-12-03', 'Europe/Berlin', at('2026-12-03T23:00:00Z'))).toBeUndefined();
    // Kiritimati is UTC+14: the 3rd at 09:00 there is the 2nd at 19:00 UTC.
    expect(dueOccurrence(yearly, '1990-12-03', 'Pacific/Kiritimati', at('2026-12-02T19:00:00Z'))?.fireMs).toBe(at('2026-12-02T19:00:00Z'));
  });

  test('west of UTC the local day runs into the next UTC day', () => {
    // Los Angeles is UTC-8: 09:00 is 17:00 UTC, and the 3rd ends at 08:00 UTC on the 4th.
    expect(dueOccurrence(yearly, '1990-12-03', 'America/Los_Angeles', at('2026-12-03T16:59:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '1990-12-03', 'America/Los_Angeles', at('2026-12-03T17:00:00Z'))?.name).toBe('2026');
    expect(dueOccurrence(yearly, '1990-12-03', 'America/Los_Angeles', at('2026-12-04T07:59:00Z'))?.name).toBe('2026');
    expect(dueOccurrence(yearly, '1990-12-03', 'America/Los_Angeles', at('2026-12-04T08:00:00Z'))).toBeUndefined();
  });

  test('29 February fires on 28 February in other years, and on the 29th in leap years only', () => {
    expect(dueOccurrence(yearly, '2000-02-29', 'UTC', at('2027-02-28T10:00:00Z'))?.name).toBe('2027');
    expect(dueOccurrence(yearly, '2000-02-29', 'UTC', at('2027-03-01T10:00:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '2000-02-29', 'UTC', at('2028-02-28T10:00:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '2000-02-29', 'UTC', at('2028-02-29T10:00:00Z'))?.name).toBe('2028');
  });

  test('an offset moves the day across a month and a year; a yearly occurrence is named by its date\'s year', () => {
    const weekBefore: DateRule = { every: 'year', offsetDays: -7, at: '09:00' };
    expect(dueOccurrence(weekBefore, '1990-01-03', 'UTC', at('2026-12-27T09:00:00Z'))).toEqual({ name: '2027', fireMs: at('2026-12-27T09:00:00Z') });
    expect(dueOccurrence(weekBefore, '1990-01-03', 'UTC', at('2027-01-03T09:00:00Z'))).toBeUndefined();
    const renewal: DateRule = { every: 'once', offsetDays: -7, at: '09:00' };
    expect(dueOccurrence(renewal, '2027-03-03', 'UTC', at('2027-02-24T09:30:00Z'))).toEqual({ name: '2027-03-03', fireMs: at('2027-02-24T09:00:00Z') });
    const after: DateRule = { every: 'year', offsetDays: 3, at: '09:00' };
    expect(dueOccurrence(after, '1990-12-30', 'UTC', at('2027-01-02T09:00:00Z'))?.name).toBe('2026');
  });

  test('once fires on the date only, never in a later year; yearly never before the date\'s own year', () => {
    expect(dueOccurrence(once, '2026-12-03', 'UTC', at('2026-12-03T09:00:00Z'))?.name).toBe('2026-12-03');
    expect(dueOccurrence(once, '2026-12-03', 'UTC', at('2027-12-03T09:00:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '2030-05-01', 'UTC', at('2026-05-01T09:00:00Z'))).toBeUndefined();
    expect(dueOccurrence(yearly, '2030-05-01', 'UTC', at('2031-05-01T09:00:00Z'))?.name).toBe('2031');
  });

  test('a time the clocks skip fires at the moment they jump; a time they repeat fires once', () => {
    // Berlin skips 02:00-03:00 on 29 March 2026 (01:00 UTC): 02:30 fires at 03:00 CEST.
    const night: DateRule = { every: 'once', offsetDays: 0, at: '02:30' };
    expect(dueOccurrence(night, '2026-03-29', 'Europe/Berlin', at('2026-03-29T00:59:00Z'))).toBeUndefined();
    expect(dueOccurrence(night, '2026-03-29', 'Europe/Berlin', at('2026-03-29T01:00:00Z'))?.fireMs).toBe(at('2026-03-29T01:00:00Z'));
    // Berlin repeats 02:00-03:00 on 25 October 2026: one occurrence, at one of the two.
    const repeated = nextOccurrence(night, '2026-10-25', 'Europe/Berlin', at('2026-10-24T00:00:00Z'));
    expect([at('2026-10-25T00:30:00Z'), at('2026-10-25T01:30:00Z')]).toContain(repeated?.fireMs);
    // A week before a date after the change is still 09:00 local, in the other offset.
    const week: DateRule = { every: 'once', offsetDays: -7, at: '09:00' };
    expect(nextOccurrence(week, '2026-04-02', 'Europe/Berlin', at('2026-01-01T00:00:00Z'))?.fireMs).toBe(at('2026-03-26T08:00:00Z'));
  });

  test('an exact instant is read on its local day; anything but an ISO text never fires', () => {
    expect(dateDayOf('1990-12-02T23:30:00Z', 'Europe/Berlin')).toBe(at('1990-12-03T00:00:00Z'));
    expect(dateDayOf('1990-12-03T10:00', 'Pacific/Kiritimati')).toBe(at('1990-12-03T00:00:00Z'));
    for (const garbage of [undefined, null, '', 'soon', '2026-02-30', '03.12.1990', 660_182_400_000, {}, ['1990-12-03'], true]) {
      expect(dueOccurrence(yearly, garbage, 'UTC', at('2026-12-03T10:00:00Z'))).toBeUndefined();
      expect(nextOccurrence(yearly, garbage, 'UTC', at('2026-12-03T10:00:00Z'))).toBeUndefined();
    }
  });
});

describe('nextOccurrence', () => {
  test('the first firing at or after the time: today\'s if still to come, else next year\'s', () => {
    expect(nextOccurrence(yearly, '1990-12-03', 'UTC', at('2026-12-03T08:00:00Z'))).toEqual({ name: '2026', fireMs: at('2026-12-03T09:00:00Z') });
    expect(nextOccurrence(yearly, '1990-12-03', 'UTC', at('2026-12-03T09:00:00Z'))?.name).toBe('2026');
    expect(nextOccurrence(yearly, '1990-12-03', 'UTC', at('2026-12-03T09:00:01Z'))).toEqual({ name: '2027', fireMs: at('2027-12-03T09:00:00Z') });
    expect(nextOccurrence(yearly, '2000-02-29', 'UTC', at('2026-03-01T00:00:00Z'))?.fireMs).toBe(at('2027-02-28T09:00:00Z'));
    expect(nextOccurrence(once, '2026-12-03', 'UTC', at('2026-12-04T00:00:00Z'))).toBeUndefined();
  });
});

describe('dueCandidates', () => {
  const zones = ['UTC', 'Pacific/Kiritimati', 'Etc/GMT+12', 'America/Los_Angeles', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Europe/Berlin'];
  const texts = ['1990-12-03', '1990-12-02T23:30:00Z', '1990-12-04T01:00:00+14:00', '1990-12-02T10:00:00-12:00', '2000-02-29', '2026-12-10', '1990-01-03 07:00'];
  const rules: DateRule[] = [yearly, once, { every: 'year', offsetDays: -7, at: '00:00' }, { every: 'once', offsetDays: -7, at: '23:59' }, { every: 'year', offsetDays: 30, at: '12:00' }];

  test('every customer due at an instant, in any zone, has a date text the candidates name', () => {
    let due = 0;
    for (let t = at('2026-11-20T00:00:00Z'); t < at('2027-03-05T00:00:00Z'); t += 6 * 3_600_000) {
      for (const rule of rules) {
        const { days, occurrences } = dueCandidates(rule, t);
        for (const zone of zones) {
          for (const text of texts) {
            const found = dueOccurrence(rule, text, zone, t);
            if (!found) continue;
            due++;
            expect(days).toContain(rule.every === 'year' ? text.slice(5, 10) : text.slice(0, 10));
            expect(occurrences).toContain(found.name);
          }
        }
      }
    }
    // The sweep over this range does meet due customers, so the assertions above were reached.
    expect(due).toBeGreaterThan(100);
  });

  test('a few days around today, not the whole year', () => {
    const { days } = dueCandidates(yearly, at('2027-02-28T12:00:00Z'));
    expect(days).toEqual(['02-25', '02-26', '02-27', '02-28', '03-01', '03-02', '03-03', '02-29']);
    expect(dueCandidates(once, at('2026-12-03T12:00:00Z')).days).toContain('2026-12-03');
  });
});
