// light-my-request (fastify's inject) requires `cookie`, which is ESM-only since v2; see
// test/api/server.test.ts. These tests send no cookies.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookie is stubbed in test/api: inject() cookies are not supported here');
  },
}));

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../api/server';
import { escapeHtml, ONE_CLICK_SOURCE, RESUBSCRIBE_SOURCE } from '../../api/unsubscribe';
import type { UnsubscribeDeps } from '../../api/unsubscribe';
import { createUnsubscribeToken } from '../../delivery/tokens';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { SubscriptionStatus, UnsubscribeCode } from '../../profiles/store';
import { SpyStore } from './fakes';

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const NOW = new Date('2024-05-01T12:00:00.000Z');
const IN_A_MONTH = new Date('2024-06-01T12:00:00.000Z');
const CUSTOMER = 'customer-4711';
const ONE_CLICK_BODY = 'List-Unsubscribe=One-Click';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type SubscriptionStore = UnsubscribeDeps['store'];

interface Change {
  customerId: string;
  channel: string;
  category: string;
  status: SubscriptionStatus;
  source: string;
  at: string;
}

/** The subscription methods over a Map, recording every change; unknown means subscribed. Short codes in `codes`. */
class FakeSubscriptions implements SubscriptionStore {
  readonly state = new Map<string, SubscriptionStatus>();
  readonly changes: Change[] = [];
  readonly codes = new Map<string, UnsubscribeCode>();
  reads = 0;
  codeReads = 0;
  /** Makes every call throw, as a store that went away would. */
  failing = false;

  async subscription(customerId: string, channel: string, category: string): Promise<SubscriptionStatus> {
    this.check();
    this.reads += 1;
    return this.state.get(key(customerId, channel, category)) ?? 'subscribed';
  }

  async setSubscription(customerId: string, channel: string, category: string, status: SubscriptionStatus, source: string, at: string): Promise<void> {
    this.check();
    this.changes.push({ customerId, channel, category, status, source, at });
    this.state.set(key(customerId, channel, category), status);
  }

  async unsubscribeCode(code: string): Promise<UnsubscribeCode | undefined> {
    this.check();
    this.codeReads += 1;
    return this.codes.get(code);
  }

  private check(): void {
    if (this.failing) throw new Error('store unreachable');
  }
}

function key(customerId: string, channel: string, category: string): string {
  return JSON.stringify([customerId, channel, category]);
}

const open: { app: FastifyInstance; close?: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { app, close } of open.splice(0)) {
    await app.close();
    await close?.();
  }
});

async function harness(store: SubscriptionStore = new FakeSubscriptions(), clock = { now: NOW }, closeStore?: () => Promise<void>, publicUrl?: string) {
  const events = new SpyStore();
  const app = await buildApi({
    store: events,
    writeKey: 'wk_test_123',
    ready: async () => ({ ok: true, checks: {} }),
    now: () => clock.now,
    unsubscribe: { secret: SECRET, store, publicUrl },
  });
  open.push({
    app,
    close: async () => {
      await events.live.close();
      await closeStore?.();
    },
  });
  return { app, clock };
}

function token(overrides: { customerId?: string; channel?: string; category?: string; expiresAt?: Date; secret?: string } = {}): string {
  return createUnsubscribeToken(
    {
      customerId: overrides.customerId ?? CUSTOMER,
      channel: overrides.channel ?? 'email',
      category: overrides.category ?? 'marketing',
      expiresAt: overrides.expiresAt ?? IN_A_MONTH,
    },
    overrides.secret ?? SECRET,
  );
}

/** A token whose payload names another customer but keeps the original signature. */
function forgedFor(customerId: string): string {
  const [payloadPart, signature] = token().split('.');
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  return `${Buffer.from(JSON.stringify({ ...payload, c: customerId })).toString('base64url')}.${signature}`;
}

function oneClick(app: FastifyInstance, t: string, headers: Record<string, string> = FORM, payload: string | undefined = ONE_CLICK_BODY) {
  return app.inject({ method: 'POST', url: `/unsubscribe/${t}`, headers, payload });
}

