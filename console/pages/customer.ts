/**
 * The customer pages: the search form and results, and one person with everything the store holds
 * about them (privacy/export's `customerData`). Every trait, property, id and detail came from
 * outside and is rendered as text.
 */
import type { CustomerData, StepRecord } from '../../profiles/store';
import { escapeHtml, jsonText, table, time, value, type ConsolePage } from './layout';

/** Events shown on the page, newest first; the export (`unbroken export`) has them all. */
export const RECENT_EVENTS = 50;

const searchForm = (q: string) =>
  '<form method="get" action="/console/customers" role="search">' +
  '<label for="q">Customer id, email or phone</label> ' +
  `<input type="search" id="q" name="q" value="${escapeHtml(q)}" required maxlength="512"> <button type="submit">Find</button></form>`;

/** The search form, and what the search found (`found` absent before a search). */
export function searchPage(csrf: string, q: string, found?: readonly string[], error?: string): ConsolePage {
  let result = '';
  if (error !== undefined) result = `<p class="bad" role="alert">${escapeHtml(error)}</p>`;
  else if (found !== undefined && found.length === 0) result = `<p role="status">No customer has the id, email or phone “${escapeHtml(q)}”.</p>`;
  else if (found !== undefined) result = `<ul>${found.map((id) => `<li><a href="${customerHref(id)}">${escapeHtml(id)}</a></li>`).join('')}</ul>`;
  return { title: 'Customers', csrf, body: searchForm(q) + result };
}

export function customerHref(id: string): string {
  return `/console/customers/${encodeURIComponent(id)}`;
}

export function customerPage(data: CustomerData, csrf: string): ConsolePage {
  return {
    title: `Customer ${data.customer}`,
    csrf,
    body: [
      searchForm(''),
      profile(data),
      identities(data),
      consent(data),
      suppressions(data),
      journeys(data),
      messages(data),
      events(data),
    ].join(''),
  };
}

function profile(data: CustomerData): string {
  if (data.profile === undefined) return '<h2>Profile</h2><p>No profile: only events or runs are held under this id.</p>';
  const rows = Object.entries(data.profile)
    .filter(([key]) => key !== 'id')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, v]) => [escapeHtml(key), key === 'tags' && Array.isArray(v) ? escapeHtml(v.join(', ')) : value(v)]);
  return `<h2>Profile</h2>${table(['Trait', 'Value'], rows)}`;
}

function identities(data: CustomerData): string {
  const others = data.ids.filter((id) => id !== data.customer);
  const links = data.identities.map((l) => [escapeHtml(l.anonymousId), escapeHtml(l.userId), time(l.linkedAt)]);
  return (
    '<h2>Identities</h2>' +
    `<p>Canonical id <code>${escapeHtml(data.customer)}</code>${others.length === 0 ? '; no linked anonymous ids.' : `; linked: ${others.map((id) => `<code>${escapeHtml(id)}</code>`).join(', ')}.`}</p>` +
    (links.length === 0 ? '' : table(['Anonymous id', 'User id', 'Linked at'], links))
  );
}

function consent(data: CustomerData): string {
  const now = data.subscriptions.map((s) => [escapeHtml(s.channel), escapeHtml(s.category), statusText(s.status), escapeHtml(s.source), time(s.updatedAt)]);
  const history = data.consentChanges.map((c) => [
    time(c.happenedAt),
    escapeHtml(c.channel),
    escapeHtml(c.category),
    statusText(c.status),
    escapeHtml(c.source),
    c.applied ? 'yes' : 'no: an older statement than the one held',
    time(c.recordedAt),
  ]);
  return (
    '<h2>Consent</h2>' +
    (now.length === 0 ? '<p>No consent statement: each journey’s category default applies.</p>' : table(['Channel', 'Category', 'Status', 'Source', 'Since'], now)) +
    '<h3>History</h3>' +
    (history.length === 0 ? '<p>None recorded.</p>' : table(['Said at', 'Channel', 'Category', 'Status', 'Source', 'Applied', 'Recorded at'], history))
  );
}

