/**
 * The web console under `/console`, served by the event API of `unbroken start`: every route is
 * registered here. People log in with the admin key through a form and get a session cookie
 * (console/session.ts); scripts send `Authorization: Bearer <admin key>`. Without either, a
 * browser is sent to the login form and anything else gets 401. Forms that change something carry
 * the session's CSRF token; a Bearer request needs none (a browser never adds that header itself).
 * The write key opens nothing here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin } from '../api/admin';
import { createHash } from 'node:crypto';
import { logApiError } from '../observability/log-http';
import { InvalidCustomerIdError, parseCustomerId } from '../privacy/forget';
import type { LiveStore } from '../profiles/store';
import { journeyRoutes } from './journey-routes';
import { messagesRoutes, type PreviewSettings } from './messages-routes';
import { customerPage, customerHref, searchPage } from './pages/customer';
import { conversionRate, journeysPage } from './pages/journeys';
import { sendConsolePage } from './pages/layout';
import { loginPage } from './pages/login';
import { csrfOf, formField, wantsHtml, wantsJson } from './request';
import { cookieValue, sameSecret, Sessions } from './session';

/** The session cookie's name. */
export const SESSION_COOKIE = 'unbroken_console';
const DAY_MS = 24 * 3_600_000;
/** Longest search text accepted (an id is at most 512 characters too). */
const MAX_QUERY_LENGTH = 512;
/** Most customers one search lists. */
const MAX_FOUND = 20;
/** Form bodies here are a key or a token: a few kilobytes at most. */
const FORM_LIMIT_BYTES = 4096;

/** What the store must answer for the console. */
export type ConsoleStore = Pick<LiveStore, 'deployedJourneys' | 'journeyOverview' | 'setPaused' | 'findCustomers' | 'customerData' | 'messagesPage' | 'getProfile' | 'consentHistory' | 'suppression' | 'journeyPage' | 'journeyVersion' | 'splitCounts'>;

/** What the console is built from. */
export interface ConsoleDeps {
  /** The admin key (api/admin.ts `adminKey`). */
  key: string;
  store: ConsoleStore;
  /** Mark the cookie `Secure`: true when the public URL is https. */
  secureCookie: boolean;
  now?: () => Date;
  /** Session lifetime (default 12 hours). */
  sessionTtlMs?: number;
  /** The server's send settings for the template preview; without them the preview says it is unavailable. */
  preview?: PreviewSettings;
}

