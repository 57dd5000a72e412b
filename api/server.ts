/**
 * The HTTP event API: Segment-compatible `POST /v1/track|identify|batch`, plus health probes and,
 * when configured, the unsubscribe pages (api/unsubscribe.ts) and survey answers (api/survey.ts).
 * Handlers only authenticate, validate and map errors; `ingest` does the work.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import zlib from 'node:zlib';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import pino from 'pino';
import type { z } from 'zod';
import { BacklogFullError, type BacklogGuard } from './backlog';
import { ingest, IngestUnavailableError, type IngestDeps } from './ingest';
import type { DeliveryStore } from '../profiles/store';
import { batchCalls, batchSchema, identifySchema, suppressionSchema, toFieldIssues, trackSchema, type Call, type FieldIssue } from './schemas';
import type { PartHealth } from '../health/probes';
import type { EventStore, ReadyReport } from './types';
import { brokenLinkPage, isUnsubscribePath, registerUnsubscribe, UNSUBSCRIBE_MAX_PARAM_LENGTH, type UnsubscribeDeps } from './unsubscribe';
import { registerSurvey, SURVEY_MAX_PARAM_LENGTH, type SurveyDeps } from './survey';
import { adminRoutes, type AdminDeps } from './admin';
import { consoleRoutes, type ConsoleDeps } from '../console/routes';
import type { ProcessMetrics } from '../observability/metrics';
import { registerHttpMetrics } from '../observability/metrics-http';
import type { Logger } from '../observability/log';
import { logApiError, registerRequestLogging, requestIdOf, requestLogController } from '../observability/log-http';

/** Default largest accepted request body, single call or batch (Segment allows 500 KB per batch). */
export const DEFAULT_BODY_LIMIT_BYTES = 512 * 1024;
/** How long `GET /readyz` waits for the readiness probe (normally a cache read) before reporting not ready. */
export const DEFAULT_READY_TIMEOUT_MS = 1000;

/** What the API is built from; every outside dependency is injected. */
export interface ApiDeps {
  store: EventStore;
  /**
   * Told of each request's newly stored events; `unbroken start` wakes its router loop
   * (routing/loop.ts) with it. Absent: stored events wait for a loop's next sweep.
   */
  accepted?: () => void;
  /** Refuses events with 503 and Retry-After while the routing backlog is at its limit (api/backlog.ts). Absent: no limit. */
  backlog?: BacklogGuard;
  /** Segment-style write key clients authenticate with (`UNBROKEN_WRITE_KEY`). */
  writeKey: string;
  bodyLimitBytes?: number;
  /** The state of each part for `GET /readyz`; answer from a cache (health/probes.ts HealthMonitor), not by probing. */
  ready: () => ReadyReport | Promise<ReadyReport>;
  readyTimeoutMs?: number;
  now?: () => Date;
  /** Where access and error lines go (the process's log); absent: nowhere. */
  logger?: Logger;
  /** Serves `/unsubscribe/:token` and the short `/u/:code` (one-click POST, confirmation page, resubscribe). Absent: no such routes. */
  unsubscribe?: UnsubscribeDeps;
  /** Serves the survey answer page and answers, `/s/:token` (api/survey.ts). Absent: no such routes. */
  survey?: SurveyDeps;
  /** Serves `POST /v1/suppressions` (bounces and complaints from a provider). Absent: no such route. */
  suppressions?: Pick<DeliveryStore, 'suppress'>;
  /** Serves the privacy routes behind the admin key (api/admin.ts). Absent: no such routes. */
  admin?: AdminDeps;
  /** Serves the web console under `/console` behind the admin key (console/routes.ts). Absent: no such routes. */
  console?: ConsoleDeps;
  /** Counts requests and events, and serves them on `GET /metrics`. Absent: no counting, no such route. */
  metrics?: ProcessMetrics;
}

/**
 * What every HTTP server of Unbroken has, the event API and `unbroken console` alike: access and
 * error lines in the process's log with request ids, a JSON 404 naming the route, and
 * `GET /healthz` (the process answers). Routes are added by the caller.
 */
