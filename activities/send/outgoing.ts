import { createHash } from 'node:crypto';
import type { TemplatePlan } from '../../compiler/plan';
import { renderTemplate, TemplateRenderError, type RenderSource } from '../render';
import type { OutgoingEmail } from '../types';
import type { ChannelAttempt } from './attempt';
import type { Chosen } from './channel';
import { placeInHtml, placeInSms, placeInText, renderSurvey, SURVEY_MARKERS, type RenderedSurvey } from './survey';
import type { SendRenderContext } from './unsubscribe';

/** A rendered message, ready for its channel. */
export type Outgoing =
  | { channel: 'email'; mail: OutgoingEmail; body: string }
  | { channel: 'sms'; to: string; body: string; from?: string }
  | { channel: 'webhook'; url: string; body: string };

/** The RFC 5322 Message-ID of the message sent under `idempotencyKey`; the same on every attempt. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@unbroken>`;
}

/** Where a message goes: the email or SMS recipient, or the webhook URL. */
export function recipientOf(outgoing: Outgoing): string {
  return outgoing.channel === 'email' ? outgoing.mail.to : outgoing.channel === 'sms' ? outgoing.to : outgoing.url;
}

/** The part of a template being rendered, for error messages. */
export function where(template: TemplatePlan, part: string): RenderSource {
  return { template: template.id, part };
}

/** Renders one part of `template` as plain text (no HTML escaping). */
export function renderText(template: TemplatePlan, source: string, ctx: SendRenderContext, part: string): Promise<string> {
  return renderTemplate(source, ctx, 'text', where(template, part));
}

/**
 * Renders a template's `url`: values inserted next to other text are percent-encoded (Liquid's
 * `url` mode), so `../admin` or `a?b#c` from a profile stays inside its segment. A url that is a
 * single output, e.g. `{{ profile.webhook_url }}`, is the value itself: where it points is
 * checked when the request is made (activities/channels/destination.ts).
 */
export function renderUrl(template: TemplatePlan, source: string, ctx: SendRenderContext): Promise<string> {
  const single = /^\s*\{\{[^{}]*\}\}\s*$/.test(source);
  return renderTemplate(source, ctx, single ? 'text' : 'url', where(template, 'url'));
}

/**
 * Renders the message for the chosen channel. A template that does not render skips the send
 * with `template_error`, so nobody receives "Hi ,"; any other error propagates.
 */
export async function renderOutgoing(
  attempt: ChannelAttempt,
  chosen: Chosen,
): Promise<Outgoing | { reason: 'template_error'; error: string }> {
  try {
    return await renderFor(attempt, chosen);
  } catch (err) {
    if (err instanceof TemplateRenderError) return { reason: 'template_error', error: err.message };
    throw err;
  }
}

/** Renders the message for the chosen channel; a template that does not render throws TemplateRenderError. */
export function renderFor(attempt: ChannelAttempt, chosen: Chosen): Promise<Outgoing> {
  const { template } = attempt;
  switch (template.channel) {
    case 'email':
      return renderEmail(attempt, chosen);
    case 'sms':
      return renderSms(attempt, chosen);
    case 'webhook':
      return renderWebhook(template, chosen);
  }
}

/** The headers every journey mail carries, plus RFC 8058 one-click unsubscribe when it has a link. */
export function emailHeaders(journeyId: string, stepId: string, unsubscribeUrl: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'X-Unbroken-Journey': journeyId, 'X-Unbroken-Step': stepId };
  if (unsubscribeUrl !== undefined) {
    // Mail clients show an unsubscribe button and POST to the URL.
    headers['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return headers;
}

/**
 * The survey of a survey template, with its links minted, and the context its parts render with
 * (the placement variables as markers); for other templates, nothing and the context as it was.
 */
async function surveyOf(attempt: ChannelAttempt, ctx: SendRenderContext): Promise<{ survey?: RenderedSurvey; partCtx: SendRenderContext }> {
  const { template, input } = attempt;
  if (template.survey === undefined) return { partCtx: ctx };
  const survey = await renderSurvey(template.survey, input, ctx, attempt.deps.delivery?.surveyLink, template.id);
  return { survey, partCtx: { ...ctx, ...SURVEY_MARKERS } };
}

async function renderEmail(attempt: ChannelAttempt, { ctx, address, unsubscribeUrl }: Chosen): Promise<Outgoing> {
  const { template, input } = attempt;
  const { survey, partCtx } = await surveyOf(attempt, ctx);
  const mail: OutgoingEmail = {
    from: (await renderText(template, template.from ?? attempt.deps.mailFrom, ctx, 'from')).trim(),
    to: address,
    subject: (await renderText(template, template.subject ?? '', ctx, 'subject')).trim(),
    messageId: messageIdFor(input.idempotencyKey),
    headers: emailHeaders(input.context.journeyId, input.stepId, unsubscribeUrl),
  };
  if (template.text !== undefined) mail.text = await renderText(template, template.text, partCtx, 'text');
  if (template.html !== undefined) mail.html = await renderTemplate(template.html, partCtx, 'html', where(template, 'html'));
  if (survey !== undefined) placeSurvey(mail, survey);
  return { channel: 'email', mail, body: mail.text ?? htmlToText(mail.html ?? '') };
}

/** A survey mail without text or html gets both; otherwise each part it has gets the survey. */
function placeSurvey(mail: OutgoingEmail, survey: RenderedSurvey): void {
  if (mail.text === undefined && mail.html === undefined) {
    mail.text = '';
    mail.html = '';
  }
  if (mail.text !== undefined) mail.text = placeInText(mail.text, survey);
  if (mail.html !== undefined) mail.html = placeInHtml(mail.html, survey);
}

async function renderSms(attempt: ChannelAttempt, { ctx, address }: Chosen): Promise<Outgoing> {
  const { template } = attempt;
  const { survey, partCtx } = await surveyOf(attempt, ctx);
  // A survey is content of its own: an sms survey may have no body but the question and link.
  const source = survey !== undefined ? (template.body ?? '') : requirePart(template, 'body');
  const rendered = await renderText(template, source, partCtx, 'body');
  const body = survey !== undefined ? placeInSms(rendered, survey) : rendered;
  const sms: Outgoing = { channel: 'sms', to: address, body };
  if (template.from !== undefined) sms.from = (await renderText(template, template.from, ctx, 'from')).trim();
  return sms;
}

/** A webhook body must be JSON once rendered: the receiver parses it. */
async function renderWebhook(template: TemplatePlan, { ctx, address }: Chosen): Promise<Outgoing> {
  const body = await renderText(template, requirePart(template, 'body'), ctx, 'body');
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
  return { channel: 'webhook', url: address, body };
}

/** A template part a channel needs; its absence is a template error, not a crash. */
function requirePart(template: TemplatePlan, part: 'body'): string {
  const source = template[part];
  if (source === undefined) {
    throw new TemplateRenderError(`template ${template.id} has no ${part}, which a ${template.channel} message needs`, template.id, part);
  }
  return source;
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
