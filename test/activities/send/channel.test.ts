import type { TemplatePlan } from '../../../compiler/plan';
import { chooseChannel, consentModeOf, providerMissing, type ChannelCheck } from '../../../activities/send/channel';
import type { SkipReason } from '../../../activities/send/attempt';
import type { DeliveryPolicy } from '../../../activities/types';
import { shortUnsubscribeLinks } from '../../../delivery/short-links';

const template = (channel: TemplatePlan['channel']): TemplatePlan => ({ id: `t-${channel}`, channel, category: 'marketing', file: `templates/t-${channel}.yaml` });
const sms = template('sms');
const email = template('email');
const webhook = template('webhook');

/** A check that answers from a table by channel and records which channels it was asked about. */
function checks(answers: Partial<Record<string, SkipReason | { error: string }>>) {
  const asked: string[] = [];
  const check = async (candidate: TemplatePlan): Promise<ChannelCheck<string>> => {
    asked.push(candidate.channel);
    const answer = answers[candidate.channel];
    if (answer === undefined) return { passed: candidate.channel };
    return typeof answer === 'string' ? { reason: answer } : { reason: 'template_error', error: answer.error };
  };
  return { asked, check };
}

describe('chooseChannel', () => {
  it('takes a plain send that passes, with nothing passed over', async () => {
    const { asked, check } = checks({});
    expect(await chooseChannel(email, [], check)).toEqual({ passed: 'email', template: email, passedOver: [] });
    expect(asked).toEqual(['email']);
  });

  it('skips a plain send with its own reason, not no_channel', async () => {
    const { check } = checks({ email: 'no_address' });
    expect(await chooseChannel(email, [], check)).toEqual({ reason: 'no_address', template: email, passedOver: [] });
  });

  it('takes the first channel that passes, passes over the ones before it and checks none after it', async () => {
    const { asked, check } = checks({ sms: 'unsubscribed' });
    expect(await chooseChannel(sms, [email, webhook], check)).toEqual({
      passed: 'email',
      template: email,
      passedOver: [{ channel: 'sms', reason: 'unsubscribed' }],
    });
    expect(asked).toEqual(['sms', 'email']);
  });

  it('skips with no_channel on the first template when no channel passes, listing every reason', async () => {
    const { check } = checks({ sms: 'channel_unavailable', email: 'suppressed' });
    expect(await chooseChannel(sms, [email], check)).toEqual({
      reason: 'no_channel',
      template: sms,
      passedOver: [
        { channel: 'sms', reason: 'channel_unavailable' },
        { channel: 'email', reason: 'suppressed' },
      ],
    });
  });

  it('stops at a template error instead of trying the next channel', async () => {
    const { asked, check } = checks({ sms: 'no_address', email: { error: 'missing variable "profile.x"' } });
    expect(await chooseChannel(sms, [email, webhook], check)).toEqual({
      reason: 'template_error',
      error: 'missing variable "profile.x"',
      template: email,
      passedOver: [{ channel: 'sms', reason: 'no_address' }],
    });
    expect(asked).toEqual(['sms', 'email']);
  });
});

describe('providerMissing', () => {
  it('is true only for sms and webhook without their provider', () => {
    const provider = { send: async () => ({ providerId: 'p', status: 200 }) } as never;
    expect(providerMissing({}, 'email')).toBe(false);
    expect(providerMissing({}, 'sms')).toBe(true);
    expect(providerMissing({}, 'webhook')).toBe(true);
    expect(providerMissing({ sms: provider, webhook: provider }, 'sms')).toBe(false);
    expect(providerMissing({ sms: provider, webhook: provider }, 'webhook')).toBe(false);
  });
});

describe('consentModeOf', () => {
  it('uses the configured mode, else opt-in for sms and opt-out for email, webhooks and unknown channels', () => {
    expect(consentModeOf(undefined, 'sms')).toBe('opt-in');
    expect(consentModeOf(undefined, 'email')).toBe('opt-out');
    expect(consentModeOf(undefined, 'webhook')).toBe('opt-out');
    expect(consentModeOf(undefined, 'pigeon')).toBe('opt-out');
    const policy: DeliveryPolicy = {
      caps: [],
      unsubscribeUrl: () => 'https://shop.example/unsubscribe',
      shortUnsubscribe: shortUnsubscribeLinks('https://shop.example', 60_000),
      consentModes: { sms: 'opt-out', email: 'opt-in' },
    };
    expect(consentModeOf(policy, 'sms')).toBe('opt-out');
    expect(consentModeOf(policy, 'email')).toBe('opt-in');
  });
});
