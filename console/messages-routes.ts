/**
 * The console's messages list and template preview. Query parameters are parsed once here and a
 * bad one is refused with 400 naming it; a script with the admin key gets JSON. The preview runs
 * the send activity's stages (cli/preview.ts) on the customer's stored profile, consent and
 * suppressions, against a throw-away store: nothing is sent or stored.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SKIP_REASONS } from '../activities/send/attempt';
import type { JourneyPlan, TemplatePlan } from '../compiler/plan';
import { CHANNELS } from '../compiler/schema';
import { preview, PreviewFailure, templateChannels, type PreviewOptions, type StoredConsent } from '../cli/preview';
import { normaliseAddress } from '../profiles/rules';
import type { MessageCursor, MessagesQuery, Profile } from '../profiles/store';
import { messagesPage, type MessagesFilterText } from './pages/messages';
import { sendConsolePage } from './pages/layout';
import { previewPage, templateHtmlHeaders, templatesPage, type PreviewOutcome } from './pages/templates';
import { csrfOf, wantsJson } from './request';
import type { ConsoleDeps } from './routes';

/** Messages on one page of the list. */
export const MESSAGES_PER_PAGE = 50;
/** Longest customer text accepted (an id is at most 512 characters too). */
const MAX_CUSTOMER_LENGTH = 512;
/** Customers listed when the text matches several. */
const MAX_MATCHES = 20;
const STATUSES = ['sent', 'skipped', 'sending'] as const;
/** Journey ids are kebab-case words (compiler/schema.ts); a generous bound keeps a filter cheap. */
const JOURNEY_TEXT = /^[a-z][a-z0-9-]{0,199}$/;

/** What a send needs besides the template and profile: the server's settings (worker/config.ts). */
export type PreviewSettings = Pick<PreviewOptions, 'publicUrl' | 'mailFrom' | 'unsubscribeTtlMs' | 'consentModes'>;

/** A query parameter that cannot be used, naming it. */
class BadParameter extends Error {}

/** Registers /messages and /templates on the console's plugin (console/routes.ts). */
export function messagesRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/messages', async (request, reply) => {
    const deployed = await deps.store.deployedJourneys();
    const choices = { journeys: deployed.map((d) => d.journeyId).sort(), channels: CHANNELS, statuses: STATUSES, reasons: SKIP_REASONS };
    let parsed: { query: MessagesQuery; filter: MessagesFilterText };
    try {
      parsed = parseMessagesQuery(request.query);
    } catch (error) {
      if (!(error instanceof BadParameter)) throw error;
      if (wantsJson(request)) return reply.code(400).send({ error: 'bad_request', message: error.message });
      return sendConsolePage(reply, 400, messagesPage(csrfOf(request), { filter: {}, choices, messages: [], paged: false, error: error.message }));
    }
    const { messages, older } = await deps.store.messagesPage(parsed.query);
    const next = older === undefined ? undefined : cursorText(older);
    if (wantsJson(request)) {
      return reply.send({
        messages: messages.map((m) => ({
          at: m.createdAt,
          customer: m.customerId,
          journey: m.journeyId,
          step: m.stepId,
          channel: m.channel,
          template: m.template,
          status: m.status,
          ...pick(m.result, ['to', 'subject', 'reason', 'error']),
        })),
        older: next ?? null,
      });
    }
    return sendConsolePage(reply, 200, messagesPage(csrfOf(request), { filter: parsed.filter, choices, messages, older: next, paged: parsed.query.before !== undefined }));
  });

  app.get('/templates', async (request, reply) => {
    const journeys = (await deps.store.deployedJourneys())
      .sort((a, b) => a.journeyId.localeCompare(b.journeyId))
      .map((d) => ({ journeyId: d.journeyId, version: d.version, templates: templatesOf(d.plan) }));
    if (wantsJson(request)) {
      return reply.send({
        journeys: journeys.map((j) => ({ journey: j.journeyId, version: j.version, templates: j.templates.map((t) => ({ id: t.id, channels: templateChannels(t), category: t.category })) })),
      });
    }
    return sendConsolePage(reply, 200, templatesPage(csrfOf(request), journeys, templateChannels));
  });

  app.get('/templates/:journey/:template', async (request, reply) => {
    const found = await findTemplate(deps, request);
    if ('missing' in found) return notFound(request, reply, found.missing);
    const { journeyId, template } = found;
    const channels = templateChannels(template);
    const base = { journeyId, template, channels, customer: '', channel: template.channel as string };
    let params: PreviewParams;
    try {
      params = parsePreviewParams(request.query, channels, template.channel);
    } catch (error) {
      if (!(error instanceof BadParameter)) throw error;
      if (wantsJson(request)) return reply.code(400).send({ error: 'bad_request', message: error.message });
      return sendConsolePage(reply, 400, previewPage(csrfOf(request), { ...base, outcome: { kind: 'none' }, error: error.message }));
    }
    const shown = { ...base, customer: params.customer ?? '', channel: params.channel };
    if (params.customer === undefined) return sendConsolePage(reply, 200, previewPage(csrfOf(request), { ...shown, outcome: { kind: 'none' } }));
    const outcome = await render(deps, template, params.customer, params.channel, request.url);
    const status = outcome.kind === 'choose' && outcome.customers.length === 0 ? 404 : outcome.kind === 'problem' && outcome.unavailable ? 503 : 200;
    if (wantsJson(request)) return reply.code(status).send(outcomeJson(outcome));
    return sendConsolePage(reply, status, previewPage(csrfOf(request), { ...shown, outcome }));
  });

  // The HTML part alone, for the preview's sandboxed frame.
  app.get('/templates/:journey/:template/html', async (request, reply) => {
    const text = (status: number, message: string) => reply.code(status).headers(templateHtmlHeaders).header('content-type', 'text/plain; charset=utf-8').send(message);
    const found = await findTemplate(deps, request);
    if ('missing' in found) return text(404, `No such ${found.missing}.`);
    let params: PreviewParams;
    try {
      params = parsePreviewParams(request.query, templateChannels(found.template), found.template.channel);
    } catch (error) {
      if (!(error instanceof BadParameter)) throw error;
      return text(400, error.message);
    }
    if (params.customer === undefined) return text(400, 'customer: give the customer to render the HTML part for');
    const outcome = await render(deps, found.template, params.customer, params.channel);
    if (outcome.kind !== 'message') return text(outcome.kind === 'choose' ? 404 : 422, outcome.kind === 'problem' ? outcome.message : 'customer: not exactly one customer matches');
    if (outcome.result.channel !== 'email' || outcome.result.html === undefined) return text(404, 'This message has no HTML part.');
    return reply.code(200).headers(templateHtmlHeaders).send(outcome.result.html);
  });
}

