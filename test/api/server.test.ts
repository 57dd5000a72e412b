// light-my-request (fastify's inject) requires `cookie`, which is ESM-only since v2; Node 20
// loads it but jest's CommonJS runtime cannot. Only the `cookies` inject option uses it, and these
// tests send none. Drop this once jest.config.js maps or transforms the package.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookie is stubbed in test/api: inject() cookies are not supported here');
  },
}));

import { deflateSync, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { BacklogGuard } from '../../api/backlog';
import { buildApi, DEFAULT_BODY_LIMIT_BYTES } from '../../api/server';
import type { ReadyReport } from '../../api/types';
import type { RoutingLoop } from '../../routing/loop';
import { FakeRouter, routingLoop, settle, SpyStore } from './fakes';

const WRITE_KEY = 'wk_test_123';
const BASIC = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const NOW = new Date('2024-05-01T12:00:00.000Z');

interface Harness {
  app: FastifyInstance;
  store: SpyStore;
  router: FakeRouter;
  loop: RoutingLoop;
  clock: { now: Date };
}

const open: Harness[] = [];
/** Each app's router loop, which `post` lets route what the request stored. */
const loops = new WeakMap<FastifyInstance, RoutingLoop>();
afterEach(async () => {
  for (const { app, store, loop } of open.splice(0)) {
    await app.close();
    await loop.stop();
    await store.live.close();
  }
});

interface HarnessOptions {
  bodyLimitBytes?: number;
  ready?: () => Promise<ReadyReport>;
  readyTimeoutMs?: number;
  /** Most events that may wait to be routed (the backlog is counted afresh on every request). */
  backlogLimit?: number;
}

/** The API over a spy store, and a router loop it wakes, routing into a fake router. */
async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const store = new SpyStore();
  const router = new FakeRouter();
  const loop = routingLoop(store, router);
  const clock = { now: NOW };
  const backlog =
    options.backlogLimit === undefined
      ? undefined
      : new BacklogGuard({ limit: options.backlogLimit, ttlMs: 0, count: async () => (await store.live.routingBacklog()).events });
  const app = await buildApi({
    store,
    accepted: () => loop.wake(),
    backlog,
    writeKey: WRITE_KEY,
    bodyLimitBytes: options.bodyLimitBytes,
    ready: options.ready ?? (async () => ({ ok: true, checks: { store: 'ok', temporal: 'ok' } })),
    readyTimeoutMs: options.readyTimeoutMs,
    now: () => clock.now,
  });
  const h = { app, store, router, loop, clock };
  open.push(h);
  loops.set(app, loop);
  return h;
}

