import { definitionsPerTest } from './helpers';

const { write, compile } = definitionsPerTest('audiences', {
  'templates/hello.yaml': 'template: hello\nchannel: email\nsubject: Hi\ntext: Hello\n',
  'audiences/buyers.yaml': 'audience: buyers\nwhere:\n  events.order_completed.count: { gte: 1 }\n',
  'audiences/lapsed.yaml': 'audience: lapsed\nwhere:\n  in_audience: buyers\n  events.order_completed.last_at: { before: -60d }\n',
});

describe('audiences in journeys', () => {
  it('puts the audience\'s own condition into the plan, in_audience within it resolved too', () => {
    write('journeys/visit.yaml', 'journey: visit\ntrigger:\n  event: page_viewed\n  where: { in_audience: lapsed }\nsteps:\n  - send: hello\n');
    const result = compile();
    expect(result.errors).toEqual([]);
    expect(result.audiences.get('lapsed')?.where).toEqual({
      all: [
        { path: 'events.order_completed.count', op: 'gte', value: 1 },
        { path: 'events.order_completed.last_at', op: 'before', value: { relativeMs: -60 * 86_400_000 } },
      ],
    });
    expect(result.plans.get('visit')?.trigger.where).toEqual(result.audiences.get('lapsed')?.where);
    // Entry is decided by the router: the plan needs no activity for it.
    expect(Object.keys(result.plans.get('visit')?.activities ?? {})).not.toContain('loadAggregates');
  });

  it('pins loadAggregates only into plans whose if steps read an audience or events.*', () => {
    write('journeys/branch.yaml', 'journey: branch\ntrigger: { event: page_viewed }\nsteps:\n  - wait: 1d\n  - if: { in_audience: lapsed }\n    then:\n      - send: hello\n');
    write('journeys/plain.yaml', 'journey: plain\ntrigger: { event: page_viewed }\nsteps:\n  - if: { profile.vip: true }\n    then:\n      - send: hello\n');
    const result = compile();
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.plans.get('branch')?.activities ?? {})).toContain('loadAggregates');
    expect(Object.keys(result.plans.get('plain')?.activities ?? {})).not.toContain('loadAggregates');
  });

  it('gives a journey a new version when an audience it reads changes, and only then', () => {
    write('journeys/visit.yaml', 'journey: visit\ntrigger:\n  event: page_viewed\n  where: { in_audience: lapsed }\nsteps:\n  - send: hello\n');
    write('journeys/plain.yaml', 'journey: plain\ntrigger: { event: page_viewed }\nsteps:\n  - send: hello\n');
    const before = compile();
    write('audiences/lapsed.yaml', 'audience: lapsed\nwhere:\n  in_audience: buyers\n  events.order_completed.last_at: { before: -90d }\n');
    const after = compile();
    expect(after.plans.get('visit')?.version).not.toBe(before.plans.get('visit')?.version);
    expect(after.plans.get('plain')?.version).toBe(before.plans.get('plain')?.version);
  });

  it('compiles nothing from a journey whose audience has errors, and reports them in the audience file only', () => {
    write('audiences/lapsed.yaml', 'audience: lapsed\nwhere:\n  events.order_completed.last: { before: -60d }\n');
    write('journeys/visit.yaml', 'journey: visit\ntrigger:\n  event: page_viewed\n  where: { in_audience: lapsed }\nsteps:\n  - send: hello\n');
    const result = compile();
    expect(result.errors.map((e) => [e.file, e.code])).toEqual([['audiences/lapsed.yaml', 'invalid_events_path']]);
    expect(result.plans.has('visit')).toBe(false);
  });
});

describe('journeys that start from an audience', () => {
  it('compiles trigger: { audience } to the audience\'s condition, with where beside it and left_audience as an exit', () => {
    write(
      'journeys/win-back.yaml',
      'journey: win-back\ntrigger:\n  audience: lapsed\n  where: { profile.plan: pro }\nre_entry: 90d\nexit_when:\n  - left_audience: true\n  - event: unsubscribed\nsteps:\n  - send: hello\n',
    );
    const result = compile();
    expect(result.errors).toEqual([]);
    const plan = result.plans.get('win-back');
    expect(plan?.trigger).toEqual({ audience: 'lapsed', members: result.audiences.get('lapsed')?.where, where: { path: 'profile.plan', op: 'eq', value: 'pro' } });
    expect(plan?.exitWhen).toEqual([{ event: '$left_audience' }, { event: 'unsubscribed' }]);
    expect(plan?.reEntry).toEqual({ mode: 'cooldown', ms: 90 * 86_400_000 });
  });

  it('leaves event triggers as they were: no audience key, so their versions stay', () => {
    write('journeys/visit.yaml', 'journey: visit\ntrigger:\n  event: page_viewed\n  key: "{{ trigger.properties.page }}"\nsteps:\n  - send: hello\n');
    expect(Object.keys(compile().plans.get('visit')?.trigger ?? {})).toEqual(['event', 'key']);
  });

  it('changes the journey\'s version when the audience it starts from changes', () => {
    write('journeys/win-back.yaml', 'journey: win-back\ntrigger:\n  audience: lapsed\nsteps:\n  - send: hello\n');
    const before = compile().plans.get('win-back')?.version;
    write('audiences/buyers.yaml', 'audience: buyers\nwhere:\n  events.order_completed.count: { gte: 2 }\n');
    expect(compile().plans.get('win-back')?.version).not.toBe(before);
  });
});
