import type { TemplatePlan } from '../../compiler/plan';
import { consentAllows, DEFAULT_CONSENT_MODES, parseAddress, type ConsentMode } from '../../core/index';
import { consentState } from '../../profiles/rules';
import { renderValues, TemplateRenderError } from '../render';
import type { ActivityDeps, DeliveryPolicy, PassedOverChannel } from '../types';
import type { SendAttempt, SkipReason } from './attempt';
import { renderText, renderUrl, where } from './outgoing';
import { sendContext, type SendRenderContext } from './unsubscribe';
import { forgottenWithoutConsent } from './forgotten';

/** What the chosen channel needs to send: the render context, the recipient, the unsubscribe link. */
export interface Chosen {
  ctx: SendRenderContext;
  address: string;
  unsubscribeUrl: string | undefined;
}

/** What checking one candidate channel found: it passes with what it needs, or the reason it cannot. */
export type ChannelCheck<T> = { passed: T } | { reason: SkipReason; error?: string };

/** The outcome of a check, on the template it names, with the channels passed over before it. */
export type ChannelChoice<T> = ChannelCheck<T> & { template: TemplatePlan; passedOver: PassedOverChannel[] };

/**
 * Checks `first`, then each fallback, in order, and stops at the first that passes; each one
 * before it is passed over with its reason. A plain send (no fallbacks) skips with its own
 * reason, and a send with fallbacks with `no_channel` once none is left. A template error ends the
 * search at once: it is a fault in the journey to report, not the customer's situation.
 */
export async function chooseChannel<T>(
  first: TemplatePlan,
  fallbacks: readonly TemplatePlan[],
  check: (template: TemplatePlan) => Promise<ChannelCheck<T>>,
): Promise<ChannelChoice<T>> {
  const candidates = [first, ...fallbacks];
  const passedOver: PassedOverChannel[] = [];
  for (const template of candidates) {
    const verdict = await check(template);
    if ('passed' in verdict || verdict.reason === 'template_error' || candidates.length === 1) {
      return { ...verdict, template, passedOver };
    }
    passedOver.push({ channel: template.channel, reason: verdict.reason });
  }
  return { reason: 'no_channel', template: first, passedOver };
}

/** Whether a customer who said nothing gets messages on a channel: the configured mode, else the built-in one. */
export function consentModeOf(policy: DeliveryPolicy | undefined, channel: string): ConsentMode {
  return policy?.consentModes?.[channel] ?? DEFAULT_CONSENT_MODES[channel] ?? 'opt-out';
}

/** Whether the worker has no provider for `channel` (email always has the mailer). */
export function providerMissing(deps: Pick<ActivityDeps, 'sms' | 'webhook'>, channel: string): boolean {
  return (channel === 'sms' && !deps.sms) || (channel === 'webhook' && !deps.webhook);
}

/** `admit` for one candidate, with a template that does not render turned into its skip reason. */
export async function checkChannel(attempt: SendAttempt, template: TemplatePlan): Promise<ChannelCheck<Chosen>> {
  try {
    return await admit(attempt, template);
  } catch (err) {
    if (err instanceof TemplateRenderError) return { reason: 'template_error', error: err.message };
    throw err;
  }
}

/**
 * Whether `template`'s channel can (exactly one valid address) and may (not suppressed, consent)
 * carry the message; a template that does not render throws TemplateRenderError (`unbroken
 * preview` shows where). The address is parsed again here, whatever the profile holds (a row written
 * before the API checked it, a journey's profile change, a rendered `to:`): text that is not
 * exactly one address is skipped as `invalid_address`, which no retry can fix, and everything
 * after this (suppression, caps, the SMTP envelope) sees only the canonical form.
 */
export async function admit(attempt: SendAttempt, template: TemplatePlan): Promise<ChannelCheck<Chosen>> {
  const { deps, delivery, input } = attempt;
  const channel = template.channel;
  // Without a provider nothing else matters; deciding it first also reserves no cap slot.
  if (providerMissing(deps, channel)) return { reason: 'channel_unavailable' };
  const { base, unsubscribeUrl } = await sendContext(attempt, template);
  const data = await renderValues(input.data ?? {}, base, where(template, 'data'));
  const ctx: SendRenderContext = { ...base, data };
  const raw = await addressFor(attempt, template, ctx);
  if (!raw) return { reason: 'no_address' };
  const parsed = parseAddress(channel, raw);
  if (!parsed.ok) return { reason: 'invalid_address', error: `the ${ADDRESS_NAMES[channel] ?? 'address'} ${parsed.reason}` };
  const address = parsed.address;
  // Webhooks go to the operator's own endpoint, not to a customer address: nothing to suppress.
  if (channel !== 'webhook' && delivery && (await delivery.suppression(channel, address)) !== undefined) return { reason: 'suppressed' };
  if (await forgottenWithoutConsent(attempt, channel, address)) return { reason: 'forgotten' };
  if (!attempt.transactional && !(await consentGiven(attempt, channel))) return { reason: 'unsubscribed' };
  return { passed: { ctx, address, unsubscribeUrl } };
}

/** What the address of a channel is called in a skip's explanation (never the address itself: it may be personal data). */
const ADDRESS_NAMES: Readonly<Record<string, string>> = { email: 'email address', sms: 'phone number', webhook: 'webhook URL' };

/** The recipient: email `to:` override or profile email, profile phone, or the webhook URL. */
async function addressFor(attempt: SendAttempt, template: TemplatePlan, ctx: SendRenderContext): Promise<string | undefined> {
  const { input, profile } = attempt;
  switch (template.channel) {
    case 'email':
      return input.to !== undefined ? (await renderText(template, input.to, ctx, 'to')).trim() : profile.email;
    case 'sms':
      return input.to !== undefined ? (await renderText(template, input.to, ctx, 'to')).trim() : profile.phone?.trim();
    case 'webhook':
      return template.url === undefined ? undefined : (await renderUrl(template, template.url, ctx)).trim();
  }
}

/** Consent for `channel`: a statement decides; without one, the channel's mode (opt-out or opt-in). */
async function consentGiven(attempt: SendAttempt, channel: string): Promise<boolean> {
  const { delivery, input, profile, category } = attempt;
  // A store without consent rows (none ships) still honours the legacy trait.
  const state = delivery ? await delivery.consent(input.context.customerId, channel, category) : consentState(undefined, profile, category);
  return consentAllows(state, consentModeOf(attempt.deps.delivery, channel));
}