/** Sends a request without waiting for routing: the answer comes once the events are stored. */
function send(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: { authorization: BASIC, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Sends a request, then lets the router loop route what it stored. */
async function post(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await send(app, url, body, headers);
  const loop = loops.get(app);
  if (loop) await settle(loop);
  return res;
}

describe('POST /v1/track', () => {
  it('stores the event, answers like Segment, and the router loop routes it with the resolved customer', async () => {
    const { app, store, router } = await harness();
    const res = await post(app, '/v1/track', {
      userId: 'u1',
      event: 'cart_abandoned',
      properties: { cart_value: 42 },
      timestamp: '2024-04-30T10:00:00+02:00',
      messageId: 'm-1',
      context: { ip: '1.2.3.4' },
      integrations: { All: true },
      _metadata: { bundled: [] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect(router.routed).toEqual([
      {
        messageId: 'm-1',
        type: 'track',
        customerId: 'u1',
        userId: 'u1',
        event: 'cart_abandoned',
        properties: { cart_value: 42 },
        context: { ip: '1.2.3.4' },
        timestamp: '2024-04-30T08:00:00.000Z',
        receivedAt: NOW.toISOString(),
      },
    ]);
    expect(await store.event('u1', 'm-1')).toMatchObject({ customerId: 'u1', event: 'cart_abandoned', routedAt: expect.any(String) });
  });

  it('routes an anonymous event to the customer its anonymousId was linked to', async () => {
    const { app, router } = await harness();
    await post(app, '/v1/identify', { userId: 'u7', anonymousId: 'anon-7', messageId: 'i-1' });
    const res = await post(app, '/v1/track', { anonymousId: 'anon-7', event: 'viewed' });
    expect(res.statusCode).toBe(200);
    expect(router.routed[1]).toMatchObject({ customerId: 'u7', anonymousId: 'anon-7', event: 'viewed' });
    expect(router.routed[1].userId).toBeUndefined();
  });

  it('turns numeric ids into strings and generates a messageId when none is sent', async () => {
    const { app, router } = await harness();
    const res = await post(app, '/v1/track', { userId: 12345, event: 'signed_up' });
    expect(res.statusCode).toBe(200);
    expect(router.routed[0]).toMatchObject({ userId: '12345', customerId: '12345' });
    expect(router.routed[0].messageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses the receive time when the sender gives no timestamp', async () => {
    const { app, router } = await harness();
    await post(app, '/v1/track', { userId: 'u1', event: 'e' });
    expect(router.routed[0].timestamp).toBe(NOW.toISOString());
    expect(router.routed[0].receivedAt).toBe(NOW.toISOString());
  });

  it('treats "userId": null as absent, as analytics.js sends for anonymous visitors', async () => {
    const { app, router } = await harness();
    const res = await post(app, '/v1/track', { userId: null, anonymousId: 'a1', event: 'e' });
    expect(res.statusCode).toBe(200);
    expect(router.routed[0]).toMatchObject({ customerId: 'a1', anonymousId: 'a1' });
  });
});

describe('POST /v1/identify', () => {
  it('merges the traits into the profile as it stores the identify, which is then routed', async () => {
    const { app, store, router } = await harness();
    const profileWhenRouted: unknown[] = [];
    const route = router.route.bind(router);
    router.route = async (event) => {
      profileWhenRouted.push(await store.live.getProfile(event.customerId));
      return route(event);
    };
    const res = await send(app, '/v1/identify', { userId: 'u1', traits: { email: 'ada@example.com', plan: 'pro' }, messageId: 'i-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    // The traits are applied in the transaction that stores the event: no separate write.
    expect(store.calls).toEqual(['resolveCustomer', 'recordEvents']);
    expect(await store.live.getProfile('u1')).toMatchObject({ id: 'u1', email: 'ada@example.com', plan: 'pro' });
    await settle(loops.get(app)!);
    expect(router.routed).toEqual([
      expect.objectContaining({ type: 'identify', customerId: 'u1', traits: { email: 'ada@example.com', plan: 'pro' } }),
    ]);
    // So a journey woken by the identify sees the traits.
    expect(profileWhenRouted).toEqual([expect.objectContaining({ email: 'ada@example.com', plan: 'pro' })]);
  });

  it('applies the traits of a repeated identify once, and not those of a later body under the same messageId', async () => {
    const { app, store } = await harness();
    await post(app, '/v1/identify', { userId: 'u1', traits: { plan: 'pro' }, messageId: 'i-1' });
    await post(app, '/v1/identify', { userId: 'u1', traits: { plan: 'free' }, messageId: 'i-2' });
    expect((await post(app, '/v1/identify', { userId: 'u1', traits: { plan: 'pro' }, messageId: 'i-1' })).statusCode).toBe(200);
    expect(await store.live.getProfile('u1')).toMatchObject({ plan: 'free' });
  });

  it('links an anonymousId to the user when both are sent', async () => {
    const { app, router } = await harness();
    await post(app, '/v1/track', { anonymousId: 'a1', event: 'viewed', messageId: 't-1' });
    await post(app, '/v1/identify', { userId: 'u1', anonymousId: 'a1', messageId: 'i-1' });
    expect(router.routed.map((e) => e.customerId)).toEqual(['a1', 'u1']);
  });
});

describe('POST /v1/batch', () => {
  it('handles every call in order and applies the batch context under each call context', async () => {
    const { app, store, router } = await harness();
    const res = await post(app, '/v1/batch', {
      batch: [
        { type: 'track', anonymousId: 'a1', event: 'viewed', messageId: 'b-1', context: { page: 'x' } },
        { type: 'identify', userId: 'u1', anonymousId: 'a1', traits: { email: 'u1@example.com' }, messageId: 'b-2' },
        { type: 'track', anonymousId: 'a1', event: 'cart_abandoned', messageId: 'b-3' },
      ],
      context: { library: { name: 'analytics-node' }, page: 'default' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    // Routed after the whole batch is stored: the anonymous view is already the linked user's.
    expect(router.routed.map((e) => [e.messageId, e.type, e.customerId])).toEqual([
      ['b-1', 'track', 'u1'],
      ['b-2', 'identify', 'u1'],
      ['b-3', 'track', 'u1'],
    ]);
    expect(router.routed[0].context).toEqual({ library: { name: 'analytics-node' }, page: 'x' });
    expect(router.routed[2].context).toEqual({ library: { name: 'analytics-node' }, page: 'default' });
    expect(await store.live.getProfile('u1')).toMatchObject({ email: 'u1@example.com' });
    expect((await store.live.eventsFor('u1')).map((e) => e.messageId)).toEqual(['b-1', 'b-2', 'b-3']);
  });

  it('rejects the whole batch when one call is invalid, storing and routing nothing', async () => {
    const { app, store, router } = await harness();
    const res = await post(app, '/v1/batch', {
      batch: [
        { type: 'track', userId: 'u1', event: 'ok', messageId: 'b-1' },
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
        { type: 'track', userId: 'u1', event: '' },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', issues: [{ field: 'batch.2.event', message: 'must not be empty' }] });
    expect(store.calls).toEqual([]);
    expect(await store.live.eventsFor('u1')).toEqual([]);
    expect(await store.live.getProfile('u1')).toBeUndefined();
    expect(router.routed).toEqual([]);
  });

  it('names calls of types it does not ingest', async () => {
    const { app, store } = await harness();
    const res = await post(app, '/v1/batch', {
      batch: [{ type: 'track', userId: 'u1', event: 'e' }, { type: 'page', userId: 'u1', name: 'Home' }, { userId: 'u1' }, { type: 42 }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([
      { field: 'batch.1.type', message: '"page" calls are not supported; send "track" or "identify"' },
      { field: 'batch.2.type', message: 'is required: "track" or "identify"' },
      { field: 'batch.3.type', message: 'must be "track" or "identify", got 42' },
    ]);
    expect(store.calls).toEqual([]);
  });

  it('refuses an empty batch, a batch of more than 500 calls and a batch that is not an array', async () => {
    const { app } = await harness({ bodyLimitBytes: 1024 * 1024 });
    const item = { type: 'track', userId: 'u1', event: 'e' };
    const empty = await post(app, '/v1/batch', { batch: [] });
    expect(empty.json().issues).toEqual([{ field: 'batch', message: 'must hold at least one call' }]);
    const tooMany = await post(app, '/v1/batch', { batch: Array.from({ length: 501 }, () => item) });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().issues).toEqual([{ field: 'batch', message: 'must hold at most 500 calls; split it into several requests' }]);
    const notArray = await post(app, '/v1/batch', { batch: item });
    expect(notArray.json().issues).toEqual([{ field: 'batch', message: 'must be an array of track or identify calls, got an object' }]);
  });
});

describe('validation', () => {
  it.each([
    ['no userId nor anonymousId', '/v1/track', { event: 'e' }, [{ field: 'userId', message: 'userId or anonymousId is required' }]],
    ['both ids null', '/v1/identify', { userId: null, anonymousId: null }, [{ field: 'userId', message: 'userId or anonymousId is required' }]],
    ['an empty event name', '/v1/track', { userId: 'u1', event: '' }, [{ field: 'event', message: 'must not be empty' }]],
    ['a blank event name', '/v1/track', { userId: 'u1', event: '   ' }, [{ field: 'event', message: 'must not be empty' }]],
    ['no event name', '/v1/track', { userId: 'u1' }, [{ field: 'event', message: 'is required' }]],
    ['an event name over 200 characters', '/v1/track', { userId: 'u1', event: 'e'.repeat(201) }, [{ field: 'event', message: 'must be at most 200 characters' }]],
    ['a userId over 256 characters', '/v1/track', { userId: 'u'.repeat(257), event: 'e' }, [{ field: 'userId', message: 'must be at most 256 characters' }]],
    ['a boolean userId', '/v1/track', { userId: true, event: 'e' }, [{ field: 'userId', message: 'must be a string or a number, got a boolean' }]],
    ['an empty anonymousId', '/v1/track', { userId: 'u1', anonymousId: '', event: 'e' }, [{ field: 'anonymousId', message: 'must not be empty' }]],
    ['properties as an array', '/v1/track', { userId: 'u1', event: 'e', properties: [1] }, [{ field: 'properties', message: 'must be an object, got an array' }]],
    ['traits as a string', '/v1/identify', { userId: 'u1', traits: 'vip' }, [{ field: 'traits', message: 'must be an object, got a string' }]],
    [
      'a subscription that is neither a boolean nor a state',
      '/v1/identify',
      { userId: 'u1', traits: { subscriptions: { email: { marketing: 'maybe' } } } },
      [{ field: 'traits.subscriptions.email.marketing', message: 'must be true, false, "subscribed" or "unsubscribed"' }],
    ],
    ['subscriptions as a list', '/v1/identify', { userId: 'u1', traits: { subscriptions: ['email'] } }, [{ field: 'traits.subscriptions', message: expect.stringContaining('must be a map of channels') }]],
    ['context as null', '/v1/track', { userId: 'u1', event: 'e', context: null }, [{ field: 'context', message: 'must be an object, got null' }]],
    [
      'a timestamp that is not ISO-8601',
      '/v1/track',
      { userId: 'u1', event: 'e', timestamp: 'yesterday' },
      [{ field: 'timestamp', message: 'must be an ISO-8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z' }],
    ],
    ['a numeric timestamp', '/v1/track', { userId: 'u1', event: 'e', timestamp: 1714564800 }, [{ field: 'timestamp', message: 'must be an ISO-8601 timestamp string, got a number' }]],
    ['a messageId over 200 characters', '/v1/track', { userId: 'u1', event: 'e', messageId: 'm'.repeat(201) }, [{ field: 'messageId', message: 'must be at most 200 characters' }]],
    ['a numeric messageId', '/v1/track', { userId: 'u1', event: 'e', messageId: 7 }, [{ field: 'messageId', message: 'must be a string, got a number' }]],
    ['the wrong type on /v1/track', '/v1/track', { type: 'identify', userId: 'u1', event: 'e' }, [{ field: 'type', message: 'must be "track" on /v1/track' }]],
    ['a body that is an array', '/v1/track', [{ userId: 'u1', event: 'e' }], [{ field: 'body', message: 'must be a JSON object, got an array' }]],
  ])('refuses %s with 400 naming the field', async (_name, url, body, issues) => {
    const { app, store, router } = await harness();
    const res = await post(app, url, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', issues });
    expect(res.json().message).toEqual(expect.stringContaining(issues[0].field));
    expect(store.calls).toEqual([]);
    expect(router.routed).toEqual([]);
  });

  it('lists every bad field at once', async () => {
    const { app } = await harness();
    const res = await post(app, '/v1/track', { event: 5, properties: 'x', timestamp: 'now' });
    expect(res.json().issues).toEqual([
      { field: 'timestamp', message: 'must be an ISO-8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z' },
      { field: 'event', message: 'must be a string, got a number' },
      { field: 'properties', message: 'must be an object, got a string' },
    ]);
  });

  it('refuses malformed JSON with 400 naming the body', async () => {
    const { app, store } = await harness();
    const res = await post(app, '/v1/track', '{"userId": "u1", "event": ');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_request',
      message: "Body is not valid JSON but content-type is set to 'application/json'",
      issues: [{ field: 'body', message: "Body is not valid JSON but content-type is set to 'application/json'" }],
    });
    expect(store.calls).toEqual([]);
  });

  it('refuses an empty JSON body with 400', async () => {
    const { app } = await harness();
    const res = await post(app, '/v1/track', '');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', issues: [{ field: 'body' }] });
  });

  it('refuses a body that is not JSON with 415', async () => {
    const { app, store } = await harness();
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await post(app, '/v1/track', 'userId=u1&event=e', { 'content-type': contentType });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ error: 'unsupported_media_type' });
      expect(res.json().message).toContain(contentType);
    }
    expect(store.calls).toEqual([]);
  });

  it('refuses a body without a content type with 415', async () => {
    const { app } = await harness();
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: BASIC }, payload: Buffer.from('{"userId":"u1","event":"e"}') });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('accepts JSON with a charset parameter', async () => {
    const { app } = await harness();
    const res = await post(app, '/v1/track', { userId: 'u1', event: 'e' }, { 'content-type': 'application/json; charset=utf-8' });
    expect(res.statusCode).toBe(200);
  });

  it('refuses a body over the limit with 413 and the limit', async () => {
    const { app, store } = await harness({ bodyLimitBytes: 1024 });
    const res = await post(app, '/v1/track', { userId: 'u1', event: 'e', properties: { blob: 'x'.repeat(2000) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'payload_too_large', limit: 1024 });
    expect(store.calls).toEqual([]);
  });

  it('limits bodies to 512 KiB by default, batches included', async () => {
    const { app } = await harness();
    expect(DEFAULT_BODY_LIMIT_BYTES).toBe(512 * 1024);
    const big = { type: 'track', userId: 'u1', event: 'e', properties: { blob: 'x'.repeat(2000) } };
    const res = await post(app, '/v1/batch', { batch: Array.from({ length: 300 }, () => big) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'payload_too_large', limit: 512 * 1024 });
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong key', `Basic ${Buffer.from('wk_wrong:').toString('base64')}`],
    ['the key as password instead of user name', `Basic ${Buffer.from(`:${WRITE_KEY}`).toString('base64')}`],
    ['a prefix of the key', `Basic ${Buffer.from('wk_test:').toString('base64')}`],
    ['an unknown scheme', `Token ${WRITE_KEY}`],
  ])('answers 401 to %s', async (_name, authorization) => {
    const { app, store } = await harness();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers, payload: JSON.stringify({ userId: 'u1', event: 'e' }) });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'unauthorized' });
    expect(res.headers['www-authenticate']).toBe('Basic realm="unbroken"');
    expect(store.calls).toEqual([]);
  });

  it('checks the key before reading the body', async () => {
    const { app } = await harness({ bodyLimitBytes: 100 });
    const res = await post(app, '/v1/batch', 'not json at all'.repeat(20), { authorization: 'Basic d3Jvbmc6' });
    expect(res.statusCode).toBe(401);
  });

  it('accepts the key as "writeKey" in the body, as Segment\'s HTTP API does, for batch, track and identify', async () => {
    const { app, store } = await harness();
    const noHeader = { 'content-type': 'application/json' };
    const batch = { writeKey: WRITE_KEY, sentAt: NOW.toISOString(), batch: [{ type: 'track', userId: 'u1', event: 'e', messageId: 'm1' }] };
    const inject = (url: string, body: unknown) => app.inject({ method: 'POST', url, headers: noHeader, payload: JSON.stringify(body) });
    expect((await inject('/v1/batch', batch)).statusCode).toBe(200);
    expect((await inject('/v1/track', { writeKey: WRITE_KEY, userId: 'u1', event: 'e2' })).statusCode).toBe(200);
    expect((await inject('/v1/identify', { writeKey: WRITE_KEY, userId: 'u1', traits: { plan: 'pro' } })).statusCode).toBe(200);
    expect(store.calls.length).toBeGreaterThan(0);
  });

  it.each([
    ['a wrong body key', { writeKey: 'wk_wrong' }, undefined],
    ['a prefix of the key in the body', { writeKey: 'wk_test' }, undefined],
    ['a body key that is not a string', { writeKey: [WRITE_KEY] }, undefined],
    ['the right body key behind a wrong header', { writeKey: WRITE_KEY }, `Basic ${Buffer.from('wk_wrong:').toString('base64')}`],
  ])('answers 401 to %s and stores nothing', async (_name, extra, authorization) => {
    const { app, store } = await harness();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers, payload: JSON.stringify({ ...extra, batch: [{ type: 'track', userId: 'u1', event: 'e' }] }) });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'unauthorized' });
    expect(store.calls).toEqual([]);
  });

  it('reads gzip and deflate bodies (RudderStack\'s SDK gzips every batch), the key inside them too', async () => {
    const { app, store } = await harness();
    const body = JSON.stringify({ writeKey: WRITE_KEY, batch: [{ type: 'track', userId: 'u1', event: 'zipped', messageId: 'z1' }] });
    for (const [encoding, payload] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['GZIP', gzipSync(body)]] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, payload });
      expect([encoding, res.statusCode]).toEqual([encoding, 200]);
    }
    expect(store.calls.length).toBeGreaterThan(0);
  });

  it('reads a gzipped batch labelled as a form, as RudderStack\'s Node SDK sends it', async () => {
    const { app } = await harness();
    const payload = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event: 'e', messageId: 'r1' }] }));
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip', authorization: BASIC };
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers, payload })).statusCode).toBe(200);
  });

  it('limits the inflated size of a compressed body, refuses a corrupt one and an unknown encoding', async () => {
    const { app, store } = await harness({ bodyLimitBytes: 4096 });
    const send = (payload: Buffer | string, encoding: string) =>
      app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json', 'content-encoding': encoding, authorization: BASIC }, payload });
    // 2 MB of JSON that gzips to about 2 KB: under the limit on the wire, far over it inflated.
    const bomb = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event: 'e', properties: { blob: 'x'.repeat(2_000_000) } }] }));
    expect(bomb.length).toBeLessThan(4096);
    const big = await send(bomb, 'gzip');
    expect(big.statusCode).toBe(413);
    const corrupt = await send(Buffer.concat([gzipSync('{"batch":[]}').subarray(0, 10), Buffer.from('garbage')]), 'gzip');
    expect(corrupt.statusCode).toBe(400);
    expect(corrupt.json()).toMatchObject({ error: 'invalid_request', issues: [{ field: 'body' }] });
    const brotli = await send('{"batch":[]}', 'br');
    expect(brotli.statusCode).toBe(415);
    expect(store.calls).toEqual([]);
  });

  it('accepts the key as a Bearer token too', async () => {
    const { app } = await harness();
    const res = await post(app, '/v1/track', { userId: 'u1', event: 'e' }, { authorization: `Bearer ${WRITE_KEY}` });
    expect(res.statusCode).toBe(200);
  });

  it('refuses to build without a write key', async () => {
    await expect(
      buildApi({ store: new SpyStore(), writeKey: ' ', ready: async () => ({ ok: true, checks: {} }) }),
    ).rejects.toThrow(/UNBROKEN_WRITE_KEY/);
  });
});

