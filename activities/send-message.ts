import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityPolicy, TemplatePlan } from '../compiler/plan';
import { newShortCode } from '../delivery/short-links';
import { consentAllows, DEFAULT_CONSENT_MODES, emptyProfile, isTransactional, MARKETING, type ConsentMode } from '../core/index';
import { consentState } from '../profiles/rules';
import type { CapCheck, DeliveryStore, Profile, ProfileStore } from '../profiles/store';
import { PERMANENT_DELIVERY_ERROR } from './errors';
import { DeliveryError, isHardBounce } from './mailer';
import { renderContext, renderTemplate, renderValues, TemplateRenderError, type RenderContext } from './render';
import type { ActivityDeps, DeliveryPolicy, OutgoingEmail, SendMessageInput, SendMessageResult, SmsProvider } from './types';

/** Why a send was skipped; stored in the result and shown in reports. */
export type SkipReason =
  | 'no_address'
  | 'suppressed'
  | 'unsubscribed'
  | 'template_error'
  | 'channel_unavailable'
  | 'frequency_cap'
  | 'no_channel';

/** A channel a send with `channels:` did not take, and why. */
type PassedOver = NonNullable<Extract<SendMessageResult, { status: 'sent' }>['passedOver']>[number];

/** What the chosen channel needs to send: the render context, the recipient, the unsubscribe link. */
interface Chosen {
  ctx: SendRenderContext;
  address: string;
  unsubscribeUrl: string | undefined;
}

/** Whether a customer who said nothing gets messages on a channel: the configured mode, else the built-in one. */
export function consentModeOf(policy: DeliveryPolicy | undefined, channel: string): ConsentMode {
  return policy?.consentModes?.[channel] ?? DEFAULT_CONSENT_MODES[channel] ?? 'opt-out';
}

/** Retry/timeout policy of `sendMessage`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    // About two hours of retries (1 s doubling to 10 min): an SMTP relay or SMS provider outage of
    // that length delays messages instead of losing them.
    maximumInterval: '10m',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [PERMANENT_DELIVERY_ERROR],
  },
};

/** The RFC 5322 Message-ID of the message sent under `idempotencyKey`; the same on every attempt. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@unbroken>`;
}

/** The store as consent and caps need it, when it offers that (both shipped stores do). */
export function deliveryStoreOf(store: ProfileStore): (ProfileStore & DeliveryStore) | undefined {
  const candidate = store as Partial<DeliveryStore>;
  return typeof candidate.reserveSendSlot === 'function' && typeof candidate.subscription === 'function'
    ? (store as ProfileStore & DeliveryStore)
    : undefined;
}

/** What templates may read while sending: the usual context plus the customer's unsubscribe links. */
type SendRenderContext = RenderContext & { unsubscribe_url?: string; unsubscribe_short_url?: string };

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

/** A rendered message, ready for its channel. */
type Outgoing =
  | { channel: 'email'; mail: OutgoingEmail; body: string }
  | { channel: 'sms'; to: string; body: string; from?: string }
  | { channel: 'webhook'; url: string; body: string };

/**
 * Builds `sendMessage`: decide whether a message may go out, render it with the fresh profile
 * and send it through its channel, at most once per idempotency key.
 *
 * Checks, in order (the first that fails decides, and is recorded as the skip reason): the
 * channel has a provider (`channel_unavailable`); the customer has an address for the channel
 * (`no_address`); the address is not suppressed (`suppressed`); the customer is subscribed to
 * the category, transactional mail excepted (`unsubscribed`); the template renders
 * (`template_error`); a frequency-cap slot is free (`frequency_cap`, or `deferred` with
 * `on_cap: defer`). Caps are evaluated at `input.now`, the journey's clock, so simulations and
 * time-skipping tests see the same decisions as production.
 *
 * Exactly-once has one unavoidable window: the provider accepted the message but the worker
 * died (or the store write failed) before `finishMessage` recorded it. The claim then still says
 * `sending`, and the retry sends again — with the same Message-ID (email) or idempotency key
 * (SMS, webhook), so mail clients, many relays and idempotent receivers fold the two into one.
 * The retry reuses the send slot it reserved, so the duplicate never costs a second cap slot.
 * Everything else (retries after a failure, replays, a second call once finished) sends nothing
 * more.
 */