/** The list's filters from the URL: each once, each one of its known values; empty means not filtered. */
function parseMessagesQuery(raw: unknown): { query: MessagesQuery; filter: MessagesFilterText } {
  const q = (raw ?? {}) as Record<string, unknown>;
  const text = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new BadParameter(`${name}: give it once`);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = text(name);
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw new BadParameter(`${name}: "${v.slice(0, 40)}" is not one of ${allowed.join(', ')}`);
    return v as T | undefined;
  };
  const journey = text('journey');
  if (journey !== undefined && !JOURNEY_TEXT.test(journey)) throw new BadParameter('journey: not a journey id (lowercase words joined by dashes)');
  const channel = oneOf('channel', CHANNELS);
  const status = oneOf('status', STATUSES);
  const reason = oneOf('reason', SKIP_REASONS);
  if (reason !== undefined && status !== undefined && status !== 'skipped') throw new BadParameter('reason: only skipped messages have a reason; choose the result "skipped" or any result');
  const beforeText = text('before');
  const before = beforeText === undefined ? undefined : parseCursor(beforeText);
  const filter = { journey, channel, status, reason };
  return {
    filter,
    query: { limit: MESSAGES_PER_PAGE, ...defined({ journeyId: journey, channel, status, reason, before }) },
  };
}

/** A cursor as the "older" link writes it: the time and the sequence number, `2024-05-01T10:00:00.000Z,123`. */
function cursorText(c: MessageCursor): string {
  return `${c.createdAt},${c.seq}`;
}

function parseCursor(text: string): MessageCursor {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z),(\d{1,15})$/.exec(text);
  if (match === null || Number.isNaN(Date.parse(match[1]))) throw new BadParameter('before: not a cursor of this list (follow the "Older messages" link)');
  return { createdAt: match[1], seq: Number(match[2]) };
}

interface PreviewParams {
  customer?: string;
  channel: TemplatePlan['channel'];
}

function parsePreviewParams(raw: unknown, channels: readonly TemplatePlan['channel'][], own: TemplatePlan['channel']): PreviewParams {
  const q = (raw ?? {}) as Record<string, unknown>;
  const { customer, channel } = q;
  if (customer !== undefined && (typeof customer !== 'string' || customer.length > MAX_CUSTOMER_LENGTH)) {
    throw new BadParameter(`customer: give one id, email or phone of at most ${MAX_CUSTOMER_LENGTH} characters`);
  }
  if (channel !== undefined && channel !== '' && (typeof channel !== 'string' || !(channels as readonly string[]).includes(channel))) {
    throw new BadParameter(`channel: this template has content for ${channels.join(', ')} only`);
  }
  const term = typeof customer === 'string' ? customer.trim() : '';
  return { ...(term === '' ? {} : { customer: term }), channel: typeof channel === 'string' && channel !== '' ? (channel as TemplatePlan['channel']) : own };
}

