/** Metrics of the event API: requests by route pattern and status, event rejections, and `GET /metrics`. */
import type { FastifyInstance } from 'fastify';
import { rejectionReason, type ProcessMetrics } from './metrics';

/** The routes whose refusals count as rejected events. */
const EVENT_ROUTES: ReadonlySet<string> = new Set(['/v1/track', '/v1/identify', '/v1/batch']);

/** The route label of a request no route matched: the raw path would let callers mint label values. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts every response by its route pattern (never the raw URL, which may hold an unsubscribe
 * token) and serves the registry on `GET /metrics`. Metrics hold no personal data (see
 * observability/metrics.ts), which is why the endpoint needs no key, like /healthz.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: ProcessMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const status = reply.statusCode;
    metrics.httpRequest(request.method, route, status, reply.elapsedTime / 1000);
    if (status >= 400 && EVENT_ROUTES.has(route)) metrics.eventRejected(rejectionReason(status));
  });
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.contentType).send(await metrics.text()));
}

