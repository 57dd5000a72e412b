/**
 * `GET /console/journeys/:id` (and `?version=<version>`): the page of one journey, or for a
 * script with the admin key the same numbers as JSON. The id and the version are checked before
 * anything is read: a malformed one is refused with 400 naming the field, an unknown journey is 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JourneyPlan } from '../compiler/plan';
import { KEBAB_RE } from '../compiler/schema';
import { splitReports } from '../core/splits';
import { logApiError } from '../observability/log-http';
import type { JourneyPageNumbers } from '../profiles/store';
import { chartDays, journeyConversion, journeyPage, journeyPicture } from './pages/journey';
import { journeyHref } from './pages/journeys';
import { escapeHtml, sendConsolePage } from './pages/layout';
import { splitsSection } from './pages/splits';
import { csrfOf, wantsJson } from './request';
import type { ConsoleDeps } from './routes';

/** Longest journey id or version accepted in the address (versions are content hashes, far shorter). */
const MAX_PARAM_LENGTH = 200;

type Query = { ok: true; id: string; version?: string } | { ok: false; field: 'id' | 'version'; message: string };

/** The id from the path and the optional version from the query, parsed once. */
function parseRequest(request: FastifyRequest): Query {
  const id = (request.params as { id: string }).id;
  if (id.length > MAX_PARAM_LENGTH || !KEBAB_RE.test(id)) return { ok: false, field: 'id', message: 'id: a journey id is lower-case words joined by hyphens, e.g. welcome-series' };
  const version = (request.query as Record<string, unknown> | undefined)?.version;
  if (version === undefined || version === '') return { ok: true, id };
  if (typeof version !== 'string' || version.length > MAX_PARAM_LENGTH) return { ok: false, field: 'version', message: 'version: give one version of the journey, or none for all versions' };
  return { ok: true, id, version };
}

function refuse(request: FastifyRequest, reply: FastifyReply, status: 400 | 404, field: string, message: string): FastifyReply {
  logApiError(request, status, { field }, message);
  if (wantsJson(request)) return reply.code(status).send({ error: status === 400 ? 'invalid_request' : 'not_found', field, message });
  const back = status === 400 && field === 'version' ? ` <a href="${journeyHref((request.params as { id: string }).id)}">All versions of this journey</a>` : ' <a href="/console/journeys">All journeys</a>';
  return sendConsolePage(reply, status, { title: status === 400 ? 'Bad request' : 'No such journey', csrf: csrfOf(request), body: `<p class="bad" role="alert">${escapeHtml(message)}</p><p>${back}</p>` });
}

/** Registers the journey page on the console plugin (console/routes.ts). */
export function journeyRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/journeys/:id', async (request, reply) => {
    const q = parseRequest(request);
    if (!q.ok) return refuse(request, reply, 400, q.field, q.message);
    const days = chartDays(deps.now?.() ?? new Date());
    const [deployed, chosen, numbers, counts] = await Promise.all([
      deps.store.deployedJourneys().then((all) => all.find((d) => d.journeyId === q.id)),
      q.version === undefined ? undefined : deps.store.journeyVersion(q.id, q.version),
      deps.store.journeyPage(q.id, { version: q.version, since: `${days[0]}T00:00:00.000Z` }),
      deps.store.splitCounts(q.id, q.version),
    ]);
    if (numbers.versions.length === 0) return refuse(request, reply, 404, 'id', `id: no journey "${q.id}" was ever deployed`);
    if (q.version !== undefined && chosen === undefined) return refuse(request, reply, 400, 'version', `version: journey ${q.id} has no deployed version "${q.version}"`);
    // Arms are ordered and completed by the chosen version's plan, else the live one's.
    const splits = splitReports((chosen ?? deployed)?.plan as JourneyPlan | undefined, counts);
    if (wantsJson(request)) return reply.send({ ...journeyJson(q.id, q.version, deployed, numbers), splits });
    // The picture is of the chosen version, else the live one, else (withdrawn) the newest.
    const shown = chosen ?? deployed ?? (await deps.store.journeyVersion(q.id, numbers.versions[0].version));
    const plan = shown?.plan as JourneyPlan;
    const view = { journeyId: q.id, deployed, version: q.version, numbers, plan, days, picture: await journeyPicture(plan, numbers), splits: splitsSection(splits) };
    return sendConsolePage(reply, 200, journeyPage(view, csrfOf(request)));
  });
}

function journeyJson(id: string, version: string | undefined, deployed: { version: string; deployedAt: string; paused: boolean } | undefined, n: JourneyPageNumbers): Record<string, unknown> {
  return {
    journey: id,
    status: deployed === undefined ? 'withdrawn' : deployed.paused ? 'paused' : 'live',
    deployedVersion: deployed?.version ?? null,
    deployedAt: deployed?.deployedAt ?? null,
    version: version ?? null,
    versions: n.versions,
    entered: n.entered,
    inside: n.active,
    outcomes: n.outcomes,
    conversionRate: journeyConversion(n) ?? null,
    steps: n.steps,
    days: n.days,
  };
}
