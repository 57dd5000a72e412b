// light-my-request (fastify's inject) requires `cookie`, which is ESM-only; see test/api/server.test.ts.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookie is stubbed in test/observability: inject() cookies are not supported here');
  },
}));

import type { FastifyInstance } from 'fastify';
import { BacklogGuard } from '../../api/backlog';
import { buildApi } from '../../api/server';
import { createUnsubscribeToken } from '../../delivery/tokens';
import { createLogger } from '../../observability/log';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { SpyStore } from '../api/fakes';
import { captureLog, type CapturedLog } from './log-capture';

const WRITE_KEY = 'wk_logs_0123456789';
const BASIC = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Harness {
  app: FastifyInstance;
  store: SpyStore;
  log: CapturedLog;
}

const open: { app: FastifyInstance; close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { app, close } of open.splice(0)) {
    await app.close();
    await close();
  }
});

/** The real API over SQLite stores, logging at info into a captured stream; `backlogLimit` caps the events waiting to be routed. */
async function harness(backlogLimit?: number): Promise<Harness> {
  const store = new SpyStore();
  const subscriptions = new SqliteProfileStore(':memory:');
  const log = captureLog();
  const backlog = backlogLimit === undefined ? undefined : new BacklogGuard({ limit: backlogLimit, count: async () => (await store.live.routingBacklog()).events });
  const app = await buildApi({
    store,
    backlog,
    writeKey: WRITE_KEY,
    ready: async () => ({ ok: true, checks: {} }),
    now: () => NOW,
    logger: createLogger({ service: 'start', level: 'info', destination: log.stream }),
    unsubscribe: { secret: SECRET, store: subscriptions },
  });
  open.push({ app, close: async () => (await store.live.close(), await subscriptions.close()) });
  return { app, store, log };
}

/** The access line of the request with that id, once fastify's onResponse hook has written it. */
async function accessLine(log: CapturedLog, requestId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const line = log.lines.find((l) => l.msg === 'request' && l.requestId === requestId);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no access line for ${requestId} in:\n${log.raw.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function track(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: BASIC, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}

test('an accepted event and an unsubscribe page each get one JSON access line, without the key or the token', async () => {
  const { app, log } = await harness();
  const accepted = await track(app, { userId: 'u1', event: 'cart_abandoned', messageId: 'm1' });
  expect(accepted.statusCode).toBe(200);
  const token = createUnsubscribeToken({ customerId: 'u1', channel: 'email', category: 'marketing', expiresAt: new Date('2024-06-01T00:00:00Z') }, SECRET);
  const page = await app.inject({ method: 'GET', url: `/unsubscribe/${token}` });
  expect(page.statusCode).toBe(200);

  const first = await accessLine(log, accepted.headers['x-request-id'] as string);
  expect(first).toMatchObject({ level: 'info', service: 'start', method: 'POST', route: '/v1/track', status: 200, bytes: accepted.rawPayload.length });
  expect(first.durationMs).toEqual(expect.any(Number));
  const second = await accessLine(log, page.headers['x-request-id'] as string);
  expect(second).toMatchObject({ method: 'GET', route: '/unsubscribe/:token', status: 200 });

  const all = log.raw.join('');
  expect(all).not.toContain(WRITE_KEY);
  expect(all).not.toContain(BASIC.slice('Basic '.length));
  expect(all).not.toContain(token);
  expect(all).not.toContain(token.split('.')[0]);
  expect(all).not.toContain('cart_abandoned');
  expect(log.lines.filter((l) => l.msg !== 'request')).toEqual([]);
});

test('an invalid body yields one error line naming the field, and fastify logs nothing of its own', async () => {
  const { app, log } = await harness();
  const res = await track(app, { userId: 'u1' });
  expect(res.statusCode).toBe(400);
  const id = res.headers['x-request-id'] as string;
  await accessLine(log, id);
  const errors = log.lines.filter((l) => l.msg !== 'request');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ level: 'info', requestId: id, status: 400, fields: ['event'] });
  expect(log.lines).toHaveLength(2);
});

