import type { TemplatePlan } from '../../compiler/plan';

/**
 * The versions of a template a send tries, in order: its own channel's, or for `channels:` one
 * per listed channel (the template's top level for its own channel, its section for the others),
 * each with the send's category. The compiler checked every listed channel has content.
 */
export function sendTemplates(template: TemplatePlan, channels: readonly TemplatePlan['channel'][] | undefined, category: string): TemplatePlan[] {
  const withCategory = (t: TemplatePlan): TemplatePlan => (t.category === category ? t : { ...t, category });
  if (!channels) return [withCategory(template)];
  return channels.map((channel) => withCategory(forChannel(template, channel)));
}

function forChannel(template: TemplatePlan, channel: TemplatePlan['channel']): TemplatePlan {
  const { alternatives, subject: _subject, from: _from, text: _text, html: _html, body: _body, url: _url, ...rest } = template;
  if (channel === template.channel) {
    const { alternatives: _alternatives, ...own } = template;
    return own;
  }
  return { ...rest, channel, ...alternatives?.[channel] };
}