describe('deduplication by messageId', () => {
  it('acknowledges a duplicate without routing it again', async () => {
    const { app, router } = await harness();
    const body = { userId: 'u1', event: 'order_completed', messageId: 'dup-1' };
    expect((await post(app, '/v1/track', body)).statusCode).toBe(200);
    const again = await post(app, '/v1/track', body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ success: true });
    expect(router.routed).toHaveLength(1);
  });

  it('ignores a duplicate that arrives a month later', async () => {
    const { app, router, clock } = await harness();
    await post(app, '/v1/identify', { userId: 'u1', traits: { plan: 'free' }, messageId: 'late-1' });
    clock.now = new Date(NOW.getTime() + 31 * 24 * 3600 * 1000);
    const res = await post(app, '/v1/batch', { batch: [{ type: 'identify', userId: 'u1', traits: { plan: 'free' }, messageId: 'late-1' }] });
    expect(res.statusCode).toBe(200);
    expect(router.routed).toHaveLength(1);
  });

  it('routes a messageId repeated inside one batch once', async () => {
    const { app, router } = await harness();
    const call = { type: 'track', userId: 'u1', event: 'e', messageId: 'same' };
    const res = await post(app, '/v1/batch', { batch: [call, call] });
    expect(res.statusCode).toBe(200);
    expect(router.routed).toHaveLength(1);
  });

  it('answers without waiting for routing, and a retry that arrives while the event is being routed is a duplicate', async () => {
    const { app, store, router } = await harness();
    let release = () => {};
    router.gate = new Promise((resolve) => (release = resolve));
    const body = { userId: 'u1', event: 'e', messageId: 'slow-1' };
    // The request woke the loop, whose routing is held at the gate: the answer does not wait for it.
    expect((await send(app, '/v1/track', body)).statusCode).toBe(200);
    expect((await send(app, '/v1/track', body)).statusCode).toBe(200);
    expect(router.routed).toEqual([]);
    release();
    await settle(loops.get(app)!);
    expect(router.routed).toHaveLength(1);
    expect((await store.event('u1', 'slow-1'))?.routedAt).toEqual(expect.any(String));
  });
});

