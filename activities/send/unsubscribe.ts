import type { TemplatePlan } from '../../compiler/plan';
import { newShortCode } from '../../delivery/short-links';
import { renderContext, type RenderContext } from '../render';
import type { DeliveryPolicy, SendMessageInput } from '../types';
import type { SendAttempt } from './attempt';

/**
 * The journey's time of a send (`input.now`), from which its links' lifetimes count: the same
 * link on a retry, and in a simulation the simulated time rather than the machine's. Undefined
 * (the links then count from now) if a run's input has none.
 */
export function journeyTime(now: string | undefined): Date | undefined {
  const ms = now === undefined ? NaN : Date.parse(now);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** What templates may read while sending: the usual context plus the customer's unsubscribe links. */
export type SendRenderContext = RenderContext & { unsubscribe_url?: string; unsubscribe_short_url?: string };

/** The short link's variable as Liquid reads it, in a tag or an output. */
const SHORT_LINK_VARIABLE = /\bunsubscribe_short_url\b/;
/** Fresh codes to draw before giving up when each collides with another send's (at 2^59.5 codes, never). */
const SHORT_CODE_DRAWS = 3;

/**
 * Whether a send reads `unsubscribe_short_url`: in any part of its template, its `to:` or its
 * `data:`. Only then is a code drawn and stored, so sends without it write nothing.
 */
export function usesShortUnsubscribeLink(template: TemplatePlan, input: Pick<SendMessageInput, 'to' | 'data'>): boolean {
  const parts = [template.subject, template.from, template.text, template.html, template.body, template.url, input.to];
  return parts.some((part) => part !== undefined && SHORT_LINK_VARIABLE.test(part)) || SHORT_LINK_VARIABLE.test(JSON.stringify(input.data ?? {}));
}

/**
 * The render context for one candidate channel, with its unsubscribe links, and the long link
 * alone (the email headers need it). Each channel has its own links: unsubscribing from SMS
 * leaves email alone.
 */
export async function sendContext(
  attempt: SendAttempt,
  template: TemplatePlan,
): Promise<{ base: SendRenderContext; unsubscribeUrl: string | undefined }> {
  const { deps, input, profile, category } = attempt;
  // Anything not explicitly transactional is treated as marketing: consent applies by default.
  const unsubscribeUrl =
    deps.delivery && !attempt.transactional ? deps.delivery.unsubscribeUrl(profile.id, template.channel, category, journeyTime(input.now)) : undefined;
  const base: SendRenderContext = renderContext(profile, input.context, input.now, {}, input.received);
  if (unsubscribeUrl !== undefined) base.unsubscribe_url = unsubscribeUrl;
  if (unsubscribeUrl !== undefined && deps.delivery && usesShortUnsubscribeLink(template, input)) {
    base.unsubscribe_short_url = await shortUnsubscribeUrl(attempt, deps.delivery, template.channel);
  }
  return { base, unsubscribeUrl };
}

/**
 * The short link for `channel`: the code this key already holds for it (a retry), else a fresh
 * one drawn here, in the activity, and stored with the signed link's lifetime.
 */
async function shortUnsubscribeUrl(attempt: SendAttempt, policy: DeliveryPolicy, channel: string): Promise<string> {
  const { delivery, input, profile, category } = attempt;
  if (!delivery) throw new Error('templates use {{ unsubscribe_short_url }} but the profile store cannot keep short unsubscribe codes');
  for (let draw = 0; draw < SHORT_CODE_DRAWS; draw += 1) {
    const code = await delivery.saveUnsubscribeCode({
      code: newShortCode(),
      idempotencyKey: input.idempotencyKey,
      customerId: profile.id,
      channel,
      category,
      ...policy.shortUnsubscribe.lifetime(journeyTime(input.now)),
    });
    if (code !== undefined) return policy.shortUnsubscribe.url(code);
  }
  // Retryable: the next attempt draws again.
  throw new Error(`no free short unsubscribe code after ${SHORT_CODE_DRAWS} draws`);
}
