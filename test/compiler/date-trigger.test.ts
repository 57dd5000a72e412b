import { definitionsPerTest } from './helpers';

const { write, compile } = definitionsPerTest('date', {
  'templates/hello.yaml': 'template: hello\nchannel: email\nsubject: Hi\ntext: Hello\n',
});

describe('trigger: { date }', () => {
  it('defaults to every year at 09:00 on the customer\'s clock, entered once per occurrence', () => {
    write('journeys/birthday.yaml', 'journey: birthday\ntrigger:\n  date: profile.birthday\nsteps:\n  - send: hello\n');
    const result = compile();
    expect(result.errors).toEqual([]);
    const plan = result.plans.get('birthday');
    expect(plan?.trigger).toEqual({ date: 'profile.birthday', every: 'year', offsetDays: 0, at: '09:00', timezone: 'customer' });
    expect(plan?.reEntry).toEqual({ mode: 'always' });
  });

  it('reads every, offset, at, a fixed zone, where and rate as written; a {{ }} path and a one-digit hour are normalised', () => {
    write(
      'journeys/renewal.yaml',
      'journey: renewal\ntrigger:\n  date: "{{ profile.contract.renewal_date }}"\n  every: once\n  offset: -7d\n  at: "8:30"\n  timezone: Europe/Berlin\n  where: { profile.plan: pro }\nre_entry: never\nrate: 50\nsteps:\n  - send: hello\n',
    );
    const result = compile();
    expect(result.errors).toEqual([]);
    const plan = result.plans.get('renewal');
    expect(plan?.trigger).toEqual({
      date: 'profile.contract.renewal_date',
      every: 'once',
      offsetDays: -7,
      at: '08:30',
      timezone: 'Europe/Berlin',
      where: { path: 'profile.plan', op: 'eq', value: 'pro' },
    });
    expect(plan?.reEntry).toEqual({ mode: 'never' });
    expect(plan?.rate).toBe(50);
  });

  it('refuses a date beside an event, and a key the schema does not know', () => {
    write('journeys/both.yaml', 'journey: both\ntrigger:\n  event: signed_up\n  date: profile.birthday\nsteps:\n  - send: hello\n');
    write('journeys/stray.yaml', 'journey: stray\ntrigger:\n  date: profile.birthday\n  hour: 9\nsteps:\n  - send: hello\n');
    const result = compile();
    expect(result.errors.map((e) => [e.file, e.code])).toEqual([
      ['journeys/both.yaml', 'conflicting_keys'],
      ['journeys/stray.yaml', expect.stringMatching(/unknown_key|unrecognized/)],
    ]);
  });
});
