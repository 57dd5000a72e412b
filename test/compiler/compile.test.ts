import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileDefinitions, compileJourneySource, formatError, type CompileError } from '../../compiler/index';
import type { JourneyPlan, Step } from '../../compiler/plan';
import { LIQUID_LIMITS } from '../../templating/liquid';
import { fakeActivities, fakeBuiltinPolicies, fakeOptions } from './helpers';

const validDir = path.join(__dirname, 'fixtures', 'valid');

function copyToTemp(dir: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-compiler-'));
  fs.cpSync(dir, tmp, { recursive: true });
  return tmp;
}

const env = { templates: new Map(), activities: fakeActivities, builtinPolicies: fakeBuiltinPolicies };
const names = { file: 'journeys/j.yaml', errorFile: 'journeys/j.yaml' };
const compileText = (text: string) => compileJourneySource(text, names, env);

describe('compileDefinitions on a valid folder', () => {
  const result = compileDefinitions(validDir, fakeOptions(validDir));
  const plan = result.plans.get('every-step') as JourneyPlan;

  test('reports no errors and returns the plan and every template', () => {
    expect(result.errors).toEqual([]);
    expect(plan).toBeDefined();
    expect([...result.templates.keys()].sort()).toEqual(['cart-reminder', 'cart-sms', 'unused']);
  });

  test('compiles the top level: trigger, re-entry, goal, exits and send window', () => {
    expect(plan.file).toBe('journeys/every-step.yaml');
    expect(plan.trigger).toEqual({ event: 'cart_abandoned', where: { path: 'trigger.properties.total', op: 'gte', value: 20 } });
    expect(plan.reEntry).toEqual({ mode: 'cooldown', ms: 30 * 86_400_000 });
    expect(plan.goal?.where).toEqual({ path: 'event.properties.cart_id', op: 'eq', value: '{{ trigger.properties.cart_id }}' });
    expect(plan.exitWhen).toEqual([{ event: 'cart_emptied' }]);
    expect(plan.sendWindow).toEqual({ days: [1, 2, 3, 4, 5], startMinute: 540, endMinute: 1200, timezone: 'customer' });
  });

  test('compiles every step kind with durations in milliseconds and windows in minutes', () => {
    const [wait, waitUntil, waitUntilDate, send, waitFor, split] = plan.steps;
    expect(wait).toEqual({ id: 'wait-1', kind: 'wait', ms: 36 * 3_600_000 });
    expect(waitUntil).toEqual({
      id: 'wait_until-2',
      kind: 'wait_until',
      window: { days: [0, 6], startMinute: 630, endMinute: 631, timezone: 'Europe/Berlin' },
    });
    expect(waitUntilDate).toEqual({ id: 'wait_until-3', kind: 'wait_until_date', date: '{{ profile.renewal_at }}', offsetMs: -7 * 86_400_000, onInvalid: 'exit' });
    expect(send).toEqual({ id: 'first-reminder', name: 'First reminder', kind: 'send', template: 'cart-reminder' });
    expect(waitFor).toMatchObject({ kind: 'wait_for', event: 'cart_viewed', withinMs: 23 * 3_600_000 });
    expect(split).toMatchObject({ kind: 'split', holdout: 10, variants: [{ name: 'control', weight: 1, steps: [] }, { name: 'slack', weight: 3 }] });
    const nested = (waitFor as Extract<Step, { kind: 'wait_for' }>).onTimeout[0] as Extract<Step, { kind: 'if' }>;
    expect(nested.condition).toEqual({
      all: [
        { any: [{ path: 'profile.vip', op: 'eq', value: true }, { path: 'profile.country', op: 'in', value: ['DE', 'AT', 'CH'] }] },
        { path: 'profile.created_at', op: 'before', value: { relativeMs: -30 * 86_400_000 } },
      ],
    });
    expect(nested.else[0]).toEqual({
      id: 'wait_for-5.on_timeout.if-1.else.update_profile-1',
      kind: 'update_profile',
      set: { last_cart_nudge_at: '{{ now }}' },
      unset: ['cart_token'],
      increment: { cart_nudges: 1 },
      addTags: ['cart-abandoner'],
      removeTags: ['fresh'],
    });
  });

  test('derives nested step ids from the parent id, the branch and the position', () => {
    const ids: string[] = [];
    const walk = (steps: Step[]) =>
      steps.forEach((s) => {
        ids.push(s.id);
        if (s.kind === 'wait_for') [s.onEvent, s.onTimeout].forEach(walk);
        if (s.kind === 'if') [s.then, s.else].forEach(walk);
        if (s.kind === 'split') s.variants.forEach((v) => walk(v.steps));
      });
    walk(plan.steps);
    expect(ids).toEqual([
      'wait-1',
      'wait_until-2',
      'wait_until-3',
      'first-reminder',
      'wait_for-5',
      'wait_for-5.on_event.send-1',
      'wait_for-5.on_timeout.if-1',
      'wait_for-5.on_timeout.if-1.then.exit-1',
      'wait_for-5.on_timeout.if-1.else.update_profile-1',
      'split-6',
      'split-6.slack.do-1',
    ]);
  });

  test('embeds only the templates the journey sends, and the policies of built-in and called activities', () => {
    expect(Object.keys(plan.templates).sort()).toEqual(['cart-reminder', 'cart-sms']);
    expect(plan.templates['cart-sms']).toEqual({
      id: 'cart-sms',
      channel: 'sms',
      category: 'transactional',
      body: 'Your cart is waiting: {{ data.link }}',
      file: 'templates/cart-sms.yaml',
    });
    expect(plan.templates['cart-reminder'].category).toBe('marketing');
    expect(Object.keys(plan.activities).sort()).toEqual(['loadProfile', 'notify-slack', 'recordStep', 'sendMessage', 'updateProfile']);
    expect(plan.activities['notify-slack']).toEqual(fakeActivities['notify-slack'].policy);
  });

  test('deep-freezes the plan so no workflow can change it', () => {
    expect(Object.isFrozen(plan)).toBe(true);
    expect(Object.isFrozen(plan.steps[0])).toBe(true);
    expect(Object.isFrozen(plan.templates['cart-reminder'])).toBe(true);
    expect(Object.isFrozen(fakeBuiltinPolicies.sendMessage)).toBe(false);
  });
});