describe('dependency failures', () => {
  it('a routing failure does not fail the request: the event is stored, answered 200, stays unrouted, and the next sweep routes it once routing works', async () => {
    const { app, store, router, loop } = await harness();
    router.failWith = new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233');
    const body = { userId: 'u1', event: 'cart_abandoned', messageId: 'r-1' };
    const res = await send(app, '/v1/track', body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect(await settle(loop)).toEqual({ routed: 0, failed: 1, retrying: 0, deadLettered: 0 });
    const stored = await store.event('u1', 'r-1');
    expect(stored).toMatchObject({ messageId: 'r-1', event: 'cart_abandoned' });
    expect(stored?.routedAt).toBeUndefined();
    expect(await store.live.routingBacklog()).toMatchObject({ events: 1 });

    router.failWith = undefined;
    expect(await loop.sweep()).toEqual({ routed: 1, failed: 0, retrying: 0, deadLettered: 0 });
    expect(router.routed.map((e) => e.messageId)).toEqual(['r-1']);
    expect((await store.event('u1', 'r-1'))?.routedAt).toEqual(expect.any(String));
    // The client never needed to retry; should it, the retry is a duplicate.
    expect((await post(app, '/v1/track', body)).statusCode).toBe(200);
    expect(router.routed).toHaveLength(1);
  });

  it('a store failure answers 503 for the batch, which is stored all or not at all; the retried batch stores it all, routed in order', async () => {
    const { app, store, router } = await harness();
    const batch = ['a', 'b', 'c'].map((id) => ({ type: 'track', userId: 'u1', event: `e-${id}`, messageId: id }));
    const record = store.recordEvents.bind(store);
    let calls = 0;
    store.recordEvents = async (events) => {
      calls += 1;
      if (calls === 1) throw new Error('SQLITE_IOERR: disk I/O error');
      return record(events);
    };
    const failed = await post(app, '/v1/batch', { batch });
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ error: 'unavailable', stage: 'store' });
    expect(failed.json().message).toContain('messageId a');
    expect(await store.live.eventsFor('u1')).toEqual([]);
    expect(router.routed).toEqual([]);
    expect((await post(app, '/v1/batch', { batch })).statusCode).toBe(200);
    expect((await store.live.eventsFor('u1')).map((e) => e.messageId)).toEqual(['a', 'b', 'c']);
    expect(router.routed.map((e) => e.messageId)).toEqual(['a', 'b', 'c']);
  });

  it('answers 503 when the store fails', async () => {
    const { app, store, router } = await harness();
    store.failing = 'recordEvents';
    const res = await post(app, '/v1/track', { userId: 'u1', event: 'e' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'unavailable', stage: 'store' });
    expect(router.routed).toEqual([]);
  });

  it('answers 503 with Retry-After while the routing backlog is full, storing nothing of the request, and accepts again once it is routed', async () => {
    const { app, store, router, loop } = await harness({ backlogLimit: 2 });
    router.failWith = new Error('14 UNAVAILABLE: temporal down');
    const track = (messageId: string) => ({ type: 'track', userId: 'u1', event: 'e', messageId });
    expect((await post(app, '/v1/batch', { batch: [track('t1'), track('t2')] })).statusCode).toBe(200);
    const full = await post(app, '/v1/track', track('t3'));
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('5');
    expect(full.json()).toMatchObject({ error: 'backlog_full', waiting: 2, limit: 2 });
    expect(await store.event('u1', 't3')).toBeUndefined();

    router.failWith = undefined;
    expect(await loop.sweep()).toMatchObject({ routed: 2 });
    expect((await post(app, '/v1/track', track('t3'))).statusCode).toBe(200);
    expect(router.routed.map((e) => e.messageId)).toEqual(['t1', 't2', 't3']);
  });

  it('answers 503 naming the store, not 500, when the store cannot even count the backlog', async () => {
    const store = new SpyStore();
    const backlog = new BacklogGuard({ limit: 10, count: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) });
    const app = await buildApi({ store, backlog, writeKey: WRITE_KEY, ready: async () => ({ ok: true, checks: {} }), now: () => NOW });
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/track', headers: { authorization: BASIC, 'content-type': 'application/json' }, payload: JSON.stringify({ userId: 'u1', event: 'e', messageId: 'm1' }) });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'unavailable', stage: 'store' });
      expect(store.calls).toEqual([]);
    } finally {
      await app.close();
      await store.live.close();
    }
  });
});