export function createSendMessage(deps: ActivityDeps): (input: SendMessageInput) => Promise<SendMessageResult> {
  const delivery = deliveryStoreOf(deps.store);

  return async function sendMessage(input: SendMessageInput): Promise<SendMessageResult> {
    const { context, idempotencyKey } = input;
    const candidates = [input.template, ...(input.fallbacks ?? [])];
    // The channel the message goes out on: the first candidate until one is chosen below.
    let template = input.template;
    let channel = template.channel;
    const passedOver: PassedOver[] = [];
    const claim = await deps.store.claimMessage({
      idempotencyKey,
      customerId: context.customerId,
      journeyId: context.journeyId,
      stepId: input.stepId,
      channel,
      template: template.id,
      status: 'sending',
    });
    if (!claim.claimed && claim.existing && claim.existing.status !== 'sending' && claim.existing.result) {
      return claim.existing.result as SendMessageResult;
    }

    const skip = async (reason: SkipReason, error?: string): Promise<SendMessageResult> => {
      const result: SendMessageResult = { status: 'skipped', channel, template: template.id, reason };
      if (error !== undefined) result.error = error;
      if (passedOver.length > 0) result.passedOver = passedOver;
      await deps.store.finishMessage(idempotencyKey, 'skipped', { ...result });
      return result;
    };

    const profile: Profile = (await deps.store.getProfile(context.customerId)) ?? emptyProfile(context.customerId);
    const category = input.category ?? template.category ?? MARKETING;
    const transactional = isTransactional(category);

    // The first channel the customer can (an address) and may (not suppressed, consent) receive;
    // the ones before it are recorded as passed over, with why. A plain send has one candidate.
    let chosen: Chosen | undefined;
    for (const candidate of candidates) {
      template = candidate;
      channel = candidate.channel;
      let decision: Chosen | SkipReason;
      try {
        decision = await choose();
      } catch (err) {
        if (err instanceof TemplateRenderError) return skip('template_error', err.message);
        throw err;
      }
      if (typeof decision !== 'string') {
        chosen = decision;
        break;
      }
      if (candidates.length === 1) return skip(decision);
      passedOver.push({ channel, reason: decision });
    }
    if (!chosen) {
      template = input.template;
      channel = template.channel;
      return skip('no_channel');
    }
    const { ctx, address, unsubscribeUrl } = chosen;
    let outgoing: Outgoing;
    try {
      outgoing = await render(address, ctx);
    } catch (err) {
      if (err instanceof TemplateRenderError) return skip('template_error', err.message);
      throw err;
    }

    const decision = await reserveSlot(category);
    if (!decision.allowed) {
      if (input.onCap === 'defer') {
        // Nothing is recorded as finished: the workflow retries this same key at retryAt and
        // must be able to claim it again then.
        await deps.store.releaseMessage(idempotencyKey);
        return { status: 'deferred', channel, template: template.id, reason: 'frequency_cap', retryAt: decision.retryAt };
      }
      return skip('frequency_cap');
    }

    let messageId: string;
    try {
      messageId = await deliver(outgoing);
    } catch (err) {
      // Free the claim so the retry may take it; if even that fails, the claim stays `sending`
      // and the retry resends under the same Message-ID, which is the documented window.
      await deps.store.releaseMessage(idempotencyKey).catch(() => undefined);
      throw await failure(err, outgoing);
    }

    const result: SendMessageResult = {
      status: 'sent',
      channel,
      template: template.id,
      to: outgoing.channel === 'email' ? outgoing.mail.to : outgoing.channel === 'sms' ? outgoing.to : outgoing.url,
      subject: outgoing.channel === 'email' ? outgoing.mail.subject : '',
      body: outgoing.body,
      messageId,
    };
    if (passedOver.length > 0) result.passedOver = passedOver;
    await deps.store.finishMessage(idempotencyKey, 'sent', { ...result });
    return result;

    /** Whether the current channel may carry this message to the customer, and what it needs to. */
    async function choose(): Promise<Chosen | SkipReason> {
      // Without a provider nothing else matters; deciding it first also reserves no cap slot.
      if ((channel === 'sms' && !deps.sms) || (channel === 'webhook' && !deps.webhook)) return 'channel_unavailable';
      // Anything not explicitly transactional is treated as marketing: consent applies by default.
      const unsubscribeUrl =
        deps.delivery && !transactional ? deps.delivery.unsubscribeUrl(profile.id, channel, category) : undefined;
      const base: SendRenderContext = renderContext(profile, context, input.now, {}, input.received);
      if (unsubscribeUrl !== undefined) base.unsubscribe_url = unsubscribeUrl;
      if (unsubscribeUrl !== undefined && deps.delivery && usesShortUnsubscribeLink(template, input)) {
        base.unsubscribe_short_url = await shortUnsubscribeUrl(deps.delivery, profile.id, category);
      }
      const data = await renderValues(input.data ?? {}, base, where('data'));
      const ctx: SendRenderContext = { ...base, data };
      const address = await addressFor(ctx);
      if (!address) return 'no_address';
      // Webhooks go to the operator's own endpoint, not to a customer address: nothing to suppress.
      if (channel !== 'webhook' && delivery && (await delivery.suppression(channel, address)) !== undefined) return 'suppressed';
      if (!transactional && !(await consentGiven())) return 'unsubscribed';
      return { ctx, address, unsubscribeUrl };
    }

    /**
     * The short link for the current channel: the code this key already holds for it (a retry),
     * else a fresh one drawn here, in the activity, and stored with the signed link's lifetime.
     */
    async function shortUnsubscribeUrl(policy: DeliveryPolicy, customerId: string, category: string): Promise<string> {
      if (!delivery) throw new Error('templates use {{ unsubscribe_short_url }} but the profile store cannot keep short unsubscribe codes');
      for (let draw = 0; draw < SHORT_CODE_DRAWS; draw += 1) {
        const code = await delivery.saveUnsubscribeCode({ code: newShortCode(), idempotencyKey, customerId, channel, category, ...policy.shortUnsubscribe.lifetime() });
        if (code !== undefined) return policy.shortUnsubscribe.url(code);
      }
      // Retryable: the next attempt draws again.
      throw new Error(`no free short unsubscribe code after ${SHORT_CODE_DRAWS} draws`);
    }

    /** Consent for the current channel: a statement decides; without one, the channel's mode (opt-out or opt-in). */
    async function consentGiven(): Promise<boolean> {
      // A store without consent rows (none ships) still honours the legacy trait.
      const state = delivery ? await delivery.consent(context.customerId, channel, category) : consentState(undefined, profile, category);
      return consentAllows(state, consentModeOf(deps.delivery, channel));
    }

    /** The recipient: email `to:` override or profile email, profile phone, or the webhook URL. */
    async function addressFor(ctx: SendRenderContext): Promise<string | undefined> {
      switch (channel) {
        case 'email':
          return input.to !== undefined ? (await text(input.to, ctx, 'to')).trim() : profile.email;
        case 'sms':
          return input.to !== undefined ? (await text(input.to, ctx, 'to')).trim() : profile.phone?.trim();
        case 'webhook':
          return template.url === undefined ? undefined : (await text(template.url, ctx, 'url')).trim();
      }
    }

    async function render(to: string, ctx: SendRenderContext): Promise<Outgoing> {
      switch (channel) {
        case 'email':
          return renderEmail(to, ctx);
        case 'sms': {
          const body = await text(requirePart(template, 'body'), ctx, 'body');
          const sms: Outgoing = { channel: 'sms', to, body };
          if (template.from !== undefined) sms.from = (await text(template.from, ctx, 'from')).trim();
          return sms;
        }
        case 'webhook': {
          const body = await text(requirePart(template, 'body'), ctx, 'body');
          try {
            JSON.parse(body);
          } catch (err) {
            throw new TemplateRenderError(
              `body of template ${template.id} is not JSON once rendered (${(err as Error).message}); ` +
                'write values with | json, e.g. "name": {{ profile.first_name | json }}',
              template.id,
              'body',
            );
          }
          return { channel: 'webhook', url: to, body };
        }
      }
    }

    async function renderEmail(to: string, ctx: SendRenderContext): Promise<Outgoing> {
      const headers: Record<string, string> = { 'X-Unbroken-Journey': context.journeyId, 'X-Unbroken-Step': input.stepId };
      if (unsubscribeUrl !== undefined) {
        // RFC 8058 one-click: mail clients show an unsubscribe button and POST to the URL.
        headers['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      }
      const mail: OutgoingEmail = {
        from: (await text(template.from ?? deps.mailFrom, ctx, 'from')).trim(),
        to,
        subject: (await text(template.subject ?? '', ctx, 'subject')).trim(),
        messageId: messageIdFor(idempotencyKey),
        headers,
      };
      if (template.text !== undefined) mail.text = await text(template.text, ctx, 'text');
      if (template.html !== undefined) mail.html = await renderTemplate(template.html, ctx, 'html', where('html'));
      return { channel: 'email', mail, body: mail.text ?? htmlToText(mail.html ?? '') };
    }

    /** Takes a frequency-cap slot for this key (a retry finds its own slot again). */
    async function reserveSlot(category: string): Promise<{ allowed: true } | { allowed: false; retryAt: string }> {
      const caps: CapCheck['caps'] = (deps.delivery?.caps ?? [])
        .filter((cap) => cap.channel === channel && cap.category === category)
        .map(({ max, windowMs }) => ({ max, windowMs }));
      // A journey's own cap limits its marketing; receipts and other transactional mail never wait.
      if (input.journeyCap && !isTransactional(category)) caps.push({ ...input.journeyCap, journeyId: context.journeyId });
      if (!delivery) {
        if (caps.length > 0) throw new Error('frequency caps are configured but the profile store cannot record send slots');
        return { allowed: true };
      }
      // Uncapped sends are recorded too, so caps switched on later count what was already sent.
      return delivery.reserveSendSlot({
        idempotencyKey,
        customerId: context.customerId,
        channel,
        category,
        journeyId: context.journeyId,
        at: input.now,
        caps,
        ...(context.key ? { instanceKey: context.key } : {}),
      });
    }

    /** Hands the message to its channel; returns the id it went out under. */
    async function deliver(message: Outgoing): Promise<string> {
      switch (message.channel) {
        case 'email':
          await deps.mailer.send(message.mail);
          return message.mail.messageId;
        case 'sms': {
          const sms: Parameters<SmsProvider['send']>[0] = { to: message.to, body: message.body, idempotencyKey };
          if (message.from !== undefined) sms.from = message.from;
          return (await requireProvider(deps.sms).send(sms)).providerId;
        }
        case 'webhook':
          await requireProvider(deps.webhook).send({ url: message.url, body: message.body, idempotencyKey });
          return messageIdFor(idempotencyKey);
      }
    }

    /**
     * Turns a failed delivery into what Temporal should see. A permanent failure gives the cap
     * slot back (nothing was sent, nothing will be) and, for a mailbox the server says does not
     * exist, suppresses the address first so no later journey tries it again.
     */
    async function failure(err: unknown, message: Outgoing): Promise<unknown> {
      const permanent = (err instanceof DeliveryError && err.permanent) || (err instanceof ApplicationFailure && err.nonRetryable);
      if (!permanent) return err;
      await delivery?.releaseSendSlot(idempotencyKey).catch(() => undefined);
      if (message.channel === 'email' && isHardBounce(err) && delivery) {
        // Not caught: if the suppression cannot be written, a retryable error makes the activity
        // run again, bounce again and try again, rather than forget the bad address.
        await delivery.suppress('email', message.mail.to, 'hard_bounce', new Date().toISOString());
      }
      if (err instanceof DeliveryError) {
        return ApplicationFailure.nonRetryable(err.message, PERMANENT_DELIVERY_ERROR, {
          template: template.id,
          channel,
          status: err.status,
          code: err.code,
        });
      }
      return err;
    }

    function where(part: string) {
      return { template: template.id, part };
    }
    function text(source: string, ctx: SendRenderContext, part: string): Promise<string> {
      return renderTemplate(source, ctx, 'text', where(part));
    }
  };
}

/** A template part a channel needs; its absence is a template error, not a crash. */
function requirePart(template: TemplatePlan, part: 'body'): string {
  const source = template[part];
  if (source === undefined) {
    throw new TemplateRenderError(`template ${template.id} has no ${part}, which a ${template.channel} message needs`, template.id, part);
  }
  return source;
}

/** The provider the early channel_unavailable check already proved present. */
function requireProvider<T>(provider: T | undefined): T {
  if (provider === undefined) throw new Error('channel provider disappeared between the check and the send');
  return provider;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", nbsp: ' ' };

/** Plain text of an HTML part, for the result body when a template has no text part. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|#x27|nbsp);/g, (_, name: string) => ENTITIES[name] ?? '')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