describe('plan versions', () => {
  test('identical content gets the identical 12-hex version, wherever it is compiled', () => {
    const a = compileDefinitions(validDir, fakeOptions(validDir)).plans.get('every-step');
    const tmp = copyToTemp(validDir);
    const b = compileDefinitions(tmp, fakeOptions(tmp)).plans.get('every-step');
    expect(a?.version).toMatch(/^[0-9a-f]{12}$/);
    expect(b?.version).toBe(a?.version);
  });

  test('a changed template used by the journey gives a new version; comments do not', () => {
    const tmp = copyToTemp(validDir);
    const before = compileDefinitions(tmp, fakeOptions(tmp)).plans.get('every-step')?.version;
    const journeyFile = path.join(tmp, 'journeys', 'every-step.yaml');
    fs.writeFileSync(journeyFile, `# a comment only\n${fs.readFileSync(journeyFile, 'utf8')}`);
    expect(compileDefinitions(tmp, fakeOptions(tmp)).plans.get('every-step')?.version).toBe(before);
    const templateFile = path.join(tmp, 'templates', 'cart-sms.yaml');
    fs.writeFileSync(templateFile, fs.readFileSync(templateFile, 'utf8').replace('waiting', 'still waiting'));
    expect(compileDefinitions(tmp, fakeOptions(tmp)).plans.get('every-step')?.version).not.toBe(before);
  });
});