describe('health probes', () => {
  it('GET /healthz answers while the process is up, without a key', async () => {
    const { app } = await harness({ ready: async () => ({ ok: false, checks: { temporal: 'down' } }) });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz reports the checks with 200 when ready', async () => {
    const { app } = await harness();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', parts: { store: { state: 'ok' }, temporal: { state: 'ok' } }, checks: { store: 'ok', temporal: 'ok' } });
  });

  it('GET /readyz answers 503 with the failing check', async () => {
    const { app } = await harness({ ready: async () => ({ ok: false, checks: { store: 'ok', temporal: 'connect ECONNREFUSED' } }) });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'unavailable',
      parts: { store: { state: 'ok' }, temporal: { state: 'down', detail: 'connect ECONNREFUSED' } },
      checks: { store: 'ok', temporal: 'connect ECONNREFUSED' },
    });
  });

  it('GET /readyz answers 503 when the probe throws or hangs', async () => {
    const throwing = await harness({ ready: async () => Promise.reject(new Error('boom')) });
    const thrown = await throwing.app.inject({ method: 'GET', url: '/readyz' });
    expect(thrown.statusCode).toBe(503);
    expect(thrown.json().checks).toEqual({ ready: 'probe failed: boom' });

    const hanging = await harness({ ready: () => new Promise(() => {}), readyTimeoutMs: 20 });
    const hung = await hanging.app.inject({ method: 'GET', url: '/readyz' });
    expect(hung.statusCode).toBe(503);
    expect(hung.json().checks).toEqual({ ready: 'no answer within 20 ms' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { app } = await harness();
    const res = await app.inject({ method: 'GET', url: '/v2/track' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });
});
