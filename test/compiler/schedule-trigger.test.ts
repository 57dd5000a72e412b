import { cronProblem, scheduleTimes } from '../../compiler/schedule-trigger';
import { definitionsPerTest } from './helpers';

const { write, compile } = definitionsPerTest('schedule', {
  'templates/hello.yaml': 'template: hello\nchannel: email\nsubject: Hi\ntext: Hello\n',
  'audiences/subscribers.yaml': 'audience: subscribers\nwhere:\n  consent.email.newsletter: subscribed\n',
});

describe('trigger: { schedule, audience }', () => {
  it('compiles to the cron, its zone and the audience\'s condition inlined, with where and rate beside it', () => {
    write(
      'journeys/weekly.yaml',
      'journey: weekly\ntrigger:\n  schedule: { cron: " 0 10 * * mon ", timezone: Europe/Berlin }\n  audience: subscribers\n  where: { profile.plan: pro }\nrate: 50\nsteps:\n  - send: hello\n',
    );
    const result = compile();
    expect(result.errors).toEqual([]);
    const plan = result.plans.get('weekly');
    expect(plan?.trigger).toEqual({
      schedule: { cron: '0 10 * * mon', timezone: 'Europe/Berlin' },
      audience: 'subscribers',
      members: result.audiences.get('subscribers')?.where,
      where: { path: 'profile.plan', op: 'eq', value: 'pro' },
    });
    expect(plan?.rate).toBe(50);
  });

  it('reads the cron in UTC when no zone is given, and enters each customer once per occurrence unless re_entry says otherwise', () => {
    write('journeys/daily.yaml', 'journey: daily\ntrigger:\n  schedule: { cron: "30 8 * * *" }\n  audience: subscribers\nsteps:\n  - send: hello\n');
    write('journeys/once.yaml', 'journey: once\ntrigger:\n  schedule: { cron: "30 8 * * *" }\n  audience: subscribers\nre_entry: never\nsteps:\n  - send: hello\n');
    const result = compile();
    expect(result.errors).toEqual([]);
    expect(result.plans.get('daily')?.trigger).toMatchObject({ schedule: { cron: '30 8 * * *', timezone: 'UTC' } });
    expect(result.plans.get('daily')?.reEntry).toEqual({ mode: 'always' });
    expect(result.plans.get('once')?.reEntry).toEqual({ mode: 'never' });
  });

  it('changes the version when the cron or the zone changes', () => {
    write('journeys/weekly.yaml', 'journey: weekly\ntrigger:\n  schedule: { cron: "0 10 * * mon" }\n  audience: subscribers\nsteps:\n  - send: hello\n');
    const utc = compile().plans.get('weekly')?.version;
    write('journeys/weekly.yaml', 'journey: weekly\ntrigger:\n  schedule: { cron: "0 10 * * mon", timezone: Europe/Berlin }\n  audience: subscribers\nsteps:\n  - send: hello\n');
    const berlin = compile().plans.get('weekly')?.version;
    write('journeys/weekly.yaml', 'journey: weekly\ntrigger:\n  schedule: { cron: "0 10 * * tue", timezone: Europe/Berlin }\n  audience: subscribers\nsteps:\n  - send: hello\n');
    const tuesday = compile().plans.get('weekly')?.version;
    expect(new Set([utc, berlin, tuesday]).size).toBe(3);
  });
});

describe('cronProblem', () => {
  it.each(['0 10 * * mon', '*/15 9-17 * * MON-FRI', '0 10 1,15 jan,jul *', '0 0 * * 0'])('accepts %s', (cron) => {
    expect(cronProblem(cron)).toBeUndefined();
  });

  it.each([
    ['0 10 * *', 'has 4 fields, a schedule has 5'],
    ['0 0 10 * * mon', 'has 6 fields, a schedule has 5'],
    ['61 10 * * *', 'has "61" as its minute: got value 61 expected range 0-59'],
    ['0 10 L * *', 'has "L" as its day of month, which is not a list of numbers, ranges and steps'],
    ['0 10 * * 1#2', 'has "1#2" as its day of week, which is not a list of numbers or names, ranges and steps'],
    ['0 10 * * abc', 'has "abc" as its day of week: cannot resolve alias "abc"'],
  ])('refuses %s: %s', (cron, problem) => {
    expect(cronProblem(cron)).toBe(problem);
  });
});

describe('scheduleTimes', () => {
  const berlin = { cron: '0 10 * * mon', timezone: 'Europe/Berlin' };

  it('lists the firings inside the span in its zone, across a change of daylight saving time', () => {
    const from = Date.parse('2026-03-20T00:00:00Z');
    const to = Date.parse('2026-04-07T00:00:00Z');
    // Berlin is UTC+1 until 29 March, UTC+2 after.
    expect(scheduleTimes(berlin, from, to).map((t) => new Date(t).toISOString())).toEqual(['2026-03-23T09:00:00.000Z', '2026-03-30T08:00:00.000Z', '2026-04-06T08:00:00.000Z']);
  });

  it('counts a firing at the start of the span and none at its end', () => {
    const at = Date.parse('2026-03-23T09:00:00Z');
    expect(scheduleTimes(berlin, at, at + 1)).toEqual([at]);
    expect(scheduleTimes(berlin, at - 1, at)).toEqual([]);
  });
});
