/**
 * The messages page: the latest sends across journeys, newest first, a page at a time, with a
 * filter form of labelled selects (a plain GET form: no script). Every id, address, subject and
 * reason came from outside and is rendered as text.
 */
import type { ListedMessage } from '../../profiles/store';
import { customerHref } from './customer';
import { escapeHtml, table, time, value, type ConsolePage } from './layout';

/** The filters of the page as they are written in its URL (empty: not filtered). */
export interface MessagesFilterText {
  journey?: string;
  channel?: string;
  status?: string;
  reason?: string;
}

/** What the filter form offers in each select. */
export interface MessagesChoices {
  journeys: readonly string[];
  channels: readonly string[];
  statuses: readonly string[];
  reasons: readonly string[];
}

export function journeyHref(id: string): string {
  return `/console/journeys/${encodeURIComponent(id)}`;
}

/** The page's own URL for `filter`, starting after `before` when given. */
export function messagesHref(filter: MessagesFilterText, before?: string): string {
  const params = new URLSearchParams();
  for (const [name, v] of Object.entries(filter)) if (typeof v === 'string' && v !== '') params.set(name, v);
  if (before !== undefined) params.set('before', before);
  const query = params.toString();
  return `/console/messages${query === '' ? '' : `?${query}`}`;
}

/**
 * The list after the form. `older` is the next page's cursor as the URL writes it; `paged` says
 * this is not the first page (so the page links back to the newest).
 */
export function messagesPage(csrf: string, opts: { filter: MessagesFilterText; choices: MessagesChoices; messages: readonly ListedMessage[]; older?: string; paged: boolean; error?: string }): ConsolePage {
  const { filter, messages } = opts;
  const form = filterForm(filter, opts.choices);
  if (opts.error !== undefined) return { title: 'Messages', csrf, body: `${form}<p class="bad" role="alert">${escapeHtml(opts.error)}</p>` };
  const rows = messages.map((m) => [
    time(m.createdAt),
    `<a href="${customerHref(m.customerId)}">${escapeHtml(m.customerId)}</a>`,
    `<a href="${journeyHref(m.journeyId)}">${escapeHtml(m.journeyId)}</a>`,
    escapeHtml(m.stepId),
    escapeHtml(m.channel),
    `<a href="${escapeHtml(templateHref(m.journeyId, m.template, m.customerId, m.channel))}">${escapeHtml(m.template)}</a>`,
    statusText(m.status),
    outcome(m),
  ]);
  const links = [
    opts.paged ? `<a href="${escapeHtml(messagesHref(filter))}">Newest messages</a>` : '',
    opts.older === undefined ? '' : `<a href="${escapeHtml(messagesHref(filter, opts.older))}" rel="next">Older messages</a>`,
  ].filter((link) => link !== '');
  const list =
    rows.length === 0
      ? `<p role="status">${opts.paged ? 'No older message matches.' : 'No message matches.'}</p>`
      : table(['Time', 'Customer', 'Journey', 'Step', 'Channel', 'Template', 'Status', 'To · subject, or why not'], rows, {
          caption: 'Newest first. The template links to its preview for that customer.',
        });
  return { title: 'Messages', csrf, body: form + list + (links.length === 0 ? '' : `<p class="pager">${links.join(' ')}</p>`) };
}

/** The preview of `template` in `journey` for one customer on one channel. */
export function templateHref(journeyId: string, template: string, customer?: string, channel?: string): string {
  const params = new URLSearchParams();
  if (customer !== undefined) params.set('customer', customer);
  if (channel !== undefined) params.set('channel', channel);
  const query = params.toString();
  return `/console/templates/${encodeURIComponent(journeyId)}/${encodeURIComponent(template)}${query === '' ? '' : `?${query}`}`;
}

function filterForm(filter: MessagesFilterText, choices: MessagesChoices): string {
  // A filter value not among the choices (a journey withdrawn since) stays selectable.
  const select = (name: keyof MessagesFilterText, label: string, all: string, options: readonly string[]) => {
    const current = filter[name] ?? '';
    const list = current !== '' && !options.includes(current) ? [current, ...options] : options;
    const items = [`<option value=""${current === '' ? ' selected' : ''}>${escapeHtml(all)}</option>`, ...list.map((o) => `<option${o === current ? ' selected' : ''}>${escapeHtml(o)}</option>`)];
    return `<span class="field"><label for="f-${name}">${escapeHtml(label)}</label> <select id="f-${name}" name="${name}">${items.join('')}</select></span>`;
  };
  return (
    '<form method="get" action="/console/messages" class="filters" aria-label="Filter messages">' +
    select('journey', 'Journey', 'All journeys', choices.journeys) +
    select('channel', 'Channel', 'All channels', choices.channels) +
    select('status', 'Result', 'Any result', choices.statuses) +
    select('reason', 'Skip reason', 'Any reason', choices.reasons) +
    ' <button type="submit">Show</button></form>'
  );
}

function statusText(status: string): string {
  return status === 'sent' ? '<span class="good">sent</span>' : status === 'skipped' ? '<span class="bad">skipped</span>' : escapeHtml(status);
}

/** As the customer page shows a message: where it went and its subject, or why it was skipped. */
function outcome(m: ListedMessage): string {
  const r = m.result ?? {};
  if (m.status === 'skipped') return `<strong>why: ${value(r.reason)}</strong>${typeof r.error === 'string' ? ` ${escapeHtml(r.error)}` : ''}`;
  return [r.to, r.subject].filter((v) => v !== undefined).map(value).join(' · ');
}