/** The deployed journey and its template named in the path, or which of the two is missing. */
async function findTemplate(deps: ConsoleDeps, request: FastifyRequest): Promise<{ journeyId: string; template: TemplatePlan } | { missing: 'journey' | 'template' }> {
  const { journey, template } = request.params as { journey: string; template: string };
  const deployed = (await deps.store.deployedJourneys()).find((d) => d.journeyId === journey);
  if (deployed === undefined) return { missing: 'journey' };
  const found = templatesOf(deployed.plan).find((t) => t.id === template);
  return found === undefined ? { missing: 'template' } : { journeyId: journey, template: found };
}

function templatesOf(plan: unknown): TemplatePlan[] {
  const templates = (plan as Partial<JourneyPlan> | null)?.templates ?? {};
  return Object.values(templates).sort((a, b) => a.id.localeCompare(b.id));
}

function notFound(request: FastifyRequest, reply: FastifyReply, missing: 'journey' | 'template'): FastifyReply {
  const message = missing === 'journey' ? 'No deployed journey has that id.' : 'The deployed version of this journey has no template with that id.';
  if (wantsJson(request)) return reply.code(404).send({ error: 'not_found', message });
  return sendConsolePage(reply, 404, {
    title: missing === 'journey' ? 'No such journey' : 'No such template',
    csrf: csrfOf(request),
    body: `<p>${message} <a href="/console/templates">See every template</a>.</p>`,
  });
}

/** The preview for the one customer `term` names: their stored profile, consent and suppressions. */
async function render(deps: ConsoleDeps, template: TemplatePlan, term: string, channel: TemplatePlan['channel'], url?: string): Promise<PreviewOutcome & { unavailable?: boolean }> {
  if (deps.preview === undefined) return { kind: 'problem', message: 'Preview needs the server’s mail settings, and this console was started without them.', unavailable: true };
  const found = await deps.store.findCustomers(term, MAX_MATCHES);
  if (found.length !== 1) return { kind: 'choose', customers: found };
  const id = found[0];
  const profile: Profile = (await deps.store.getProfile(id)) ?? { id, tags: [] };
  try {
    const result = await preview({ ...deps.preview, template, channel, profile, stored: await storedConsent(deps, profile) });
    // The frame asks for the same preview again, by id so it cannot match anyone else.
    const htmlHref = url === undefined ? undefined : `${url.split('?')[0]}/html?${new URLSearchParams({ customer: id, channel }).toString()}`;
    return { kind: 'message', customer: id, result, ...(htmlHref === undefined ? {} : { htmlHref }) };
  } catch (error) {
    if (error instanceof PreviewFailure) return { kind: 'problem', message: error.message };
    throw error;
  }
}

async function storedConsent(deps: ConsoleDeps, profile: Profile): Promise<StoredConsent> {
  const addresses = [
    ['email', profile.email],
    ['sms', profile.phone],
  ] as const;
  const suppressions: StoredConsent['suppressions'][number][] = [];
  for (const [channel, address] of addresses) {
    const canonical = canonicalAddress(channel, address);
    if (canonical === undefined) continue;
    const reason = await deps.store.suppression(channel, canonical);
    // A send reads only whether the address is suppressed, never since when.
    if (reason !== undefined) suppressions.push({ channel, address: canonical, reason, at: new Date(0).toISOString() });
  }
  return { consentChanges: await deps.store.consentHistory(profile.id), suppressions };
}

function canonicalAddress(channel: string, address: unknown): string | undefined {
  return typeof address === 'string' && address !== '' ? normaliseAddress(channel, address) : undefined;
}

function outcomeJson(outcome: PreviewOutcome): unknown {
  switch (outcome.kind) {
    case 'message':
      return { customer: outcome.customer, message: outcome.result };
    case 'choose':
      return outcome.customers.length === 0 ? { error: 'not_found', message: 'no customer has that id, email or phone' } : { customers: outcome.customers };
    case 'problem':
      return { problem: outcome.message };
    case 'none':
      return {};
  }
}

function pick(result: Record<string, unknown> | undefined, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => result?.[n] !== undefined).map((n) => [n, result?.[n]]));
}

function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}
