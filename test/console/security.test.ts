/**
 * The console's doors, through the real API on a real SQLite store (fastify inject): every page
 * refuses a caller without the admin key (browsers go to the login form, scripts get 401), the
 * write key opens nothing, the session cookie is HttpOnly and SameSite=Strict (Secure behind
 * https), a form without its CSRF token changes nothing (403), and HTML or script from outside
 * renders as text. Requests go over real HTTP (light-my-request's inject cannot load the ESM-only
 * `cookie` package its Set-Cookie parsing needs under Jest).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server';
import { startBanner, type RunningSystem } from '../../cli/start';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';

const ADMIN_KEY = 'console-admin-key-0123456789abcdef';
const WRITE_KEY = 'console-write-key-0123456789';
const NOW = new Date('2026-05-01T12:00:00.000Z');
const SCRIPT = '<script>alert(1)</script>';

let dataDir: string;
let store: LiveStore;
let app: Server;

/** What a test reads from an answer (the shape of fastify's inject). */
interface Answer {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: string;
  json(): unknown;
}

/** An API listening on a loopback port, asked over HTTP without following redirects. */
interface Server {
  inject(opts: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: string | object }): Promise<Answer>;
  close(): Promise<void>;
}

async function serve(api: FastifyInstance): Promise<Server> {
  await api.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  return {
    async inject({ method, url, headers = {}, payload }) {
      const json = payload !== undefined && typeof payload === 'object';
      const res = await fetch(base + url, {
        method,
        redirect: 'manual',
        headers: json ? { ...headers, 'content-type': 'application/json' } : headers,
        ...(payload === undefined ? {} : { body: json ? JSON.stringify(payload) : payload }),
      });
      const body = await res.text();
      return { statusCode: res.status, headers: Object.fromEntries(res.headers.entries()), body, json: () => JSON.parse(body) as unknown };
    },
    close: () => api.close(),
  };
}

async function build(secureCookie = false, sessionTtlMs?: number): Promise<Server> {
  return serve(
    await buildApi({
      store,
      writeKey: WRITE_KEY,
      ready: async () => ({ ok: true, checks: {} }),
      console: { key: ADMIN_KEY, store, secureCookie, now: () => NOW, ...(sessionTtlMs === undefined ? {} : { sessionTtlMs }) },
    }),
  );
}

beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-console-'));
  store = await openProfileStore(undefined, dataDir);
  // A plan whose names from YAML are hostile too: the journey page draws them.
  const plan = {
    journey: 'welcome',
    version: 'v1',
    trigger: { event: `<b>signed_up</b>` },
    reEntry: { mode: 'never' },
    exitWhen: [],
    steps: [{ kind: 'send', id: 'hello', name: SCRIPT, template: 'hello' }],
    templates: { hello: { id: 'hello', channel: 'email', category: 'marketing', subject: SCRIPT, text: 'Hi {{ profile.first_name }}' } },
  };
  await store.deployJourneys([{ journeyId: 'welcome', version: 'v1', plan }], NOW.toISOString());
  await store.identify('hostile', { email: 'hostile@example.com', first_name: SCRIPT, '<img src=x onerror=alert(2)>': '"><b>bold</b>' });
  await store.recordEvent({ messageId: 'm1', type: 'track', customerId: 'hostile', userId: 'hostile', event: `<i>${SCRIPT}</i>`, properties: { note: SCRIPT }, timestamp: NOW.toISOString(), receivedAt: NOW.toISOString() });
  const run = await store.tryEnrol({ journeyId: 'welcome', customerId: 'hostile', version: 'v1', reEntry: { mode: 'always' }, at: NOW.toISOString(), workflowIdPrefix: 'journey:welcome:hostile', input: null });
  if (!run.enrolled) throw new Error('not enrolled');
  await store.recordStep({ idempotencyKey: 's1', workflowId: run.enrolment.workflowId, journeyId: 'welcome', version: 'v1', customerId: 'hostile', stepId: 'hello', kind: 'skipped', at: NOW.toISOString(), detail: { reason: SCRIPT } });
  app = await build();
});