export function httpServer(logger: Logger | undefined, options: Pick<FastifyServerOptions, 'bodyLimit' | 'routerOptions' | 'frameworkErrors'> = {}): FastifyInstance {
  // Typed as fastify's logger so the instance keeps its default type (pino's Logger is one).
  const loggerInstance: FastifyBaseLogger = logger ?? pino({ level: 'silent' });
  const app = Fastify({ loggerInstance, logController: requestLogController(), genReqId: requestIdOf, ...options });
  registerRequestLogging(app);
  app.setNotFoundHandler((request, reply) => {
    logApiError(request, 404, { error: 'not_found' }, 'no such route');
    void reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url}` });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

/** A request body that failed validation; rendered as 400 with one entry per bad field. */
class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';

  constructor(readonly issues: FieldIssue[]) {
    super(`invalid request: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** Builds the API (not listening yet: call `listen`, or `inject` in tests). */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  if (deps.writeKey.trim() === '') {
    // An empty key would let every request in; refuse to start rather than run open.
    throw new Error('the event API needs a write key: set UNBROKEN_WRITE_KEY to a secret string');
  }
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = httpServer(deps.logger, {
    bodyLimit,
    // Unsubscribe and survey tokens are route parameters longer than fastify's default limit of
    // 100, which would answer them 404; no other route has parameters.
    routerOptions: { maxParamLength: Math.max(UNSUBSCRIBE_MAX_PARAM_LENGTH, SURVEY_MAX_PARAM_LENGTH) },
    // A link too long or badly percent-encoded fails before any route's scope: people who followed
    // an unsubscribe link get a page, everyone else fastify's usual JSON.
    frameworkErrors: (error, request, reply) => {
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      if (deps.unsubscribe !== undefined && isUnsubscribePath(request.url)) return brokenLinkPage(request, reply, status);
      return (reply as FastifyReply).code(status).send({ error: 'Bad Request', code: error.code, message: error.message, statusCode: status });
    },
  });
  // Only JSON is accepted; without this fastify would hand text/plain bodies through as strings.
  app.removeContentTypeParser('text/plain');

  const metrics = deps.metrics;
  if (metrics) registerHttpMetrics(app, metrics);
  const ingestDeps: IngestDeps = {
    store: deps.store,
    now: deps.now ?? (() => new Date()),
    backlog: deps.backlog,
    accepted: (events) => {
      for (const event of events) metrics?.eventAccepted(event.type);
      deps.accepted?.();
    },
  };

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply, bodyLimit));

  app.get('/readyz', async (_request, reply) => {
    const { ok, parts, checks } = readyBody(await probe(deps.ready, deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS));
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', parts, checks });
  });

  if (deps.unsubscribe !== undefined) {
    await registerUnsubscribe(app, { ...deps.unsubscribe, now: deps.unsubscribe.now ?? ingestDeps.now });
  }
  if (deps.survey !== undefined) {
    // Answers become events through the same ingestion (storage, metrics, then the router loop) as /v1 calls.
    await registerSurvey(app, { ...deps.survey, now: deps.survey.now ?? ingestDeps.now }, ingestDeps);
  }

  // Their own context under /v1, so the write key's hook never applies to them, nor theirs to events.
  if (deps.admin !== undefined) await app.register(adminRoutes(deps.admin), { prefix: '/v1' });
  if (deps.console !== undefined) await app.register(consoleRoutes(deps.console), { prefix: '/console' });

  await app.register(
    async (v1) => {
      const keyDigest = digest(deps.writeKey);
      const refuse = (request: FastifyRequest, reply: FastifyReply, field: string) => {
        logApiError(request, 401, { field }, 'missing or wrong write key');
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="unbroken"')
          .send({ error: 'unauthorized', message: 'send the write key as the HTTP Basic user name (empty password) or as "writeKey" in the JSON body' });
      };
      // A key in the header is checked in onRequest, before the body is read, so such a caller
      // without the right key learns nothing about payload rules or limits and costs no parsing.
      v1.addHook('onRequest', async (request, reply) => {
        if (request.headers.authorization === undefined) return;
        if (isAuthorized(request.headers.authorization, keyDigest)) return;
        return refuse(request, reply, 'authorization');
      });
      v1.addHook('preParsing', async (request, _reply, payload) => decoded(request, payload));
      // RudderStack's Node SDK gzips its JSON batches and its HTTP library labels them as a form;
      // such a compressed "form" is read as the JSON it is. An uncompressed form stays refused (415).
      const json = v1.getDefaultJsonParser('error', 'error');
      v1.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
        if (request.headers['content-encoding'] === undefined) {
          done(Object.assign(new Error('form bodies are not accepted'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), undefined);
          return;
        }
        json(request, String(body), done);
      });
      // Without the header the key may be in the body as `writeKey`, where Segment's HTTP API also
      // takes it (and `@segment/analytics-node` 2.x sends it); nothing is validated before it matches.
      v1.addHook('preValidation', async (request, reply) => {
        if (request.headers.authorization !== undefined) return;
        if (bodyKeyMatches(request.body, keyDigest)) return;
        return refuse(request, reply, 'writeKey');
      });

      const accept = async (calls: Call[]) => {
        await ingest(calls, ingestDeps);
        return { success: true };
      };
      v1.post('/track', async (request) => accept([parse(trackSchema, request.body)]));
      v1.post('/identify', async (request) => accept([parse(identifySchema, request.body)]));
      v1.post('/batch', async (request) => accept(batchCalls(parse(batchSchema, request.body))));
      const suppressions = deps.suppressions;
      if (suppressions) {
        // Bounce and complaint notifications from a mail or SMS provider: the address is never
        // used again, by any journey.
        v1.post('/suppressions', async (request) => {
          const s = parse(suppressionSchema, request.body);
          await suppressions.suppress(s.channel, s.address, s.reason, ingestDeps.now().toISOString());
          return { success: true };
        });
      }
    },
    { prefix: '/v1' },
  );

  return app;
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new InvalidRequestError(toFieldIssues(result.error));
  return result.data;
}