/** A fastify plugin (register it with prefix `/console`) serving the console. */
export function consoleRoutes(deps: ConsoleDeps): (app: FastifyInstance) => Promise<void> {
  if (deps.key.trim().length < 16) throw new Error('the console needs an admin key of at least 16 characters: set UNBROKEN_ADMIN_KEY');
  const keyDigest = createHash('sha256').update(deps.key, 'utf8').digest();
  const now = deps.now ?? (() => new Date());
  const sessions = new Sessions(deps.sessionTtlMs, () => now().getTime());
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${deps.secureCookie ? '; Secure' : ''}`;

  return async (app) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      if (path === '/console/login') return;
      if (request.headers.authorization !== undefined) {
        // A script: the header decides alone; a wrong key is never "fixed" by a cookie.
        if (isAdmin(request.headers.authorization, keyDigest)) {
          request.consoleCaller = { kind: 'bearer' };
          return;
        }
        return refuse(request, reply, 'authorization');
      }
      const session = sessions.get(cookieValue(request.headers.cookie, SESSION_COOKIE));
      if (session !== undefined) {
        request.consoleCaller = { kind: 'session', session };
        return;
      }
      // A browser (an expired session too) is sent to the form; a script gets 401.
      if (wantsHtml(request)) return reply.code(303).header('location', '/console/login').send();
      return refuse(request, reply, 'session');
    });

    // Forms that change something: the token must match the session's (a cookie alone is not enough).
    app.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST' || request.url.split('?')[0] === '/console/login') return;
      const caller = request.consoleCaller;
      if (caller?.kind !== 'session') return;
      const token = formField(request.body, 'csrf');
      if (token !== undefined && sameSecret(token, caller.session.csrf)) return;
      logApiError(request, 403, { field: 'csrf' }, 'console form without its CSRF token');
      return sendConsolePage(reply, 403, {
        title: 'Not allowed',
        body: '<p class="bad">This form was not sent from a console page of your session (its CSRF token is missing or wrong). Go back, reload the page and try again.</p>',
      });
    });

    app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) logApiError(request, 500, { err: error }, 'unexpected error in the console');
      else logApiError(request, status, { error: (error as { code?: string }).code }, error.message);
      return sendConsolePage(reply, status, {
        title: status === 500 ? 'Something went wrong' : 'Bad request',
        body: `<p class="bad">${status === 500 ? 'The page could not be built; the error is in the log. Try again.' : 'The request was not understood.'}</p>`,
      });
    });

    app.get('/login', async (request, reply) => {
      if (sessions.get(cookieValue(request.headers.cookie, SESSION_COOKIE)) !== undefined) return reply.code(303).header('location', '/console/journeys').send();
      return sendConsolePage(reply, 200, loginPage());
    });

    app.post('/login', async (request, reply) => {
      const key = formField(request.body, 'key');
      if (key === undefined || !sameSecret(key, deps.key)) {
        logApiError(request, 401, { field: 'key' }, 'console login with a wrong admin key');
        return sendConsolePage(reply, 401, loginPage('That is not the admin key. The write key does not open the console.'));
      }
      const session = sessions.create();
      return reply
        .code(303)
        .header('set-cookie', cookie(session.id, Math.floor((session.expiresAt - now().getTime()) / 1000)))
        .header('location', '/console/journeys')
        .send();
    });

    app.post('/logout', async (request, reply) => {
      const caller = request.consoleCaller;
      if (caller?.kind === 'session') sessions.end(caller.session.id);
      return reply.code(303).header('set-cookie', cookie('', 0)).header('location', '/console/login').send();
    });

    app.get('/', async (_request, reply) => reply.code(303).header('location', '/console/journeys').send());

    app.get('/journeys', async (request, reply) => {
      const deployed = (await deps.store.deployedJourneys()).sort((a, b) => a.journeyId.localeCompare(b.journeyId));
      const overview = await deps.store.journeyOverview(
        deployed.map((d) => d.journeyId),
        windows(now()),
      );
      const rows = deployed.map((d, i) => ({ deployed: d, numbers: overview[i] }));
      if (wantsJson(request)) {
        return reply.send({
          journeys: rows.map(({ deployed: d, numbers: n }) => ({
            journey: d.journeyId,
            status: d.paused ? 'paused' : 'live',
            version: d.version,
            deployedAt: d.deployedAt,
            entered: n.entered,
            inside: n.active,
            outcomes: n.outcomes,
            conversionRate: conversionRate(n) ?? null,
            sent: n.sent,
            skipped: n.skipped,
          })),
        });
      }
      const q = request.query as { done?: unknown; journey?: unknown };
      const notice = (q.done === 'paused' || q.done === 'resumed') && typeof q.journey === 'string' ? `${q.journey} is ${q.done === 'paused' ? 'paused: nobody new enters' : 'live again'}.` : undefined;
      return sendConsolePage(reply, 200, journeysPage(rows, csrfOf(request), notice));
    });

    for (const [action, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const) {
      app.post(`/journeys/:id/${action}`, async (request, reply) => {
        const id = (request.params as { id: string }).id;
        const known = await deps.store.setPaused(id, paused);
        if (!known) return sendConsolePage(reply, 404, { title: 'No such journey', csrf: csrfOf(request), body: '<p>That journey was never deployed.</p>' });
        const done = paused ? 'paused' : 'resumed';
        if (wantsJson(request)) return reply.send({ journey: id, paused });
        return reply.code(303).header('location', `/console/journeys?done=${done}&journey=${encodeURIComponent(id)}`).send();
      });
    }

    app.get('/customers', async (request, reply) => {
      const raw = (request.query as { q?: unknown }).q;
      if (raw === undefined || raw === '') return sendConsolePage(reply, 200, searchPage(csrfOf(request), ''));
      if (typeof raw !== 'string' || raw.length > MAX_QUERY_LENGTH) {
        return sendConsolePage(reply, 400, searchPage(csrfOf(request), '', undefined, `q: give one id, email or phone of at most ${MAX_QUERY_LENGTH} characters`));
      }
      const found = await deps.store.findCustomers(raw, MAX_FOUND);
      if (found.length === 1) return reply.code(303).header('location', customerHref(found[0])).send();
      return sendConsolePage(reply, 200, searchPage(csrfOf(request), raw, found));
    });

    app.get('/customers/:id', async (request, reply) => {
      let id: string;
      try {
        id = parseCustomerId((request.params as { id: string }).id);
      } catch (error) {
        if (!(error instanceof InvalidCustomerIdError)) throw error;
        return sendConsolePage(reply, 400, searchPage(csrfOf(request), '', undefined, error.message));
      }
      const data = await deps.store.customerData(id);
      if (data === undefined) return sendConsolePage(reply, 404, searchPage(csrfOf(request), id, []));
      return sendConsolePage(reply, 200, customerPage(data, csrfOf(request)));
    });

    // The other pages, one file each beside this one; each registers its own routes.
    messagesRoutes(app, deps);
    journeyRoutes(app, deps);
  };
}

/** Start of today (UTC) and seven days back, for the entry counts. */
function windows(at: Date): { today: string; week: string } {
  const today = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return { today: today.toISOString(), week: new Date(at.getTime() - 7 * DAY_MS).toISOString() };
}

function refuse(request: FastifyRequest, reply: FastifyReply, field: string): FastifyReply {
  logApiError(request, 401, { field }, 'console request without the admin key or a session');
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="unbroken-console"')
    .send({ error: 'unauthorized', message: 'log in at /console/login, or send the admin key (UNBROKEN_ADMIN_KEY) as Authorization: Bearer <key>; the write key does not open the console' });
}