afterEach(async () => {
  await app.close();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const PAGES = [
  '/console',
  '/console/',
  '/console/journeys',
  '/console/journeys/welcome',
  '/console/journeys/welcome?version=v1',
  '/console/customers',
  '/console/customers?q=hostile',
  '/console/customers/hostile',
  '/console/messages',
  '/console/messages?journey=welcome&channel=email',
  '/console/templates',
  '/console/templates/welcome/hello?customer=hostile',
  '/console/templates/welcome/hello/html?customer=hostile',
];
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

/** Logs in through the form; answers the session cookie and the page's CSRF token. */
async function login(target = app): Promise<{ cookie: string; csrf: string }> {
  const res = await target.inject({ method: 'POST', url: '/console/login', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, payload: `key=${encodeURIComponent(ADMIN_KEY)}` });
  expect(res.statusCode).toBe(303);
  const cookie = String(res.headers['set-cookie']).split(';')[0];
  const page = await target.inject({ method: 'GET', url: '/console/journeys', headers: { ...BROWSER, cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (csrf === undefined) throw new Error('no CSRF token on the journeys page');
  return { cookie, csrf };
}

describe('without the admin key', () => {
  it('sends a browser to the login form from every page', async () => {
    for (const url of PAGES) {
      const res = await app.inject({ method: 'GET', url, headers: BROWSER });
      expect({ url, status: res.statusCode, location: res.headers.location }).toEqual({ url, status: 303, location: '/console/login' });
      expect(res.body).not.toContain('hostile');
    }
  });

  it('answers a script 401 on every page and every action, whatever wrong credential it brings', async () => {
    const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    const wrong = [undefined, basic, `Bearer ${WRITE_KEY}`, `Bearer ${ADMIN_KEY}x`, `Bearer ${ADMIN_KEY.slice(0, -1)}`, ADMIN_KEY, `Basic ${Buffer.from(`${ADMIN_KEY}:`).toString('base64')}`];
    for (const authorization of wrong) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      for (const url of PAGES) {
        const res = await app.inject({ method: 'GET', url, headers });
        expect({ authorization, url, status: res.statusCode }).toEqual({ authorization, url, status: 401 });
        expect(res.json()).toMatchObject({ error: 'unauthorized' });
      }
      for (const url of ['/console/journeys/welcome/pause', '/console/journeys/welcome/resume', '/console/logout']) {
        const res = await app.inject({ method: 'POST', url, headers });
        expect({ authorization, url, status: res.statusCode }).toEqual({ authorization, url, status: 401 });
      }
    }
    expect((await store.deployedJourneys())[0].paused).toBe(false);
  });

  it('a wrong Bearer header is refused even with a good session cookie beside it', async () => {
    const { cookie } = await login();
    const res = await app.inject({ method: 'GET', url: '/console/journeys', headers: { cookie, authorization: `Bearer ${WRITE_KEY}` } });
    expect(res.statusCode).toBe(401);
  });

  it('refuses the write key, a wrong key and an empty form at the login form, and sets no cookie', async () => {
    for (const payload of [`key=${WRITE_KEY}`, `key=${ADMIN_KEY}x`, 'key=', '', `key=${ADMIN_KEY.toUpperCase()}`]) {
      const res = await app.inject({ method: 'POST', url: '/console/login', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, payload });
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 401 });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.body).toContain('That is not the admin key');
    }
  });

  it('a made-up cookie, or one from before a restart, opens nothing', async () => {
    for (const cookie of ['unbroken_console=made-up', 'unbroken_console=', 'other=1']) {
      expect((await app.inject({ method: 'GET', url: '/console/journeys', headers: { cookie } })).statusCode).toBe(401);
    }
    const { cookie } = await login();
    const later = await build(false, 1000);
    try {
      // Another process (a restart): sessions are kept in memory, so the old cookie is unknown there.
      expect((await later.inject({ method: 'GET', url: '/console/journeys', headers: { cookie } })).statusCode).toBe(401);
    } finally {
      await later.close();
    }
  });
});

describe('with the admin key', () => {
  it('logs in through the form with an HttpOnly, SameSite=Strict cookie scoped to /console, and out again', async () => {
    const res = await app.inject({ method: 'POST', url: '/console/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `key=${encodeURIComponent(ADMIN_KEY)}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/journeys');
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^unbroken_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = setCookie.split(';')[0];
    const page = await app.inject({ method: 'GET', url: '/console/journeys', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    const out = await app.inject({ method: 'POST', url: '/console/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `csrf=${csrf}` });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/console/journeys', headers: { cookie } })).statusCode).toBe(401);
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const secure = await build(true);
    try {
      const res = await secure.inject({ method: 'POST', url: '/console/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `key=${encodeURIComponent(ADMIN_KEY)}` });
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/);
    } finally {
      await secure.close();
    }
  });

  it('opens every page to a script with Authorization: Bearer', async () => {
    for (const url of ['/console/journeys', '/console/journeys/welcome', '/console/customers', '/console/customers/hostile', '/console/messages', '/console/templates']) {
      const res = await app.inject({ method: 'GET', url, headers: { ...BROWSER, authorization: `Bearer ${ADMIN_KEY}` } });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
      expect({ url, escaped: !res.body.includes('<script>') && !res.body.includes('<b>') }).toEqual({ url, escaped: true });
    }
    const json = await app.inject({ method: 'GET', url: '/console/journeys', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(json.json()).toEqual({
      journeys: [
        {
          journey: 'welcome',
          status: 'live',
          version: 'v1',
          deployedAt: NOW.toISOString(),
          entered: { today: 1, week: 1, all: 1 },
          inside: 1,
          outcomes: {},
          conversionRate: 0,
          sent: 0,
          skipped: 1,
        },
      ],
    });
    const found = await app.inject({ method: 'GET', url: '/console/customers?q=HOSTILE@example.com', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(found.statusCode).toBe(303);
    expect(found.headers.location).toBe('/console/customers/hostile');
  });

  it('renders HTML and script in traits, event names, properties and skip reasons as text', async () => {
    const { cookie } = await login();
    const res = await app.inject({ method: 'GET', url: '/console/customers/hostile', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('<img');
    expect(res.body).not.toContain('<b>bold');
    expect(res.body).not.toContain('<i>');
    expect(res.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(res.body).toContain('&#60;img src=x onerror=alert(2)&#62;');
    // No script may run even if escaping failed somewhere: the policy allows none.
    expect(res.headers['content-security-policy']).not.toMatch(/script-src/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('a search text with HTML in it comes back as text, and an overlong one is refused naming the field', async () => {
    const { cookie } = await login();
    const res = await app.inject({ method: 'GET', url: `/console/customers?q=${encodeURIComponent('"><script>alert(3)</script>')}`, headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('No customer has');
    const long = await app.inject({ method: 'GET', url: `/console/customers?q=${'x'.repeat(513)}`, headers: { cookie } });
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('q: give one id');
    const bad = await app.inject({ method: 'GET', url: '/console/customers/a%0Ab', headers: { cookie } });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('id: holds control characters');
  });
});

describe('CSRF', () => {
  it('refuses pause and resume without the token, with a wrong one, and with another session’s', async () => {
    const mine = await login();
    const theirs = await login();
    for (const action of ['pause', 'resume']) {
      for (const payload of ['', 'csrf=', `csrf=${mine.csrf}x`, `csrf=${theirs.csrf}`, `other=${mine.csrf}`]) {
        const res = await app.inject({
          method: 'POST',
          url: `/console/journeys/welcome/${action}`,
          headers: { cookie: mine.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload,
        });
        expect({ action, payload, status: res.statusCode }).toEqual({ action, payload, status: 403 });
      }
      // A JSON body or none at all is no form either.
      expect((await app.inject({ method: 'POST', url: `/console/journeys/welcome/${action}`, headers: { cookie: mine.cookie } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: `/console/journeys/welcome/${action}`, headers: { cookie: mine.cookie }, payload: { csrf: 'x' } })).statusCode).toBe(403);
    }
    expect((await store.deployedJourneys())[0].paused).toBe(false);
    const logout = await app.inject({ method: 'POST', url: '/console/logout', headers: { cookie: mine.cookie } });
    expect(logout.statusCode).toBe(403);
  });

  it('pauses and resumes with the session’s token, and a script with the Bearer key needs none', async () => {
    const { cookie, csrf } = await login();
    const form = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
    const paused = await app.inject({ method: 'POST', url: '/console/journeys/welcome/pause', headers: form, payload: `csrf=${encodeURIComponent(csrf)}` });
    expect(paused.statusCode).toBe(303);
    expect((await store.deployedJourneys())[0].paused).toBe(true);
    const resumed = await app.inject({ method: 'POST', url: '/console/journeys/welcome/resume', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toEqual({ journey: 'welcome', paused: false });
    expect((await store.deployedJourneys())[0].paused).toBe(false);
    const unknown = await app.inject({ method: 'POST', url: '/console/journeys/nope/pause', headers: form, payload: `csrf=${encodeURIComponent(csrf)}` });
    expect(unknown.statusCode).toBe(404);
  });
});

test('the start banner names the console and how to open it, never printing a key from the environment', () => {
  const banner = startBanner({
    apiUrl: 'http://127.0.0.1:3000',
    apiListening: '127.0.0.1:3000',
    temporalAddress: '127.0.0.1:7233',
    writeKey: WRITE_KEY,
    writeKeyFromEnv: true,
    adminKey: ADMIN_KEY,
    adminKeyFromEnv: true,
    live: { journeys: [], differs: [] },
    definitionsDir: 'definitions',
  } as unknown as RunningSystem);
  expect(banner).toContain('console          http://127.0.0.1:3000/console  (log in with the admin key; docs/console.md)');
  expect(banner).not.toContain(ADMIN_KEY);
});