/** Maps every failure to a JSON body with a stable `error` code. */
function sendError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): FastifyReply {
  if (error instanceof InvalidRequestError) {
    logApiError(request, 400, { fields: error.issues.map((i) => i.field) }, error.message);
    return reply.code(400).send({ error: 'invalid_request', message: error.message, issues: error.issues });
  }
  if (error instanceof IngestUnavailableError) {
    logApiError(request, 503, { err: error.cause, stage: error.stage, messageId: error.messageId }, 'event ingestion failed');
    // 503 tells Segment clients to retry; the retry carries the same messageIds and finishes the job.
    return reply.code(503).send({ error: 'unavailable', message: `${error.message}; retry the request`, stage: error.stage });
  }
  if (error instanceof BacklogFullError) {
    logApiError(request, 503, { waiting: error.waiting, limit: error.limit }, 'routing backlog full');
    return reply
      .code(503)
      .header('Retry-After', String(error.retryAfterSec))
      .send({ error: 'backlog_full', message: error.message, waiting: error.waiting, limit: error.limit });
  }
  const code = 'code' in error ? error.code : undefined;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    // zlib could not inflate a `Content-Encoding: gzip`/`deflate` body.
    logApiError(request, 400, { fields: ['body'] }, error.message);
    const message = `the body is not valid ${String(request.headers['content-encoding'])} data (${error.message})`;
    return reply.code(400).send({ error: 'invalid_request', message, issues: [{ field: 'body', message }] });
  }
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      logApiError(request, 413, { field: 'body', limit: bodyLimit }, 'request body too large');
      return reply.code(413).send({ error: 'payload_too_large', message: `the body is larger than ${bodyLimit} bytes; send fewer calls per batch`, limit: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      logApiError(request, 415, { field: 'content-type' }, 'unsupported content type');
      return reply.code(415).send({
        error: 'unsupported_media_type',
        message: `content type ${JSON.stringify(request.headers['content-type'] ?? '(none)')} is not accepted; send JSON with Content-Type: application/json`,
      });
  }
  const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status === 400) {
    // Malformed JSON, an empty JSON body, a prototype-poisoning key: all about the body itself.
    logApiError(request, 400, { fields: ['body'] }, error.message);
    return reply.code(400).send({ error: 'invalid_request', message: error.message, issues: [{ field: 'body', message: error.message }] });
  }
  if (status > 400 && status < 500) {
    logApiError(request, status, { error: code }, error.message);
    return reply.code(status).send({ error: code ?? 'client_error', message: error.message });
  }
  logApiError(request, 500, { err: error }, 'unexpected error in the event API');
  return reply.code(500).send({ error: 'internal', message: 'internal error; the event was not accepted, retry later' });
}