test('a refused write key and a bad unsubscribe link are logged once at info, without what was sent', async () => {
  const { app, log } = await harness();
  const wrongKey = await track(app, { userId: 'u1', event: 'x' }, { authorization: `Basic ${Buffer.from('wk_guess_987654321:').toString('base64')}` });
  expect(wrongKey.statusCode).toBe(401);
  const badLink = await app.inject({ method: 'GET', url: '/unsubscribe/not-a-real-token-abcdef' });
  expect(badLink.statusCode).toBe(400);
  await accessLine(log, badLink.headers['x-request-id'] as string);
  await accessLine(log, wrongKey.headers['x-request-id'] as string);
  const errors = log.lines.filter((l) => l.msg !== 'request');
  expect(errors).toEqual([
    expect.objectContaining({ level: 'info', requestId: wrongKey.headers['x-request-id'], status: 401, field: 'authorization' }),
    expect.objectContaining({ level: 'info', requestId: badLink.headers['x-request-id'], status: 400 }),
  ]);
  expect(log.raw.join('')).not.toMatch(/wk_guess|not-a-real-token/);
});

test('a failing store is logged once at error with its cause', async () => {
  const { app, store, log } = await harness();
  store.failing = 'recordEvents';
  const res = await track(app, { userId: 'u1', event: 'signed_up', messageId: 'm2' });
  expect(res.statusCode).toBe(503);
  await accessLine(log, res.headers['x-request-id'] as string);
  const errors = log.lines.filter((l) => l.msg !== 'request');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ level: 'error', status: 503, err: { message: 'store unreachable (recordEvents)' } });
});

test('a request refused because the routing backlog is full is logged once at error with the counts, not what was sent', async () => {
  const { app, log } = await harness(0);
  const res = await track(app, { userId: 'u1', event: 'signed_up', properties: { secret: 'do-not-log-me' } });
  expect(res.statusCode).toBe(503);
  await accessLine(log, res.headers['x-request-id'] as string);
  const errors = log.lines.filter((l) => l.msg !== 'request');
  expect(errors).toEqual([expect.objectContaining({ level: 'error', status: 503, waiting: 0, limit: 0, msg: 'routing backlog full' })]);
  expect(log.raw.join('')).not.toContain('do-not-log-me');
});

test('a sane X-Request-Id round-trips into the response and the log lines', async () => {
  const { app, log } = await harness();
  const res = await track(app, { userId: 'u1' }, { 'x-request-id': 'lb-7f3a:42' });
  expect(res.headers['x-request-id']).toBe('lb-7f3a:42');
  await accessLine(log, 'lb-7f3a:42');
  expect(log.lines.every((l) => l.requestId === 'lb-7f3a:42')).toBe(true);
});

test.each([
  ['a newline', 'abc\n{"level":"fatal","msg":"forged"}'],
  ['10 KB', 'x'.repeat(10 * 1024)],
  ['a space', 'two words'],
])('an X-Request-Id with %s is replaced by a generated one', async (_what, hostile) => {
  const { app, log } = await harness();
  const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': hostile } });
  expect(res.statusCode).toBe(200);
  const id = res.headers['x-request-id'] as string;
  expect(id).toMatch(UUID);
  await accessLine(log, id);
  expect(log.raw.join('')).not.toContain(hostile.slice(0, 20));
});

test('a request for no route logs its path, with an unsubscribe-like credential hidden', async () => {
  const { app, log } = await harness();
  const res = await app.inject({ method: 'GET', url: '/nowhere/unsubscribe/abc.def?token=xyz' });
  expect(res.statusCode).toBe(404);
  const line = await accessLine(log, res.headers['x-request-id'] as string);
  expect(line).toMatchObject({ route: null, path: '/nowhere/unsubscribe/:token', status: 404 });
  expect(log.raw.join('')).not.toMatch(/abc\.def|xyz/);
});