function expectPage(res: LightMyRequestResponse, status: number): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  const csp = String(res.headers['content-security-policy']);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
  // Not no-referrer: a form POST from such a page carries `Origin: null`, and resubscribe checks it.
  expect(res.headers['referrer-policy']).toBe('same-origin');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.body).not.toMatch(/<script/i);
  // Nothing identifies the customer, and the page never echoes its credential as text.
  expect(res.body).not.toContain(CUSTOMER);
}

/** The form actions on a page, in order. */
function actions(html: string): string[] {
  return [...html.matchAll(/<form method="post" action="([^"]*)">/g)].map((m) => m[1]);
}

describe('POST /unsubscribe/:token (RFC 8058 one-click)', () => {
  it('unsubscribes the customer from the token\'s channel and category, with no confirmation step', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await oneClick(app, token());
    expectPage(res, 200);
    expect(res.body).toContain('You are unsubscribed');
    expect(res.body).toContain('marketing emails');
    expect(store.changes).toEqual([
      { customerId: CUSTOMER, channel: 'email', category: 'marketing', status: 'unsubscribed', source: ONE_CLICK_SOURCE, at: NOW.toISOString() },
    ]);
    expect(await store.subscription(CUSTOMER, 'email', 'newsletter')).toBe('subscribed');
  });

  it('needs no write key: the token is the credential', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await oneClick(app, token(), { ...FORM, authorization: 'Bearer wrong' });
    expect(res.statusCode).toBe(200);
    expect(store.state.get(key(CUSTOMER, 'email', 'marketing'))).toBe('unsubscribed');
  });

  it('is idempotent', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const t = token();
    expect((await oneClick(app, t)).statusCode).toBe(200);
    expect((await oneClick(app, t)).statusCode).toBe(200);
    expect(store.state.get(key(CUSTOMER, 'email', 'marketing'))).toBe('unsubscribed');
    expect(new Set(store.changes.map((c) => c.status))).toEqual(new Set(['unsubscribed']));
  });

  it.each<[string, Record<string, string>, string | undefined]>([
    ['form-encoded', FORM, ONE_CLICK_BODY],
    ['form-encoded with charset', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, ONE_CLICK_BODY],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n'],
    ['text/plain', { 'content-type': 'text/plain' }, ONE_CLICK_BODY],
    ['JSON that is not JSON', { 'content-type': 'application/json' }, ONE_CLICK_BODY],
    ['empty JSON', { 'content-type': 'application/json' }, ''],
    ['no body, no content type', {}, undefined],
    ['empty form', FORM, ''],
  ])('accepts whatever body a provider sends (%s)', async (_name, headers, payload) => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await oneClick(app, token(), headers, payload);
    expect(res.statusCode).toBe(200);
    expect(store.changes).toHaveLength(1);
  });

  it('refuses an oversized body without changing anything', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await oneClick(app, token(), FORM, `${ONE_CLICK_BODY}&pad=${'x'.repeat(10_000)}`);
    expect(res.statusCode).toBe(413);
    expect(store.changes).toEqual([]);
  });

  it.each<[string, () => string, number, RegExp]>([
    ['tampered (another customer in the payload)', () => forgedFor('customer-9999'), 400, /not valid/],
    ['tampered signature', () => token().slice(0, -2) + (token().endsWith('AA') ? 'BA' : 'AA'), 400, /not valid/],
    ['signed with another secret', () => token({ secret: 'another-unsubscribe-secret-0123456789abcd' }), 400, /not valid/],
    ['expired', () => token({ expiresAt: new Date(NOW.getTime() - 1000) }), 410, /expired/],
    ['malformed', () => 'not-a-token', 400, /not valid/],
  ])('rejects a %s token and changes nothing', async (_name, make, status, message) => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await oneClick(app, make());
    expectPage(res, status);
    expect(res.body).toMatch(message);
    expect(res.body).toContain('nothing was changed');
    expect(actions(res.body)).toEqual([]);
    expect(store.changes).toEqual([]);
    expect(store.state.size).toBe(0);
  });

  it('a token for another customer only ever affects that customer', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    expect((await oneClick(app, token({ customerId: 'customer-other' }))).statusCode).toBe(200);
    expect(store.changes.map((c) => c.customerId)).toEqual(['customer-other']);
    expect(await store.subscription(CUSTOMER, 'email', 'marketing')).toBe('subscribed');
  });

  it('uses the clock for expiry: a token valid yesterday is refused today', async () => {
    const store = new FakeSubscriptions();
    const clock = { now: NOW };
    const { app } = await harness(store, clock);
    const t = token({ expiresAt: new Date(NOW.getTime() + 60_000) });
    clock.now = new Date(NOW.getTime() + 60_000);
    expect((await oneClick(app, t)).statusCode).toBe(410);
    expect(store.changes).toEqual([]);
  });

  it('answers 503 with a page when the store fails, so providers retry', async () => {
    const store = new FakeSubscriptions();
    store.failing = true;
    const { app } = await harness(store);
    const res = await oneClick(app, token());
    expectPage(res, 503);
    expect(res.body).toContain('Nothing was changed');
  });

  it('is not served when no unsubscribe secret is configured', async () => {
    const events = new SpyStore();
    const app = await buildApi({ store: events, writeKey: 'wk_test_123', ready: async () => ({ ok: true, checks: {} }) });
    open.push({ app, close: () => events.live.close() });
    expect((await oneClick(app, token())).statusCode).toBe(404);
  });

  it('refuses to start with a short secret', async () => {
    const events = new SpyStore();
    await expect(
      buildApi({
        store: events,
        writeKey: 'wk_test_123',
        ready: async () => ({ ok: true, checks: {} }),
        unsubscribe: { secret: 'too-short', store: new FakeSubscriptions() },
      }),
    ).rejects.toThrow(/UNBROKEN_UNSUBSCRIBE_SECRET/);
    await events.live.close();
  });
});