describe('error collection', () => {
  test('collects every problem in a file instead of stopping at the first', () => {
    const { plan, errors } = compileText(
      [
        'journey: j',
        'trigger: { event: e, where: { profile.plan: { eqq: pro } } }',
        'steps:',
        '  - wait: 3',
        '  - sned: hello',
        '  - if: { profile.vip: true }',
        '    then:',
        '      - wait: forever',
        '      - do: nope',
      ].join('\n'),
    );
    expect(plan).toBeUndefined();
    expect(errors.map((e: CompileError) => [e.code, e.path, e.step])).toEqual([
      ['unknown_operator', 'trigger.where["profile.plan"].eqq', undefined],
      ['duration_without_unit', 'steps[0].wait', 'wait-1'],
      ['unknown_step_kind', 'steps[1].sned', undefined],
      ['invalid_duration', 'steps[2].then[0].wait', 'if-3.then.wait-1'],
      ['unknown_activity', 'steps[2].then[1].do', 'if-3.then.do-2'],
    ]);
  });

  test('collects errors across files, sorted by file and position', () => {
    const tmp = copyToTemp(validDir);
    fs.writeFileSync(path.join(tmp, 'journeys', 'a.yaml'), 'journey: a\ntrigger: { event: x }\nsteps:\n  - wait: 1y\n');
    fs.writeFileSync(path.join(tmp, 'templates', 'b.yaml'), 'template: b\nchannel: email\n');
    const result = compileDefinitions(tmp, fakeOptions(tmp));
    expect(result.errors.map((e) => `${e.file}:${e.line} ${e.code}`)).toEqual([
      'journeys/a.yaml:4 invalid_duration',
      'templates/b.yaml:2 missing_key',
      'templates/b.yaml:2 missing_key',
    ]);
    expect([...result.plans.keys()]).toEqual(['every-step']);
  });

  test('reports file names relative to the working directory it is given', () => {
    const tmp = copyToTemp(validDir);
    fs.writeFileSync(path.join(tmp, 'journeys', 'a.yaml'), 'journey: a\n');
    const result = compileDefinitions(tmp, fakeOptions(path.dirname(tmp)));
    expect(result.errors[0].file).toBe(`${path.basename(tmp)}/journeys/a.yaml`);
  });

  test('refuses files over 256 KiB without parsing them', () => {
    const tmp = copyToTemp(validDir);
    fs.writeFileSync(path.join(tmp, 'journeys', 'huge.yaml'), `journey: huge\n#${'x'.repeat(300 * 1024)}\n`);
    const [error] = compileDefinitions(tmp, fakeOptions(tmp)).errors;
    expect(error).toMatchObject({ code: 'file_too_large', file: 'journeys/huge.yaml', line: 1, column: 1 });
  });

  test('allows a few aliases but stops an alias bomb quickly', () => {
    const ok = compileText('journey: j\ntrigger: { event: e }\nsteps:\n  - &w { wait: 1h }\n  - *w\n');
    expect(ok.errors).toEqual([]);
    const started = Date.now();
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const bomb = compileText(levels.join('\n'));
    expect(bomb.errors.map((e) => e.code)).toEqual(['yaml_alias_limit']);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('rejects event.* outside goal, exit_when and wait_for, and accepts it inside them', () => {
    const ok = compileText(
      'journey: j\ntrigger: { event: e }\nexit_when:\n  - { event: x, where: { event.properties.a: 1 } }\nsteps:\n  - wait_for: { event: y, within: 1h, where: { event.properties.b: { exists: true } } }\n',
    );
    expect(ok.errors).toEqual([]);
    const bad = compileText('journey: j\ntrigger: { event: e }\nsteps:\n  - if: { event.properties.a: 1 }\n    then: []\n');
    expect(bad.errors.map((e) => e.code)).toEqual(['event_outside_matcher']);
  });

  test('checks {{ }} expressions in condition values are plain paths over the known roots', () => {
    const { errors } = compileText(
      'journey: j\ntrigger: { event: e, where: { trigger.properties.a: "{{ profile.x | upcase }}", trigger.properties.b: "{{ custmer.id }}" } }\nsteps:\n  - exit: done\n',
    );
    expect(errors.map((e) => e.code)).toEqual(['invalid_expression', 'invalid_path']);
  });

  test('checks an activity\'s with block against its schema and points at the offending key', () => {
    const { errors } = compileText('journey: j\ntrigger: { event: e }\nsteps:\n  - do: http-post\n    with: { url: not-a-url }\n');
    expect(errors).toEqual([
      expect.objectContaining({ code: 'invalid_with', path: 'steps[0].with.url', line: 5, column: 18, step: 'do-1', message: 'activity "http-post": "url": Invalid URL' }),
    ]);
  });
});

describe('received.* and the string tests', () => {
  const journey = (steps: string) => `journey: j\ntrigger: { event: e }\nsteps:\n${steps}`;
  const firstCondition = (plan: JourneyPlan | undefined) => (plan?.steps[0] as Extract<Step, { kind: 'if' }>).condition;

  test('received.* is readable in on_event, after a wait_for, and in on_timeout after an earlier wait_for', () => {
    const { errors, plan } = compileText(
      journey(
        [
          '  - wait_for: { event: a, within: 1h }',
          '    on_event:',
          '      - if: { received.properties.score: { lte: 6 } }',
          '        then: [ { exit: detractor } ]',
          '  - if: { received.event: a }',
          '    then:',
          '      - wait_for: { event: b, within: 1h, where: { event.properties.x: "{{ received.properties.x }}" } }',
          '        on_timeout:',
          '          - update_profile: { set: { last_answer: "{{ received.properties.score }}" } }',
          '',
        ].join('\n'),
      ),
    );
    expect(errors).toEqual([]);
    expect(plan?.steps[1]).toMatchObject({ kind: 'if', condition: { path: 'received.event', op: 'eq', value: 'a' } });
  });

  test('received.* in a split or an if branch counts after the step when any branch has a wait_for', () => {
    const ok = compileText(
      journey('  - if: { profile.vip: true }\n    then:\n      - wait_for: { event: a, within: 1h }\n  - if: { received.event: { exists: true } }\n    then: []\n'),
    );
    expect(ok.errors).toEqual([]);
    const bad = compileText(
      journey('  - split:\n      variants:\n        - { name: a, weight: 1, steps: [ { wait: 1h } ] }\n  - if: { received.event: { exists: true } }\n    then: []\n'),
    );
    expect(bad.errors.map((e) => [e.code, e.step])).toEqual([['received_before_wait_for', 'if-2']]);
  });

  test('received.* in a do input and a wait_until date is checked like in a condition', () => {
    const steps = [
      '  - do: http-post',
      '    with: { url: "https://x.test/{{ received.properties.id }}" }',
      '  - wait_for: { event: booked, within: 1d }',
      '  - wait_until: { date: "{{ received.properties.appointment_at }}", offset: -1d }',
      '  - do: http-post',
      '    with: { url: "https://x.test/{{ received.properties.id }}" }',
      '',
    ].join('\n');
    const { errors } = compileText(journey(steps));
    expect(errors.map((e) => [e.code, e.step, e.path])).toEqual([['received_before_wait_for', 'do-1', 'steps[0].with']]);
  });

  test('email paths compare case-insensitively by default; case: sets it for any text test', () => {
    const email = compileText(journey('  - if: { profile.email: Ann@Example.com }\n    then: []\n'));
    expect(firstCondition(email.plan)).toEqual({ path: 'profile.email', op: 'eq', value: 'Ann@Example.com', ignoreCase: true });
    const billing = compileText(journey('  - if: { trigger.properties.billing_email: { ends_with: "@example.com" } }\n    then: []\n'));
    expect(firstCondition(billing.plan)).toMatchObject({ op: 'ends_with', ignoreCase: true });
    const exact = compileText(journey('  - if: { profile.email: { eq: Ann@Example.com, case: sensitive } }\n    then: []\n'));
    expect(firstCondition(exact.plan)).toEqual({ path: 'profile.email', op: 'eq', value: 'Ann@Example.com' });
    const plan = compileText(journey('  - if: { profile.plan: { in: [VIP, Gold], matches: "^v", case: insensitive } }\n    then: []\n'));
    expect(firstCondition(plan.plan)).toEqual({
      all: [
        { path: 'profile.plan', op: 'in', value: ['VIP', 'Gold'], ignoreCase: true },
        { path: 'profile.plan', op: 'matches', value: '^v', ignoreCase: true },
      ],
    });
  });

  test('conditions without the new tests compile exactly as before, so their versions stay', () => {
    const { plan } = compileText(journey('  - if: { profile.plan: { eq: pro }, profile.tags: { contains: vip } }\n    then: []\n'));
    expect(firstCondition(plan)).toEqual({
      all: [
        { path: 'profile.plan', op: 'eq', value: 'pro' },
        { path: 'profile.tags', op: 'contains', value: 'vip' },
      ],
    });
  });
});

describe('Liquid checks use the sender\'s engine', () => {
  const journey = (value: string) => compileText(`journey: j\ntrigger: { event: e }\nsteps:\n  - update_profile:\n      set: { note: ${JSON.stringify(value)} }\n`);

  test('refuses a step value with Liquid that is longer than the sender parses, at the value', () => {
    const { errors } = journey(`{{ profile.first_name }}${'x'.repeat(LIQUID_LIMITS.parseLimit)}`);
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'liquid_too_long',
        path: 'steps[0].update_profile.set.note',
        line: 5,
        message: `text is 100,024 characters long, over the sender's limit of 100,000 for text with Liquid in it; every send would fail as a template error`,
      }),
    ]);
  });

  test('lets plain text of any length through, since the sender sends it without parsing', () => {
    expect(journey('x'.repeat(LIQUID_LIMITS.parseLimit + 1)).errors).toEqual([]);
  });
});

