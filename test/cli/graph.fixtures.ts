/** Plans for the `unbroken graph` tests: every step kind, with ids and labels meant to break a drawing. */
import { stepBranches, type JourneyPlan, type Step } from '../../compiler/plan';

/** Text that escapes badly: quotes, markup, Mermaid syntax, entities, control characters, scripts, emoji. */
export const HOSTILE_TEXT = [
  'Say "hi" <b>now</b> & then',
  '<script>alert(1)</script>',
  'x]--> n0 %% comment | pipe',
  '#quot; #35; `code` {{ braces }}',
  'Ελληνικά 日本語のテキスト 🎉 עברית',
  'bell\u0007 and\nnewline',
  `https://example.com/${'very-long-path-'.repeat(8)}end`,
];

/** Step ids the compiler would refuse, for the drawing code that must not trust plans either. */
export const HOSTILE_IDS = ['a"b', 'x]-->y', '<img src=x onerror=alert(1)>', 'id with spaces & #35;', 'ü-日本'];

/** A hand-built plan holding every step kind, nested branches, a goal and an exit event. */
export function hostilePlan(): JourneyPlan {
  const [quoted, arrow, img, spaced, unicode] = HOSTILE_IDS;
  const steps: Step[] = [
    { id: quoted, name: HOSTILE_TEXT[0], kind: 'wait', ms: 3_600_000 },
    { id: 'window', kind: 'wait_until', window: { days: [1, 2, 3, 4, 5], startMinute: 540, endMinute: 660, timezone: 'Europe/Berlin' } },
    { id: 'birthday', kind: 'wait_until_date', date: '{{ profile.birthday }}', offsetMs: -86_400_000, minuteOfDay: 600 },
    {
      id: arrow,
      name: HOSTILE_TEXT[2],
      kind: 'wait_for',
      event: 'cart_viewed',
      where: { path: 'event.properties.note', op: 'eq', value: HOSTILE_TEXT[1] },
      withinMs: 82_800_000,
      onEvent: [{ id: img, name: HOSTILE_TEXT[3], kind: 'send', template: 'cart-reminder', channels: ['sms', 'email'] }],
      onTimeout: [
        {
          id: spaced,
          kind: 'if',
          condition: { all: [{ path: 'profile.vip', op: 'eq', value: true }, { any: [{ path: 'profile.country', op: 'in', value: ['DE', 'AT'] }, { not: { path: 'profile.email', op: 'exists', value: true } }] }] },
          then: [{ id: 'leave', kind: 'exit', reason: HOSTILE_TEXT[5] }],
          else: [],
        },
      ],
    },
    {
      id: unicode,
      name: HOSTILE_TEXT[4],
      kind: 'split',
      holdout: 10,
      variants: [
        { name: 'short-copy', weight: 45, steps: [{ id: 'short', kind: 'do', activity: 'http_post', with: { url: HOSTILE_TEXT[6] } }] },
        { name: 'long-copy', weight: 45, steps: [] },
      ],
    },
    { id: 'remember', name: HOSTILE_TEXT[6], kind: 'update_profile', set: { seen: true }, increment: { nudges: 1 }, addTags: ['a<b'] },
  ];
  return {
    journey: 'hostile',
    version: 'v1',
    file: 'journeys/hostile.yaml',
    trigger: { event: 'signed_up', where: { path: 'trigger.properties.plan', op: 'eq', value: HOSTILE_TEXT[0] } },
    reEntry: { mode: 'never' },
    goal: { event: 'order_completed' },
    exitWhen: [{ event: 'unsubscribed' }, { event: 'account_closed', where: { path: 'event.properties.reason', op: 'matches', value: '^(a|b)"<' } }],
    steps,
    templates: {},
    activities: {},
  };
}

/**
 * A wide, deep plan: a four-way split whose variants each wait for an event and branch again,
 * with long names, so the layout has many boxes and labels in one layer.
 */
export function widePlan(): JourneyPlan {
  const variant = (v: string): Step[] => [
    { id: `${v}-send`, name: `First message of the ${v} variant, with a name long enough to wrap twice`, kind: 'send', template: `${v}-first` },
    {
      id: `${v}-wait`,
      kind: 'wait_for',
      event: `${v}_clicked`,
      withinMs: 3 * 86_400_000,
      onEvent: [{ id: `${v}-thanks`, kind: 'send', template: `${v}-thanks` }],
      onTimeout: [
        {
          id: `${v}-vip`,
          kind: 'if',
          condition: { any: [{ path: 'profile.lifetime_value', op: 'gte', value: 1000 }, { path: 'profile.signed_up_at', op: 'before', value: { relativeMs: -30 * 86_400_000 } }] },
          then: [{ id: `${v}-offer`, kind: 'send', template: `${v}-offer` }],
          else: [{ id: `${v}-stop`, kind: 'exit', reason: 'not interested' }],
        },
      ],
    },
  ];
  return {
    ...hostilePlan(),
    journey: 'wide',
    exitWhen: [],
    steps: [
      { id: 'pick', kind: 'split', holdout: 5, variants: ['alpha', 'beta', 'gamma', 'delta'].map((v) => ({ name: v, weight: v === 'delta' ? 35 : 20, steps: variant(v) })) },
      { id: 'tag', kind: 'update_profile', addTags: ['finished-the-wide-journey'], removeTags: ['in-progress'], unset: ['draft'] },
    ],
  };
}

/** Every step of a plan, branches included, in order. */
export function allSteps(steps: Step[]): Step[] {
  return steps.flatMap((s) => [s, ...stepBranches(s).flatMap(allSteps)]);
}