/** Runs the readiness probe, turning a throw or a hang into a failed check. */
async function probe(ready: () => ReadyReport | Promise<ReadyReport>, timeoutMs: number): Promise<ReadyReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadyReport>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, checks: { ready: `no answer within ${timeoutMs} ms` } }), timeoutMs);
  });
  try {
    return await Promise.race([ready(), timeout]);
  } catch (error) {
    return { ok: false, checks: { ready: `probe failed: ${error instanceof Error ? error.message : String(error)}` } };
  } finally {
    clearTimeout(timer);
  }
}

/** Both forms of a report: each part with its state, and one line per part (`ok` or why not). */
function readyBody(report: ReadyReport): { ok: boolean; parts: Record<string, PartHealth>; checks: Record<string, string> } {
  const entries =
    'parts' in report
      ? Object.entries(report.parts)
      : Object.entries(report.checks).map(([name, line]): [string, PartHealth] => [name, line === 'ok' ? { state: 'ok' } : { state: 'down', detail: line }]);
  return {
    ok: report.ok,
    parts: Object.fromEntries(entries),
    checks: Object.fromEntries(entries.map(([name, part]) => [name, part.state === 'ok' ? 'ok' : (part.detail ?? part.state)])),
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Accepts `Basic base64(<key>:)` (Segment; the password is ignored, as Segment does) and
 * `Bearer <key>`. Digests are compared so neither content nor length leaks through timing.
 */
/** A stream as read from the socket, with what Fastify's body reader counts on it. */
type Payload = NodeJS.ReadableStream & { receivedEncodedLength?: number };

/**
 * The body as JSON text: `Content-Encoding: gzip` or `deflate` is inflated (RudderStack's Node SDK
 * gzips every batch), anything else but `identity` is refused with 415. Fastify applies the body
 * limit to the inflated bytes, so a small bomb cannot inflate past UNBROKEN_MAX_BODY_BYTES.
 */
function decoded(request: FastifyRequest, payload: Payload): Payload {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return payload;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw Object.assign(new Error(`Content-Encoding ${JSON.stringify(encoding)} is not accepted; send gzip, deflate or plain JSON`), {
      statusCode: 415,
      code: 'unsupported_media_type',
    });
  }
  const inflated: Payload = payload.pipe(encoding === 'gzip' ? zlib.createGunzip() : zlib.createInflate());
  // Fastify compares Content-Length with the bytes that arrived, not with the inflated ones.
  inflated.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength = (inflated.receivedEncodedLength ?? 0) + chunk.length));
  return inflated;
}

/** True when a JSON body carries the write key as `writeKey` (constant-time, like the header). */
function bodyKeyMatches(body: unknown, keyDigest: Buffer): boolean {
  const key = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { writeKey?: unknown }).writeKey : undefined;
  return typeof key === 'string' && timingSafeEqual(digest(key), keyDigest);
}

function isAuthorized(header: string | undefined, keyDigest: Buffer): boolean {
  if (header === undefined) return false;
  const match = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  let key = match[2];
  if (match[1].toLowerCase() === 'basic') {
    const decoded = Buffer.from(key, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    key = colon === -1 ? decoded : decoded.slice(0, colon);
  }
  return timingSafeEqual(digest(key), keyDigest);
}