describe('formatError', () => {
  test('renders file:line:col, the step, the message and the hint on its own line', () => {
    const text = formatError({
      code: 'unknown_template',
      file: 'journeys/cart.yaml',
      line: 14,
      column: 7,
      path: 'steps[2].send',
      step: 'reminder',
      message: 'unknown template "cart-remider" (did you mean "cart-reminder"?)',
      hint: 'templates live in templates/<id>.yaml',
    });
    expect(text).toBe(
      'journeys/cart.yaml:14:7 step "reminder": unknown template "cart-remider" (did you mean "cart-reminder"?)\n    hint: templates live in templates/<id>.yaml',
    );
  });
});

describe('wait_for since', () => {
  const waitFor = (extra: string) => compileText(`journey: j\ntrigger: { event: e }\nsteps:\n  - wait_for: { event: a, within: 1h${extra} }\n`);

  test('since: entry marks the step; since: start and no since compile to the same plan as before', () => {
    expect(waitFor(', since: entry').plan?.steps[0]).toEqual({ id: 'wait_for-1', kind: 'wait_for', event: 'a', withinMs: 3_600_000, sinceEntry: true, onEvent: [], onTimeout: [] });
    const plain = waitFor('').plan;
    expect(plain?.steps[0]).not.toHaveProperty('sinceEntry');
    expect(waitFor(', since: start').plan?.version).toBe(plain?.version);
    expect(waitFor(', since: entry').plan?.version).not.toBe(plain?.version);
  });

  test('refuses any other since, naming the field and the allowed values', () => {
    const { errors } = waitFor(', since: yesterday');
    expect(errors).toHaveLength(1);
    expect(errors[0].path).toContain('since');
    expect(`${errors[0].message} ${errors[0].hint ?? ''}`).toMatch(/start.*entry|entry.*start/);
  });
});
