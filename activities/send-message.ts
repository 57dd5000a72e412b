import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityPolicy } from '../compiler/plan';
import type { Profile } from '../profiles/store';
import { PERMANENT_DELIVERY_ERROR } from './errors';
import { DeliveryError } from './mailer';
import { renderContext, renderTemplate, renderValues, TemplateRenderError, type RenderContext } from './render';
import type { ActivityDeps, OutgoingEmail, SendMessageInput, SendMessageResult } from './types';

/** Why a send was skipped; stored in the result and shown in reports. */
export type SkipReason = 'no_address' | 'unsubscribed' | 'template_error' | 'channel_unavailable';

/** Retry/timeout policy of `sendMessage`. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [PERMANENT_DELIVERY_ERROR],
  },
};

/** The RFC 5322 Message-ID of the message sent under `idempotencyKey`; the same on every attempt. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@unbroken>`;
}

/**
 * Builds `sendMessage`: render a template with the fresh profile and send it, at most once per
 * idempotency key.
 *
 * Exactly-once has one unavoidable window: the SMTP server accepted the message but the worker
 * died (or the store write failed) before `finishMessage` recorded it. The claim then still says
 * `sending`, and the retry sends again — with the same Message-ID, so mail clients and many
 * relays fold the two into one. Everything else (retries after a failure, replays, a second
 * call once finished) sends nothing more.
 */
export function createSendMessage(deps: ActivityDeps): (input: SendMessageInput) => Promise<SendMessageResult> {
  return async function sendMessage(input: SendMessageInput): Promise<SendMessageResult> {
    const { template, context, idempotencyKey } = input;
    const claim = await deps.store.claimMessage({
      idempotencyKey,
      customerId: context.customerId,
      journeyId: context.journeyId,
      stepId: input.stepId,
      channel: template.channel,
      template: template.id,
      status: 'sending',
    });
    if (!claim.claimed && claim.existing && claim.existing.status !== 'sending' && claim.existing.result) {
      return claim.existing.result as SendMessageResult;
    }

    const skip = async (reason: SkipReason, error?: string): Promise<SendMessageResult> => {
      const result: SendMessageResult = { status: 'skipped', channel: template.channel, template: template.id, reason };
      if (error !== undefined) result.error = error;
      await deps.store.finishMessage(idempotencyKey, 'skipped', { ...result });
      return result;
    };

    // SMS and webhook channels arrive in a later issue; say so rather than pretend to send.
    if (template.channel !== 'email') return skip('channel_unavailable');

    const profile: Profile = (await deps.store.getProfile(context.customerId)) ?? { id: context.customerId, tags: [] };
    const category = input.category ?? template.category ?? 'marketing';
    // Anything not explicitly transactional is treated as marketing: unsubscribe is respected by default.
    if (category !== 'transactional' && profile.unsubscribed === true) return skip('unsubscribed');

    let mail: OutgoingEmail;
    try {
      const base = renderContext(profile, context, input.now);
      const data = await renderValues(input.data ?? {}, base, { template: template.id, part: 'data' });
      const ctx: RenderContext = { ...base, data };
      const to = input.to !== undefined ? (await render(input.to, ctx, 'to')).trim() : profile.email;
      if (!to) return skip('no_address');
      mail = {
        from: (await render(template.from ?? deps.mailFrom, ctx, 'from')).trim(),
        to,
        subject: (await render(template.subject ?? '', ctx, 'subject')).trim(),
        messageId: messageIdFor(idempotencyKey),
        headers: { 'X-Unbroken-Journey': context.journeyId, 'X-Unbroken-Step': input.stepId },
      };
      if (template.text !== undefined) mail.text = await render(template.text, ctx, 'text');
      if (template.html !== undefined) mail.html = await renderTemplate(template.html, ctx, 'html', where('html'));
    } catch (err) {
      if (err instanceof TemplateRenderError) return skip('template_error', err.message);
      throw err;
    }

    try {
      await deps.mailer.send(mail);
    } catch (err) {
      // Free the claim so the retry may take it; if even that fails, the claim stays `sending`
      // and the retry resends under the same Message-ID, which is the documented window.
      await deps.store.releaseMessage(idempotencyKey).catch(() => undefined);
      if (err instanceof DeliveryError && err.permanent) {
        throw ApplicationFailure.nonRetryable(err.message, PERMANENT_DELIVERY_ERROR, {
          template: template.id,
          status: err.status,
          code: err.code,
        });
      }
      throw err;
    }

    const result: SendMessageResult = {
      status: 'sent',
      channel: template.channel,
      template: template.id,
      to: mail.to,
      subject: mail.subject,
      body: mail.text ?? htmlToText(mail.html ?? ''),
      messageId: mail.messageId,
    };
    await deps.store.finishMessage(idempotencyKey, 'sent', { ...result });
    return result;

    function where(part: string) {
      return { template: template.id, part };
    }
    function render(source: string, ctx: RenderContext, part: string): Promise<string> {
      return renderTemplate(source, ctx, 'text', where(part));
    }
  };
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
