/**
 * The template pages: every template of the deployed journeys, and one template rendered for a
 * chosen customer's stored profile (cli/preview.ts, the send activity's own stages; nothing is
 * sent or stored). The HTML part of an e-mail is shown in a sandboxed frame whose own policy
 * allows no script and nothing from outside (see `templateHtmlHeaders`), and as escaped source.
 */
import type { TemplatePlan } from '../../compiler/plan';
import type { PreviewResult } from '../../cli/preview';
import { escapeHtml, table, type ConsolePage } from './layout';
import { journeyHref, templateHref } from './messages';

/** One deployed journey and the templates its plan embeds. */
export interface JourneyTemplates {
  journeyId: string;
  version: string;
  templates: readonly TemplatePlan[];
}

/** The channels a template has content for, its own first (cli/preview.ts `templateChannels`). */
type Channels = (template: TemplatePlan) => readonly string[];

export function templatesPage(csrf: string, journeys: readonly JourneyTemplates[], channels: Channels): ConsolePage {
  if (journeys.length === 0) return { title: 'Templates', csrf, body: '<p>No journey is deployed yet, so there is no template to preview.</p>' };
  const sections = journeys.map((j) => {
    const rows = j.templates.map((t) => [
      `<a href="${escapeHtml(templateHref(j.journeyId, t.id))}">${escapeHtml(t.id)}</a>`,
      escapeHtml(channels(t).join(', ')),
      escapeHtml(t.category),
      t.subject === undefined ? '<span class="muted">—</span>' : `<code>${escapeHtml(t.subject)}</code>`,
    ]);
    const head = `<h2><a href="${journeyHref(j.journeyId)}">${escapeHtml(j.journeyId)}</a> <span class="muted">version <code>${escapeHtml(j.version.slice(0, 12))}</code></span></h2>`;
    return head + (rows.length === 0 ? '<p>This journey sends no message.</p>' : table(['Template', 'Channels', 'Category', 'Subject (Liquid)'], rows));
  });
  return {
    title: 'Templates',
    csrf,
    body: '<p>The templates of each deployed journey, as its plan holds them. Open one to render it for a customer’s stored profile.</p>' + sections.join(''),
  };
}

/** What the preview page shows under its form: nothing yet, customers to choose from, a skip or render failure, or the message. */
export type PreviewOutcome =
  | { kind: 'none' }
  | { kind: 'choose'; customers: readonly string[] }
  | { kind: 'problem'; message: string }
  | { kind: 'message'; customer: string; result: PreviewResult; htmlHref?: string };

export interface PreviewPageInput {
  journeyId: string;
  template: TemplatePlan;
  channels: readonly string[];
  customer: string;
  channel: string;
  outcome: PreviewOutcome;
  /** A refused parameter, with the field named. */
  error?: string;
}

export function previewPage(csrf: string, p: PreviewPageInput): ConsolePage {
  const intro =
    `<p>In journey <a href="${journeyHref(p.journeyId)}">${escapeHtml(p.journeyId)}</a>, category <code>${escapeHtml(p.template.category)}</code>, ` +
    `from <code>${escapeHtml(p.template.file)}</code>. Rendered as a send would render it; nothing is sent or stored, and its links are samples no server accepts.</p>`;
  return { title: `Template ${p.template.id}`, csrf, framesSelf: true, body: intro + previewForm(p) + outcomeHtml(p) };
}

function previewForm(p: PreviewPageInput): string {
  const options = p.channels.map((c) => `<option${c === p.channel ? ' selected' : ''}>${escapeHtml(c)}</option>`).join('');
  return (
    `<form method="get" action="${escapeHtml(templateHref(p.journeyId, p.template.id))}" class="filters" aria-label="Preview for a customer">` +
    `<span class="field"><label for="p-customer">Customer id, email or phone</label> <input type="search" id="p-customer" name="customer" value="${escapeHtml(p.customer)}" required maxlength="512"></span>` +
    `<span class="field"><label for="p-channel">Channel</label> <select id="p-channel" name="channel">${options}</select></span>` +
    ' <button type="submit">Preview</button></form>'
  );
}

function outcomeHtml(p: PreviewPageInput): string {
  if (p.error !== undefined) return `<p class="bad" role="alert">${escapeHtml(p.error)}</p>`;
  const o = p.outcome;
  switch (o.kind) {
    case 'none':
      return '<p class="muted">Choose a customer to see the message their stored profile would get.</p>';
    case 'choose':
      if (o.customers.length === 0) return `<p role="status">No customer has the id, email or phone “${escapeHtml(p.customer)}”.</p>`;
      return `<p role="status">Several customers match; choose one:</p><ul>${o.customers
        .map((id) => `<li><a href="${escapeHtml(templateHref(p.journeyId, p.template.id, id, p.channel))}">${escapeHtml(id)}</a></li>`)
        .join('')}</ul>`;
    case 'problem':
      return `<p class="bad" role="alert">${escapeHtml(o.message)}</p>`;
    case 'message':
      return `<h2>For <a href="/console/customers/${encodeURIComponent(o.customer)}">${escapeHtml(o.customer)}</a></h2>${messageHtml(o.result, o.htmlHref)}`;
  }
}

function messageHtml(r: PreviewResult, htmlHref: string | undefined): string {
  const row = (name: string, v: string) => [escapeHtml(name), v];
  switch (r.channel) {
    case 'email': {
      const head = table(['Header', 'Value'], [row('From', escapeHtml(r.from)), row('To', escapeHtml(r.to)), row('Subject', `<strong>${escapeHtml(r.subject)}</strong>`), ...Object.entries(r.headers).map(([k, v]) => row(k, `<code>${escapeHtml(v)}</code>`))]);
      const text = r.text === undefined ? '<p class="muted">No text part.</p>' : `<pre class="message">${escapeHtml(r.text.trimEnd())}</pre>`;
      return `${head}<h3>Text part</h3>${text}<h3>HTML part</h3>${htmlPart(r.html, htmlHref)}`;
    }
    case 'sms':
      return (
        table(['Field', 'Value'], [row('To', escapeHtml(r.to)), ...(r.from ? [row('From', escapeHtml(r.from))] : []), row('Length', `${r.characters} characters, ${r.encoding}, ${r.segments} segment${r.segments === 1 ? '' : 's'}`)]) +
        `<h3>Text</h3><pre class="message">${escapeHtml(r.body)}</pre>`
      );
    case 'webhook':
      return `<p>POST <code>${escapeHtml(r.url)}</code></p><h3>Body</h3><pre class="message">${escapeHtml(JSON.stringify(r.body, null, 2))}</pre>`;
  }
}

function htmlPart(html: string | undefined, href: string | undefined): string {
  if (html === undefined || href === undefined) return '<p class="muted">No HTML part.</p>';
  // sandbox="" : no script, no forms, no navigation of this page; the frame's response adds its own policy.
  return (
    `<iframe class="mail" sandbox="" src="${escapeHtml(href)}" title="HTML part as rendered" referrerpolicy="no-referrer"></iframe>` +
    `<details><summary>HTML source (${Buffer.byteLength(html)} bytes)</summary><pre class="message">${escapeHtml(html)}</pre></details>`
  );
}

/**
 * Headers of the frame holding an e-mail's HTML part: scripts, plugins, forms and outside loads
 * are refused by the policy itself (`sandbox`, `default-src 'none'`), inline styles and data:
 * images allowed since e-mails rely on them, and only a console page may frame it.
 */
export const templateHtmlHeaders: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
};
