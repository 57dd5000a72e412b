import { compileJourneySource, compileTemplateSource } from '../../compiler/index';
import type { TemplatePlan } from '../../compiler/plan';
import { fakeActivities, fakeBuiltinPolicies } from './helpers';

const policies = { ...fakeBuiltinPolicies, loadConsent: fakeBuiltinPolicies.loadProfile };
const template = (text: string): TemplatePlan => {
  const { plan, errors } = compileTemplateSource(text, { file: 'templates/nudge.yaml', errorFile: 'templates/nudge.yaml' });
  expect(errors).toEqual([]);
  return plan as TemplatePlan;
};
const nudge = template(
  'template: nudge\nchannel: email\nsubject: Finish setting up\ntext: One step left.\nsms:\n  body: "One step left: {{ data.link }}"\n',
);
const env = { templates: new Map([['nudge', nudge]]), activities: fakeActivities, builtinPolicies: policies };
const compile = (steps: string, extra = '') =>
  compileJourneySource(`journey: j\ntrigger:\n  event: signed_up\n${extra}steps:\n${steps}`, { file: 'journeys/j.yaml', errorFile: 'journeys/j.yaml' }, env);

describe('consent.* in conditions', () => {
  test('compiles like any path, and pins the consent activity into the plan', () => {
    const { plan, errors } = compile('  - if: { consent.sms.marketing: { in: [subscribed, unknown] } }\n    then:\n      - send: nudge\n');
    expect(errors).toEqual([]);
    expect(plan?.steps[0]).toMatchObject({ kind: 'if', condition: { path: 'consent.sms.marketing', op: 'in', value: ['subscribed', 'unknown'] } });
    expect(Object.keys(plan?.activities ?? {})).toContain('loadConsent');
  });

  test('pins the consent activity for goal, exit_when and wait_for conditions too', () => {
    const goal = compile('  - wait: 1h\n', 'goal: { event: bought, where: { consent.email.newsletter: subscribed } }\n');
    const waitFor = compile('  - wait_for: { event: opened, where: { consent.email.marketing: unknown }, within: 1d }\n');
    expect(Object.keys(goal.plan?.activities ?? {})).toContain('loadConsent');
    expect(Object.keys(waitFor.plan?.activities ?? {})).toContain('loadConsent');
  });

  test('a journey that never reads consent pins no consent activity, so its plan is what it was', () => {
    const { plan } = compile('  - if: { profile.vip: true }\n    then:\n      - send: nudge\n');
    expect(Object.keys(plan?.activities ?? {}).sort()).toEqual(['loadProfile', 'recordStep', 'sendMessage', 'updateProfile']);
  });

  test('profile.subscriptions is refused with a pointer to consent.*', () => {
    const { errors } = compile('  - if: { profile.subscriptions.sms.marketing: true }\n    then:\n      - send: nudge\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'subscriptions_trait', line: 5 });
    expect(errors[0].hint).toContain('consent.<channel>.<category>');
  });
});

describe('send channels', () => {
  test('a template section gives the message for another channel', () => {
    expect(nudge.channel).toBe('email');
    expect(nudge.alternatives).toEqual({ sms: { body: 'One step left: {{ data.link }}' } });
  });

  test('a send lists the channels to try in order', () => {
    const { plan, errors } = compile('  - id: nudge\n    send: { template: nudge, channels: [sms, email] }\n');
    expect(errors).toEqual([]);
    expect(plan?.steps[0]).toEqual({ id: 'nudge', kind: 'send', template: 'nudge', channels: ['sms', 'email'] });
  });

  test('a channel the template has no content for is an error at that list item', () => {
    const { errors } = compile('  - id: nudge\n    send: { template: nudge, channels: [sms, webhook] }\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'channel_without_content', line: 6, path: 'steps[0].send.channels[1]' });
    expect(errors[0].message).toBe('template "nudge" has no webhook content (it has: email, sms)');
  });
});