function statusText(status: string): string {
  return status === 'subscribed' ? '<span class="good">subscribed</span>' : status === 'unsubscribed' ? '<span class="bad">unsubscribed</span>' : escapeHtml(status);
}

function suppressions(data: CustomerData): string {
  const rows = data.suppressions.map((s) => [escapeHtml(s.channel), escapeHtml(s.address), escapeHtml(s.reason), time(s.at)]);
  return '<h2>Suppression</h2>' + (rows.length === 0 ? '<p>None of their addresses is suppressed.</p>' : table(['Channel', 'Address', 'Reason', 'Since'], rows));
}

function journeys(data: CustomerData): string {
  if (data.enrolments.length === 0) return '<h2>Journeys</h2><p>Never entered a journey.</p>';
  const runs = [...data.enrolments].reverse().map((run) => {
    const state = run.endedAt === undefined ? `inside, at ${escapeHtml(run.currentStep ?? 'the start')}` : `${escapeHtml(run.outcome ?? 'ended')} ${time(run.endedAt)}`;
    const head =
      `<h3 data-run="${escapeHtml(run.workflowId)}">${escapeHtml(run.journeyId)} · entry ${run.entry}${run.instanceKey === undefined ? '' : ` · key ${escapeHtml(run.instanceKey)}`}</h3>` +
      `<p>Entered ${time(run.enteredAt)} on version <code>${escapeHtml(run.version.slice(0, 12))}</code>; ${state}.</p>`;
    const steps = run.steps.map((s) => [time(s.at), escapeHtml(s.stepId), escapeHtml(s.kind), stepDetail(s)]);
    return head + (steps.length === 0 ? '<p>No step recorded yet.</p>' : table(['At', 'Step', 'What', 'Detail'], steps));
  });
  return `<h2>Journeys</h2>${runs.join('')}`;
}

/** A skip leads with its reason (why they did not get it); other details as JSON. */
function stepDetail(s: StepRecord): string {
  const detail = s.detail;
  if (detail === undefined) return '';
  if (s.kind === 'skipped') {
    const { reason, ...rest } = detail;
    return `<strong>why: ${value(reason)}</strong>${Object.keys(rest).length === 0 ? '' : ` ${jsonText(rest)}`}`;
  }
  if (s.kind === 'sent') {
    const { body: _body, ...rest } = detail;
    return jsonText(rest);
  }
  return jsonText(detail);
}

function messages(data: CustomerData): string {
  if (data.messages.length === 0) return '<h2>Messages</h2><p>No message was sent or skipped.</p>';
  const rows = [...data.messages].reverse().map((m) => {
    const r = m.result ?? {};
    const what = m.status === 'skipped' ? `<strong>why: ${value(r.reason)}</strong>` : [r.to, r.subject].filter((v) => v !== undefined).map(value).join(' · ');
    return [escapeHtml(m.journeyId), escapeHtml(m.stepId), escapeHtml(m.channel), escapeHtml(m.template), escapeHtml(m.status), what];
  });
  return `<h2>Messages</h2>${table(['Journey', 'Step', 'Channel', 'Template', 'Status', 'To · subject, or why not'], rows)}`;
}

function events(data: CustomerData): string {
  const recent = data.events.slice(-RECENT_EVENTS).reverse();
  if (recent.length === 0) return '<h2>Recent events</h2><p>None held.</p>';
  const rows = recent.map((e) => [time(e.timestamp), escapeHtml(e.type), value(e.event), jsonText(e.type === 'identify' ? e.traits : e.properties)]);
  const more = data.events.length > RECENT_EVENTS ? `<p class="muted">The latest ${RECENT_EVENTS} of ${data.events.length}; <code>unbroken export</code> has them all.</p>` : '';
  return `<h2>Recent events</h2>${table(['When', 'Type', 'Event', 'Properties or traits'], rows)}${more}`;
}