describe('GET /unsubscribe/:token (confirmation page)', () => {
  it('shows the current state and an Unsubscribe button, and changes nothing', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const t = token({ category: 'newsletter' });
    const res = await app.inject({ method: 'GET', url: `/unsubscribe/${t}` });
    expectPage(res, 200);
    expect(res.body).toContain('Unsubscribe from newsletter emails?');
    expect(res.body).toContain('You are currently subscribed');
    expect(res.body).toContain('<html lang="en">');
    // Relative to /unsubscribe/<token>, so it still works behind a path prefix.
    expect(actions(res.body)).toEqual([t]);
    expect(store.changes).toEqual([]);
    expect(store.reads).toBe(1);
  });

  it('does not change anything when fetched repeatedly, as mail scanners do (GET and HEAD)', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const t = token();
    for (let i = 0; i < 3; i += 1) expect((await app.inject({ method: 'GET', url: `/unsubscribe/${t}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'HEAD', url: `/unsubscribe/${t}` })).statusCode).toBe(200);
    expect(store.changes).toEqual([]);
    expect(await store.subscription(CUSTOMER, 'email', 'marketing')).toBe('subscribed');
  });

  it('offers Resubscribe once unsubscribed', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const t = token();
    await oneClick(app, t);
    const res = await app.inject({ method: 'GET', url: `/unsubscribe/${t}` });
    expectPage(res, 200);
    expect(res.body).toContain('You are unsubscribed from marketing emails');
    expect(actions(res.body)).toEqual([`${t}/resubscribe`]);
  });

  it('refuses invalid and expired tokens without reading the store', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    expectPage(await app.inject({ method: 'GET', url: `/unsubscribe/${forgedFor('customer-9999')}` }), 400);
    expectPage(await app.inject({ method: 'GET', url: `/unsubscribe/${token({ expiresAt: NOW })}` }), 410);
    expect(store.reads).toBe(0);
  });

  it('escapes everything it shows', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const res = await app.inject({ method: 'GET', url: `/unsubscribe/${token({ category: '<img src=x onerror=alert(1)>', channel: '"><b>x' })}` });
    expectPage(res, 200);
    expect(res.body).not.toContain('<img');
    expect(res.body).not.toContain('"><b>');
    expect(res.body).toContain(escapeHtml('<img src=x onerror=alert(1)>'));
  });

  it('names SMS as text messages', async () => {
    const { app } = await harness();
    const res = await app.inject({ method: 'GET', url: `/unsubscribe/${token({ channel: 'sms' })}` });
    expect(res.body).toContain('marketing text messages');
  });

  it('answers 503 with a page when the store fails', async () => {
    const store = new FakeSubscriptions();
    store.failing = true;
    const { app } = await harness(store);
    expectPage(await app.inject({ method: 'GET', url: `/unsubscribe/${token()}` }), 503);
  });
});

describe('POST /unsubscribe/:token/resubscribe', () => {
  it('subscribes again with source resubscribe_page, and offers to undo', async () => {
    const store = new FakeSubscriptions();
    const clock = { now: NOW };
    const { app } = await harness(store, clock);
    const t = token();
    await oneClick(app, t);
    clock.now = new Date(NOW.getTime() + 5000);
    const res = await app.inject({ method: 'POST', url: `/unsubscribe/${t}/resubscribe`, headers: FORM, payload: ONE_CLICK_BODY });
    expectPage(res, 200);
    expect(res.body).toContain('You are subscribed again');
    // This page is one level deeper than the token, hence '../'.
    expect(actions(res.body)).toEqual([`../${t}`]);
    expect(store.changes.at(-1)).toEqual({
      customerId: CUSTOMER,
      channel: 'email',
      category: 'marketing',
      status: 'subscribed',
      source: RESUBSCRIBE_SOURCE,
      at: clock.now.toISOString(),
    });
    expect(await store.subscription(CUSTOMER, 'email', 'marketing')).toBe('subscribed');
  });

  it('rejects a forged token and changes nothing', async () => {
    const store = new FakeSubscriptions();
    store.state.set(key('customer-9999', 'email', 'marketing'), 'unsubscribed');
    const { app } = await harness(store);
    const res = await app.inject({ method: 'POST', url: `/unsubscribe/${forgedFor('customer-9999')}/resubscribe`, headers: FORM, payload: '' });
    expectPage(res, 400);
    expect(store.changes).toEqual([]);
    expect(store.state.get(key('customer-9999', 'email', 'marketing'))).toBe('unsubscribed');
  });

  it('the page after unsubscribing links to resubscribe, relative to itself', async () => {
    const { app } = await harness();
    const t = token();
    expect(actions((await oneClick(app, t)).body)).toEqual([`${t}/resubscribe`]);
  });
});

describe('resubscribe checks where the request came from', () => {
  const PUBLIC = 'https://mail.example.com/prefix';
  const resubscribe = (app: FastifyInstance, t: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: `/unsubscribe/${t}/resubscribe`, headers: { ...FORM, ...headers }, payload: ONE_CLICK_BODY });

  it.each<[string, Record<string, string>]>([
    ['Origin of UNBROKEN_PUBLIC_URL', { origin: 'https://mail.example.com' }],
    ['no Origin, a Referer on our page', { referer: 'https://mail.example.com/prefix/unsubscribe/t' }],
    ['neither Origin nor Referer (not a browser form)', {}],
  ])('accepts %s', async (_name, headers) => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store, undefined, undefined, PUBLIC);
    const res = await resubscribe(app, token(), headers);
    expectPage(res, 200);
    expect(store.changes.map((c) => c.status)).toEqual(['subscribed']);
  });

  it.each<[string, Record<string, string>]>([
    ['another site', { origin: 'https://evil.example' }],
    ['another scheme', { origin: 'http://mail.example.com' }],
    ['another port', { origin: 'https://mail.example.com:8443' }],
    ['a look-alike host', { origin: 'https://mail.example.com.evil.example' }],
    ['Origin: null (a sandboxed page)', { origin: 'null' }],
    ['a foreign Referer without Origin', { referer: 'https://evil.example/page' }],
    ['an unreadable Referer without Origin', { referer: 'not a url' }],
    ['our Referer but a foreign Origin', { origin: 'https://evil.example', referer: 'https://mail.example.com/prefix/unsubscribe/t' }],
  ])('refuses %s with a 403 page and changes nothing', async (_name, headers) => {
    const store = new FakeSubscriptions();
    store.state.set(key(CUSTOMER, 'email', 'marketing'), 'unsubscribed');
    const { app } = await harness(store, undefined, undefined, PUBLIC);
    const res = await resubscribe(app, token(), headers);
    expectPage(res, 403);
    expect(res.body).toContain('Nothing was changed');
    expect(store.changes).toEqual([]);
    expect(store.state.get(key(CUSTOMER, 'email', 'marketing'))).toBe('unsubscribed');
  });

  it('without UNBROKEN_PUBLIC_URL compares with the origin the request was sent to', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const own = await resubscribe(app, token(), { host: 'mail.example.org', origin: 'http://mail.example.org' });
    expect(own.statusCode).toBe(200);
    const foreign = await resubscribe(app, token(), { host: 'mail.example.org', origin: 'http://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(store.changes).toHaveLength(1);
  });

  it('never checks the origin of an unsubscribe: a mail provider\'s one-click POST comes from anywhere', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store, undefined, undefined, PUBLIC);
    const res = await oneClick(app, token(), { ...FORM, origin: 'https://mail.provider.example' });
    expectPage(res, 200);
    expect(store.changes.map((c) => c.status)).toEqual(['unsubscribed']);
  });
});

describe('errors are pages', () => {
  it.each<[string, string, string]>([
    ['a stray segment after the token', 'GET', '/unsubscribe/abc/def/ghi'],
    ['a token longer than any token', 'GET', `/unsubscribe/${'a'.repeat(5000)}`],
    ['a code longer than any code', 'GET', `/u/${'A'.repeat(5000)}`],
    ['a link cut short', 'GET', '/unsubscribe/'],
    ['a short link without its code', 'POST', '/u/'],
    ['a bad percent-encoding', 'GET', '/unsubscribe/%E0%A4%A'],
  ])('%s: a page saying the link is not valid', async (_name, method, url) => {
    const { app } = await harness();
    const res = await app.inject({ method: method as 'GET' | 'POST', url, headers: FORM, payload: method === 'POST' ? ONE_CLICK_BODY : undefined });
    expectPage(res, res.statusCode);
    expect([400, 404, 414]).toContain(res.statusCode);
    expect(res.body).toContain('This link is not valid');
  });

  it('an oversized body: a 413 page', async () => {
    const { app } = await harness();
    const res = await oneClick(app, token(), FORM, 'x'.repeat(10_000));
    expectPage(res, 413);
    expect(res.body).toContain('Nothing was changed');
  });

  it.each<[string, string, number]>([
    ['a forged token', `/unsubscribe/${'x'.repeat(20)}`, 400],
    ['an expired token', '', 410],
    ['an unknown route', '/unsubscribe/a/b/c', 404],
  ])('answers JSON for %s only to a client that asks for JSON and not HTML', async (_name, url, status) => {
    const { app } = await harness();
    const path = url || `/unsubscribe/${token({ expiresAt: new Date(NOW.getTime() - 1000) })}`;
    const json = await app.inject({ method: 'POST', url: path, headers: { ...FORM, accept: 'application/json' }, payload: ONE_CLICK_BODY });
    expect(json.statusCode).toBe(status);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toEqual({ error: expect.any(String), message: expect.stringMatching(/not valid|expired/) });
    const browser = await app.inject({ method: 'POST', url: path, headers: { ...FORM, accept: 'text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8' }, payload: ONE_CLICK_BODY });
    expectPage(browser, status);
  });
});

describe('with the real SQLite store', () => {
  async function sqliteHarness() {
    const store = new SqliteProfileStore(':memory:');
    const clock = { now: NOW };
    const { app } = await harness(store, clock, () => store.close());
    return { app, store, clock };
  }

  it('one-click unsubscribes, GET changes nothing, resubscribe works, bad tokens change nothing', async () => {
    const { app, store, clock } = await sqliteHarness();
    const t = token();
    const state = () => store.subscription(CUSTOMER, 'email', 'marketing');

    expect((await app.inject({ method: 'GET', url: `/unsubscribe/${t}` })).statusCode).toBe(200);
    expect(await state()).toBe('subscribed');

    for (const bad of [forgedFor('customer-9999'), token({ expiresAt: NOW }), token({ secret: 'another-unsubscribe-secret-0123456789abcd' })]) {
      expect((await oneClick(app, bad)).statusCode).toBeGreaterThanOrEqual(400);
    }
    expect(await state()).toBe('subscribed');
    expect(await store.subscription('customer-9999', 'email', 'marketing')).toBe('subscribed');

    expect((await oneClick(app, t)).statusCode).toBe(200);
    expect(await state()).toBe('unsubscribed');
    expect(await store.subscription(CUSTOMER, 'email', 'newsletter')).toBe('subscribed');
    expect(await store.subscription('customer-other', 'email', 'marketing')).toBe('subscribed');

    expect((await app.inject({ method: 'GET', url: `/unsubscribe/${t}` })).body).toContain('Resubscribe');
    expect(await state()).toBe('unsubscribed');

    // A resubscribe in the same instant loses to the unsubscribe (consent ordering); a moment later it wins.
    clock.now = new Date(NOW.getTime() + 60_000);
    expect((await app.inject({ method: 'POST', url: `/unsubscribe/${t}/resubscribe`, headers: FORM, payload: '' })).statusCode).toBe(200);
    expect(await state()).toBe('subscribed');
  });
});

const CODE = 'Ab3dE6gH9k';

/** Stores a short code in `store` for customer CUSTOMER's sms marketing, expiring in a month unless told. */
function shortCode(store: FakeSubscriptions, overrides: Partial<UnsubscribeCode> = {}): string {
  const link: UnsubscribeCode = {
    code: CODE,
    idempotencyKey: 'journey:cart:c1/v1/sms',
    customerId: CUSTOMER,
    channel: 'sms',
    category: 'marketing',
    createdAt: NOW.toISOString(),
    expiresAt: IN_A_MONTH.toISOString(),
    ...overrides,
  };
  store.codes.set(link.code, link);
  return link.code;
}

describe('/u/:code (the short SMS link)', () => {
  it('GET shows the same confirmation page as the signed link, and changes nothing', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const code = shortCode(store);
    const short = await app.inject({ method: 'GET', url: `/u/${code}` });
    const long = await app.inject({ method: 'GET', url: `/unsubscribe/${token({ channel: 'sms' })}` });
    expectPage(short, 200);
    expect(short.body).toContain('Unsubscribe from marketing text messages?');
    expect(short.body.replace(code, 'LINK')).toBe(long.body.replace(token({ channel: 'sms' }), 'LINK'));
    expect(actions(short.body)).toEqual([code]);
    expect((await app.inject({ method: 'HEAD', url: `/u/${code}` })).statusCode).toBe(200);
    expect(store.changes).toEqual([]);
  });

  it('POST unsubscribes the code\'s customer, channel and category, and the page offers to resubscribe', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const code = shortCode(store);
    const res = await app.inject({ method: 'POST', url: `/u/${code}`, headers: FORM, payload: ONE_CLICK_BODY });
    expectPage(res, 200);
    expect(res.body).toContain('You are unsubscribed');
    expect(res.body).toContain('marketing text messages');
    expect(actions(res.body)).toEqual([`${code}/resubscribe`]);
    expect(store.changes).toEqual([
      { customerId: CUSTOMER, channel: 'sms', category: 'marketing', status: 'unsubscribed', source: ONE_CLICK_SOURCE, at: NOW.toISOString() },
    ]);
    // Idempotent, like the signed link.
    expect((await app.inject({ method: 'POST', url: `/u/${code}` })).statusCode).toBe(200);
    expect(store.state.get(key(CUSTOMER, 'sms', 'marketing'))).toBe('unsubscribed');
    expect(await store.subscription(CUSTOMER, 'email', 'marketing')).toBe('subscribed');
  });

  it('POST /u/:code/resubscribe subscribes again', async () => {
    const store = new FakeSubscriptions();
    const { app } = await harness(store);
    const code = shortCode(store);
    await app.inject({ method: 'POST', url: `/u/${code}` });
    const res = await app.inject({ method: 'POST', url: `/u/${code}/resubscribe`, headers: FORM, payload: '' });
    expectPage(res, 200);
    expect(res.body).toContain('You are subscribed again');
    expect(actions(res.body)).toEqual([`../${code}`]);
    expect(store.changes.at(-1)).toMatchObject({ status: 'subscribed', source: RESUBSCRIBE_SOURCE, channel: 'sms' });
  });

  it('answers an unknown code with the page of an invalid token, and an expired one with the expired page', async () => {
    const store = new FakeSubscriptions();
    const clock = { now: NOW };
    const { app } = await harness(store, clock);
    shortCode(store, { code: 'Expires0In', expiresAt: new Date(NOW.getTime() + 60_000).toISOString() });
    for (const method of ['GET', 'POST'] as const) {
      const unknown = await app.inject({ method, url: '/u/Zz9Zz9Zz9Z' });
      expectPage(unknown, 400);
      expect(unknown.body).toBe((await app.inject({ method, url: `/unsubscribe/${forgedFor('customer-9999')}` })).body);
      expect((await app.inject({ method, url: '/u/Expires0In' })).statusCode).toBe(200);
    }
    clock.now = new Date(NOW.getTime() + 60_000);
    for (const url of ['/u/Expires0In', '/u/Expires0In/resubscribe']) {
      const expired = await app.inject({ method: 'POST', url });
      expectPage(expired, 410);
      expect(expired.body).toBe((await oneClick(app, token({ expiresAt: NOW }))).body);
    }
    expectPage(await app.inject({ method: 'GET', url: '/u/Expires0In' }), 410);
    // Only the visit before expiry changed anything.
    expect(store.changes).toHaveLength(1);
  });

  it.each([
    ['too short', 'Ab3dE6gH9'],
    ['too long', 'Ab3dE6gH9kX'],
    ['outside base62', 'Ab3dE6gH9-'],
    ['a quote', "Ab3dE6gH9'"],
    ['percent-encoded junk', 'Ab3dE6gH%00'],
    ['a signed token', token()],
  ])('refuses a malformed code (%s) with a 400 page, without asking the store', async (_name, code) => {
    const store = new FakeSubscriptions();
    shortCode(store);
    const { app } = await harness(store);
    for (const method of ['GET', 'POST'] as const) {
      const res = await app.inject({ method, url: `/u/${code}` });
      expectPage(res, 400);
      expect(res.body).toMatch(/not valid/);
    }
    expect(store.codeReads).toBe(0);
    expect(store.changes).toEqual([]);
  });

  it('answers 503 with a page when the store fails to look the code up', async () => {
    const store = new FakeSubscriptions();
    shortCode(store);
    store.failing = true;
    const { app } = await harness(store);
    expectPage(await app.inject({ method: 'GET', url: `/u/${CODE}` }), 503);
    expectPage(await app.inject({ method: 'POST', url: `/u/${CODE}` }), 503);
  });

  it('with the real SQLite store: a code the worker stored unsubscribes, an unknown or expired one changes nothing', async () => {
    const store = new SqliteProfileStore(':memory:');
    const clock = { now: NOW };
    const { app } = await harness(store, clock, () => store.close());
    const link = { idempotencyKey: 'k1', customerId: CUSTOMER, channel: 'sms', category: 'marketing', createdAt: NOW.toISOString() };
    expect(await store.saveUnsubscribeCode({ ...link, code: CODE, expiresAt: IN_A_MONTH.toISOString() })).toBe(CODE);
    expect(await store.saveUnsubscribeCode({ ...link, idempotencyKey: 'k2', code: 'Expires0In', expiresAt: new Date(NOW.getTime() + 1000).toISOString() })).toBe('Expires0In');
    const state = () => store.subscription(CUSTOMER, 'sms', 'marketing');

    expect((await app.inject({ method: 'GET', url: `/u/${CODE}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/u/Zz9Zz9Zz9Z' })).statusCode).toBe(400);
    clock.now = new Date(NOW.getTime() + 1000);
    expect((await app.inject({ method: 'POST', url: '/u/Expires0In' })).statusCode).toBe(410);
    expect(await state()).toBe('subscribed');

    expect((await app.inject({ method: 'POST', url: `/u/${CODE}` })).statusCode).toBe(200);
    expect(await state()).toBe('unsubscribed');
    expect(await store.subscription(CUSTOMER, 'email', 'marketing')).toBe('subscribed');
  });
});
