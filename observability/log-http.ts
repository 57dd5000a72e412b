/**
 * Request logging for the event API: a request id per request (the caller's `X-Request-Id` when
 * it is sane), one access line per response, and one error line per refused or failed request.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';

/** The header a request id arrives in and is returned in. */
export const REQUEST_ID_HEADER = 'x-request-id';

// Visible ASCII only: no spaces or control characters (a newline would forge log lines), and
// short enough to index; anything else is replaced, not trimmed, so ids stay exact.
const SANE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The caller's request id when it is 1-128 visible ASCII characters, else a new UUID. */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Fastify's own request lines (incoming, completed, errors) off: `registerRequestLogging` writes
 * one access line and `logApiError` one error line instead. Request-bound lines carry `requestId`.
 */
export const requestLogController = (): LogController => new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' });

const errorLogged = new WeakSet<FastifyRequest>();

/**
 * Logs why a request failed, once: 5xx at error (with the cause in `err`), 4xx at info (with the
 * failing `field` where there is one).
 */
export function logApiError(request: FastifyRequest, status: number, fields: Record<string, unknown>, message: string): void {
  errorLogged.add(request);
  if (status >= 500) request.log.error({ status, ...fields }, message);
  else request.log.info({ status, ...fields }, message);
}

/** Adds the request id response header and the access line (never the body or headers). */
export function registerRequestLogging(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url;
    // Refusals answered without an error (e.g. an expired unsubscribe link's page) still get their
    // line; 5xx are always logged, with their cause, where they happen.
    if (status >= 400 && status < 500 && !errorLogged.has(request)) logApiError(request, status, {}, `request refused with ${status}`);
    const bytes = Number(reply.getHeader('content-length'));
    request.log.info(
      {
        method: request.method,
        route: route ?? null,
        // The path only when no route matched; a route's own path may hold a credential.
        ...(route === undefined ? { path: request.url.split('?')[0] } : {}),
        status,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        bytes: Number.isFinite(bytes) ? bytes : undefined,
      },
      'request',
    );
  });
}
