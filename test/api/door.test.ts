// See server.test.ts: light-my-request requires the ESM-only `cookie`, which these tests never use.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookie is stubbed in test/api: inject() cookies are not supported here');
  },
}));

/**
 * What the event API refuses at the door: addresses that are not exactly one, system traits of
 * the wrong type, nesting deeper than the limit, ids and names that are not clean text, numeric
 * ids JSON cannot carry exactly. Each is a 400 naming the field, and a refused batch stores
 * nothing of any of its calls.
 */
import type { FastifyInstance } from 'fastify';
import { MAX_NESTING_DEPTH } from '../../api/schemas';
import { buildApi } from '../../api/server';
import type { RoutingLoop } from '../../routing/loop';
import { FakeRouter, routingLoop, settle, SpyStore } from './fakes';

const WRITE_KEY = 'wk_test_door';
const BASIC = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

interface Harness {
  app: FastifyInstance;
  store: SpyStore;
  router: FakeRouter;
  loop: RoutingLoop;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const { app, store, loop } of open.splice(0)) {
    await app.close();
    await loop.stop();
    await store.live.close();
  }
});

async function harness(): Promise<Harness> {
  const store = new SpyStore();
  const router = new FakeRouter();
  const loop = routingLoop(store, router);
  const app = await buildApi({
    store,
    accepted: () => loop.wake(),
    writeKey: WRITE_KEY,
    suppressions: store.live,
    ready: async () => ({ ok: true, checks: { store: 'ok', temporal: 'ok' } }),
    now: () => new Date('2024-05-01T12:00:00.000Z'),
  });
  const h = { app, store, router, loop };
  open.push(h);
  return h;
}

