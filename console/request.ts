/**
 * What every console route asks of a request: who is calling (a logged-in browser or a script with
 * the admin key), whether it wants a page or JSON, its CSRF token, and its form fields. The routes
 * of each page (console/routes.ts and the files beside it) share these.
 */
import type { FastifyRequest } from 'fastify';
import type { Session } from './session';

/** Who is asking: a logged-in browser (with its session) or a script with the key. */
export type Caller = { kind: 'session'; session: Session } | { kind: 'bearer' };

declare module 'fastify' {
  interface FastifyRequest {
    consoleCaller?: Caller;
  }
}

/** Whether the caller asked for a page (a browser) rather than JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/** A script with the admin key that did not ask for HTML: it gets JSON. */
export function wantsJson(request: FastifyRequest): boolean {
  return request.consoleCaller?.kind === 'bearer' && !wantsHtml(request);
}

/** A script's pages have no logout form to protect: an empty token is never accepted by a session. */
export function csrfOf(request: FastifyRequest): string {
  const caller = request.consoleCaller;
  return caller?.kind === 'session' ? caller.session.csrf : '';
}

/** A string field of a parsed form body, or undefined. */
export function formField(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}