/** Posts a body; a string is sent as is, so a test can write JSON escapes such as a lone surrogate. */
function post(app: FastifyInstance, url: string, body: unknown) {
  return app.inject({
    method: 'POST',
    url,
    headers: { authorization: BASIC, 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The fields a 400 names. */
async function refusedFields(h: Harness, url: string, body: unknown): Promise<string[]> {
  const res = await post(h.app, url, body);
  expect(res.statusCode).toBe(400);
  const answer = res.json() as { error: string; issues: { field: string; message: string }[] };
  expect(answer.error).toBe('invalid_request');
  return answer.issues.map((issue) => issue.field);
}

/** Nothing of a refused request reached the store, nor is anything left for the router loop to route. */
async function nothingStored(h: Harness, ...customers: string[]): Promise<void> {
  expect(h.store.calls).toEqual([]);
  await settle(h.loop);
  expect(h.router.routed).toEqual([]);
  for (const customer of customers) {
    expect(await h.store.live.getProfile(customer)).toBeUndefined();
    expect(await h.store.live.eventsFor(customer)).toEqual([]);
  }
}

/** `value` inside `levels` levels of objects, the outermost counted as level 1. */
function nested(levels: number, value: unknown = 1): Record<string, unknown> {
  let node: unknown = value;
  for (let i = 1; i < levels; i += 1) node = { a: node };
  return { a: node };
}

/** `['x']` inside `levels` levels of arrays, under a key (so one more level counting the traits). */
function nestedList(levels: number): unknown {
  let node: unknown = ['x'];
  for (let i = 1; i < levels; i += 1) node = [node];
  return node;
}

describe('email and phone traits', () => {
  it.each([
    ['Ann <ANN@Example.com>'],
    ['"Smith, Ann" <ann@example.com>'],
    ['ann@example.com,'],
    ['ann@example.com;'],
    ['ANN@EXAMPLE.COM'],
    ['  ann@example.com  '],
  ])('stores %j as the one canonical mailbox', async (email) => {
    const h = await harness();
    expect((await post(h.app, '/v1/identify', { userId: 'ann', traits: { email } })).statusCode).toBe(200);
    expect((await h.store.live.getProfile('ann'))?.email).toBe('ann@example.com');
  });

  it.each([
    ['a@x.com, b@y.com'],
    ['a@x.com;b@y.com'],
    ['a@x.com\r\nBcc: evil@z.com'],
    ['a@x.com\nBcc: evil@z.com'],
    ['team: a@x.com, b@y.com;'],
    ['undisclosed-recipients:;'],
    ['not an address'],
    ['@example.com'],
    ['ann@'],
  ])('refuses %j as traits.email', async (email) => {
    const h = await harness();
    expect(await refusedFields(h, '/v1/identify', { userId: 'ann', traits: { email } })).toEqual(['traits.email']);
    await nothingStored(h, 'ann');
  });

  it('removes the address with null or empty text', async () => {
    const h = await harness();
    await post(h.app, '/v1/identify', { userId: 'ann', traits: { email: 'ann@example.com', phone: '+15550100000' } });
    expect((await post(h.app, '/v1/identify', { userId: 'ann', traits: { email: null, phone: '' } })).statusCode).toBe(200);
    const profile = await h.store.live.getProfile('ann');
    expect(profile?.email).toBeUndefined();
    expect(profile?.phone).toBeUndefined();
  });

  it.each([
    ['+1 (555) 010-0000', '+15550100000'],
    ['+44 20 7946.0958', '+442079460958'],
  ])('stores the phone number %j in E.164', async (phone, e164) => {
    const h = await harness();
    expect((await post(h.app, '/v1/identify', { userId: 'ann', traits: { phone } })).statusCode).toBe(200);
    expect((await h.store.live.getProfile('ann'))?.phone).toBe(e164);
  });

  it.each([['0044 20 7946 0958'], ['020 7946 0958'], ['+1 555 CALL NOW'], ['+15550100000, +15550100001'], ['+1555\r\n0100000']])(
    'refuses the phone number %j',
    async (phone) => {
      const h = await harness();
      expect(await refusedFields(h, '/v1/identify', { userId: 'ann', traits: { phone } })).toEqual(['traits.phone']);
      await nothingStored(h, 'ann');
    },
  );

  it('names the call of a batch by its index, and stores none of the batch', async () => {
    const h = await harness();
    const batch = [
      { type: 'identify', userId: 'b0', traits: { email: 'b0@example.com' } },
      { type: 'track', userId: 'b1', event: 'signed_up' },
      { type: 'identify', userId: 'b2', traits: { email: 'b2@example.com' } },
      { type: 'identify', userId: 'b3', traits: { email: 'a@x.com, b@y.com' } },
      { type: 'identify', userId: 'b4', traits: { phone: 'call me' } },
    ];
    expect(await refusedFields(h, '/v1/batch', { batch })).toEqual(['batch.3.traits.email', 'batch.4.traits.phone']);
    await nothingStored(h, 'b0', 'b1', 'b2', 'b3', 'b4');
  });
});

describe('system traits of the wrong type', () => {
  it.each([
    [{ email: 42 }, 'traits.email', 'must be an email address string, got a number'],
    [{ email: ['a@x.com'] }, 'traits.email', 'got an array'],
    [{ phone: true }, 'traits.phone', 'got a boolean'],
    [{ phone: 15550100000 }, 'traits.phone', 'got a number'],
    [{ tags: 'vip' }, 'traits.tags', 'must be an array of strings'],
    [{ tags: { vip: true } }, 'traits.tags', 'must be an array of strings'],
    [{ tags: ['vip', 7] }, 'traits.tags.1', 'must be a string'],
    [{ timezone: 'Mars/Olympus_Mons' }, 'traits.timezone', 'IANA time zone'],
    [{ timezone: 'Europe/Berlin; DROP' }, 'traits.timezone', 'IANA time zone'],
    [{ timezone: 60 }, 'traits.timezone', 'got a number'],
  ])('refuses %j naming %s', async (traits, field, message) => {
    const h = await harness();
    const res = await post(h.app, '/v1/identify', { userId: 'u', traits });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field, message: expect.stringContaining(message) }]);
    await nothingStored(h, 'u');
  });

  it('accepts the right types and null for each', async () => {
    const h = await harness();
    const traits = { email: 'u@example.com', phone: '+15550100000', tags: ['vip', 'beta'], timezone: 'America/New_York' };
    expect((await post(h.app, '/v1/identify', { userId: 'u', traits })).statusCode).toBe(200);
    expect(await h.store.live.getProfile('u')).toMatchObject(traits);
    const cleared = { email: null, phone: null, tags: null, timezone: null };
    expect((await post(h.app, '/v1/identify', { userId: 'u', traits: cleared })).statusCode).toBe(200);
    expect(await h.store.live.getProfile('u')).toMatchObject({ tags: [] });
  });

  it('names a bad trait by its call in a batch and keeps the whole batch out', async () => {
    const h = await harness();
    const batch = Array.from({ length: 9 }, (_, i) => ({ type: 'identify', userId: `t${i}`, traits: { tags: ['ok'] } }));
    batch[7] = { type: 'identify', userId: 't7', traits: { tags: 'vip' as unknown as string[] } };
    expect(await refusedFields(h, '/v1/batch', { batch })).toEqual(['batch.7.traits.tags']);
    await nothingStored(h, ...batch.map((call) => call.userId));
  });
});

describe('nesting depth', () => {
  it(`accepts ${MAX_NESTING_DEPTH} levels in properties, traits and context`, async () => {
    const h = await harness();
    const deep = nested(MAX_NESTING_DEPTH);
    expect((await post(h.app, '/v1/track', { userId: 'd', event: 'e', properties: deep, context: deep })).statusCode).toBe(200);
    expect((await post(h.app, '/v1/identify', { userId: 'd', traits: { deep: nested(MAX_NESTING_DEPTH - 1) } })).statusCode).toBe(200);
  });

  it.each([
    ['/v1/track', { userId: 'd', event: 'e', properties: nested(MAX_NESTING_DEPTH + 1) }, 'properties'],
    ['/v1/track', { userId: 'd', event: 'e', context: nested(MAX_NESTING_DEPTH + 1) }, 'context'],
    ['/v1/identify', { userId: 'd', traits: nested(MAX_NESTING_DEPTH + 1) }, 'traits'],
    ['/v1/identify', { userId: 'd', traits: { list: nestedList(MAX_NESTING_DEPTH) } }, 'traits'],
    ['/v1/batch', { batch: [{ type: 'track', userId: 'd', event: 'e' }], context: nested(MAX_NESTING_DEPTH + 1) }, 'context'],
    ['/v1/batch', { batch: [{ type: 'track', userId: 'd', event: 'e' }, { type: 'track', userId: 'd', event: 'e', properties: nested(40) }] }, 'batch.1.properties'],
  ])('refuses deeper nesting on %s, naming %s', async (url, body, field) => {
    const h = await harness();
    expect(await refusedFields(h, url, body)).toEqual([field]);
    await nothingStored(h, 'd');
  });

  it('answers a body nested a hundred thousand levels deep with a 400, not a crash', async () => {
    const h = await harness();
    const depth = 100_000;
    const body = `{"userId":"d","event":"e","properties":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    expect(await refusedFields(h, '/v1/track', body)).toEqual(['properties']);
    // The API still answers afterwards.
    expect((await post(h.app, '/v1/track', { userId: 'd', event: 'e' })).statusCode).toBe(200);
  });
});

describe('ids and names', () => {
  const raw = (fields: string) => `{${fields}}`;
  it.each([
    [raw('"userId":"u\\u0000","event":"e"'), 'userId', 'control characters'],
    [raw('"userId":"u\\r\\n1","event":"e"'), 'userId', 'control characters'],
    [raw('"anonymousId":"a\\u007f","event":"e"'), 'anonymousId', 'control characters'],
    [raw('"userId":"u\\ud800","event":"e"'), 'userId', 'lone surrogate'],
    [raw('"anonymousId":"\\udfffa","event":"e"'), 'anonymousId', 'lone surrogate'],
    [raw('"userId":"u","event":"e","messageId":"m\\n1"'), 'messageId', 'control characters'],
    [raw('"userId":"u","event":"e","messageId":"m\\ud83d"'), 'messageId', 'lone surrogate'],
    [raw('"userId":"u","event":"sign\\u0007up"'), 'event', 'control characters'],
    [raw('"userId":"u","event":"\\udc00"'), 'event', 'lone surrogate'],
    [raw('"userId":9007199254740993,"event":"e"'), 'userId', 'whole number'],
    [raw('"userId":9007199254740992,"event":"e"'), 'userId', 'whole number'],
    [raw('"anonymousId":1e300,"event":"e"'), 'anonymousId', 'whole number'],
    [raw('"userId":4.5,"event":"e"'), 'userId', 'whole number'],
    [raw('"userId":-9007199254740993,"event":"e"'), 'userId', 'whole number'],
  ])('refuses %s naming %s', async (body, field, message) => {
    const h = await harness();
    const res = await post(h.app, '/v1/track', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field, message: expect.stringContaining(message) }]);
    expect(h.store.calls).toEqual([]);
  });

  it('keeps numeric ids up to 2^53 - 1 and names with emoji', async () => {
    const h = await harness();
    const res = await post(h.app, '/v1/track', raw('"userId":9007199254740991,"event":"liked 😀","messageId":"m-😀"'));
    expect(res.statusCode).toBe(200);
    expect(await h.store.live.eventsFor('9007199254740991')).toEqual([expect.objectContaining({ event: 'liked 😀' })]);
  });

  it('names a bad id in a batch by index and stores nothing of the batch', async () => {
    const h = await harness();
    const body = `{"batch":[{"type":"track","userId":"ok","event":"e"},{"type":"identify","userId":"ok2"},{"type":"track","userId":"x\\ud800","event":"e"}]}`;
    expect(await refusedFields(h, '/v1/batch', body)).toEqual(['batch.2.userId']);
    await nothingStored(h, 'ok', 'ok2');
  });
});

describe('timestamps', () => {
  // Stored times are UTC text compared as strings; a year that needs more than four digits in UTC
  // would be written `+010000-…` and sort before every other time of the customer.
  it.each([['9999-12-31T23:59:59-14:00'], ['0001-01-01T00:00:00+01:00'], ['0000-06-01T00:00:00Z']])('refuses %s: outside 0001–9999 in UTC', async (timestamp) => {
    const h = await harness();
    const res = await post(h.app, '/v1/track', { userId: 'u1', event: 'e', timestamp });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ field: 'timestamp', message: expect.stringContaining('0001 and 9999') }]);
    expect(h.store.calls).toEqual([]);
  });

  it('keeps the last instant of 9999 in UTC and names sentAt of a batch', async () => {
    const h = await harness();
    expect((await post(h.app, '/v1/track', { userId: 'u1', event: 'e', timestamp: '9999-12-31T23:59:59Z' })).statusCode).toBe(200);
    expect(await refusedFields(h, '/v1/batch', { batch: [{ type: 'track', userId: 'u2', event: 'e' }], sentAt: '9999-12-31T23:00:00-02:00' })).toEqual(['sentAt']);
  });
});

describe('POST /v1/suppressions', () => {
  it.each([['Ann <ANN@Example.com>'], ['ann@example.com;'], ['ANN@EXAMPLE.COM']])('stores %j as ann@example.com', async (address) => {
    const h = await harness();
    expect((await post(h.app, '/v1/suppressions', { channel: 'email', address, reason: 'complaint' })).statusCode).toBe(200);
    expect(await h.store.live.suppression('email', 'ann@example.com')).toBe('complaint');
  });

  it('stores a phone number in E.164', async () => {
    const h = await harness();
    expect((await post(h.app, '/v1/suppressions', { channel: 'sms', address: '+1 (555) 010-0000', reason: 'manual' })).statusCode).toBe(200);
    expect(await h.store.live.suppression('sms', '+15550100000')).toBe('manual');
  });

  it.each([
    ['email', 'a@x.com, b@y.com'],
    ['email', 'a@x.com\r\nBcc: evil@z.com'],
    ['email', 'group: a@x.com;'],
    ['sms', '0044 20 7946 0958'],
    ['sms', 'call me'],
  ])('refuses %s address %j naming the address', async (channel, address) => {
    const h = await harness();
    expect(await refusedFields(h, '/v1/suppressions', { channel, address, reason: 'manual' })).toEqual(['address']);
  });
});
