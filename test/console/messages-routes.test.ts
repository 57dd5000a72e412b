/**
 * The messages list and the template preview through the real API on a real SQLite store, over
 * real HTTP: filters, pages and the older link, 400 naming the field for every bad parameter, JSON
 * for a script, HTML and script from outside rendered as text, and a preview that renders a real
 * customer's stored profile, skips as a send would, frames the HTML part under a policy that runs
 * no script, and stores nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server';
import type { TemplatePlan } from '../../compiler/plan';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';
import { escapeHtml } from '../../api/pages';

const ADMIN_KEY = 'console-admin-key-0123456789abcdef';
const SCRIPT = '<script>alert(1)</script>';
const HTML = { authorization: `Bearer ${ADMIN_KEY}`, accept: 'text/html' };
const JSON_ = { authorization: `Bearer ${ADMIN_KEY}` };

let dataDir: string;
let store: LiveStore;
let api: FastifyInstance;
let base: string;

const hello: TemplatePlan = {
  id: 'hello',
  channel: 'email',
  category: 'marketing',
  subject: 'Welcome, {{ profile.first_name }}',
  text: 'Hello {{ profile.first_name }}. Unsubscribe: {{ unsubscribe_url }}',
  html: `<p>Hello <b>{{ profile.first_name }}</b></p><script>document.title = "ran"</script><img src="https://tracker.example/p.gif">`,
  alternatives: { sms: { body: 'Hi {{ profile.first_name }}, welcome aboard. Stop: {{ unsubscribe_url }}' } },
  file: 'templates/hello.yaml',
};

async function get(url: string, headers: Record<string, string> = HTML): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await fetch(base + url, { headers, redirect: 'manual' });
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: await res.text() };
}

/** A message claimed and finished, as the send activity leaves it. */
async function message(key: string, fields: { customer?: string; journey?: string; channel?: string; skipped?: string; subject?: string }): Promise<void> {
  const channel = fields.channel ?? 'email';
  await store.claimMessage({ idempotencyKey: key, customerId: fields.customer ?? 'ann', journeyId: fields.journey ?? 'welcome', stepId: 'hello', channel, template: 'hello', status: 'sending' });
  if (fields.skipped !== undefined) await store.finishMessage(key, 'skipped', { status: 'skipped', channel, template: 'hello', reason: fields.skipped });
  else await store.finishMessage(key, 'sent', { status: 'sent', channel, template: 'hello', to: 'ann@example.com', subject: fields.subject ?? `Hello ${key}`, body: 'x', messageId: key });
}

/** The text of the page's first table body, row by row. */
function rowsOf(html: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '')));
}

beforeEach(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-console-messages-'));
  store = await openProfileStore(undefined, dataDir);
  await store.deployJourneys(
    [
      { journeyId: 'welcome', version: 'v1', plan: { journeyId: 'welcome', templates: { hello } } },
      { journeyId: 'cart', version: 'v1', plan: { journeyId: 'cart', templates: {} } },
    ],
    new Date().toISOString(),
  );
  api = await buildApi({
    store,
    writeKey: 'console-write-key-0123456789',
    ready: async () => ({ ok: true, checks: {} }),
    console: { key: ADMIN_KEY, store, secureCookie: false, preview: { publicUrl: 'http://127.0.0.1:8080', mailFrom: 'Shop <shop@example.com>', unsubscribeTtlMs: 86_400_000 } },
  });
  await api.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await api.close();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the messages page', () => {
  it('lists the latest messages newest first with links to the customer and journey, and what was sent or why not', async () => {
    await message('m1', {});
    await message('m2', { customer: 'bob', skipped: 'unsubscribed', channel: 'sms' });
    const page = await get('/console/messages');
    expect(page.status).toBe(200);
    expect(rowsOf(page.body).map((r) => r.slice(1))).toEqual([
      ['bob', 'welcome', 'hello', 'sms', 'hello', 'skipped', 'why: unsubscribed'],
      ['ann', 'welcome', 'hello', 'email', 'hello', 'sent', 'ann@example.com · Hello m1'],
    ]);
    expect(page.body).toContain('<a href="/console/customers/bob">bob</a>');
    expect(page.body).toContain('<a href="/console/journeys/welcome">welcome</a>');
    expect(page.body).toContain(`href="${escapeHtml('/console/templates/welcome/hello?customer=bob&channel=sms')}"`);
    // Labelled selects in a GET form.
    for (const [id, label] of [['journey', 'Journey'], ['channel', 'Channel'], ['status', 'Result'], ['reason', 'Skip reason']]) {
      expect(page.body).toContain(`<label for="f-${id}">${label}</label> <select id="f-${id}" name="${id}">`);
    }
    expect(page.body).toContain('<form method="get" action="/console/messages"');
  });

  it('filters by journey, channel, result and skip reason, keeping the choices selected', async () => {
    await message('a', { journey: 'welcome' });
    await message('b', { journey: 'cart', channel: 'sms' });
    await message('c', { journey: 'cart', skipped: 'no_address' });
    await message('d', { journey: 'welcome', skipped: 'unsubscribed', channel: 'sms' });
    const keys = async (query: string) => rowsOf((await get(`/console/messages?${query}`)).body).map((r) => r[7]);
    expect(await keys('journey=cart')).toEqual(['why: no_address', 'ann@example.com · Hello b']);
    expect(await keys('channel=sms&status=sent')).toEqual(['ann@example.com · Hello b']);
    expect(await keys('status=skipped&reason=unsubscribed')).toEqual(['why: unsubscribed']);
    expect(await keys('reason=no_address&channel=&journey=')).toEqual(['why: no_address']);
    const page = (await get('/console/messages?journey=cart&status=skipped')).body;
    expect(page).toContain('<option selected>cart</option>');
    expect(page).toContain('<option selected>skipped</option>');
    expect((await get('/console/messages?journey=gone')).body).toContain('No message matches.');
  });

  it('shows 50 a page and follows the older link to the rest, then back to the newest', async () => {
    for (let i = 0; i < 53; i++) await message(`k${String(i).padStart(2, '0')}`, { journey: i % 2 === 0 ? 'welcome' : 'cart' });
    const first = await get('/console/messages');
    const rows = rowsOf(first.body);
    expect(rows).toHaveLength(50);
    expect(rows[0][7]).toContain('Hello k52');
    const older = /<a href="([^"]+)" rel="next">Older messages<\/a>/.exec(first.body)?.[1].replace(/&amp;/g, '&');
    expect(older).toMatch(/^\/console\/messages\?before=/);
    const second = await get(older ?? '');
    expect(rowsOf(second.body).map((r) => r[7])).toEqual(['Hello k02', 'Hello k01', 'Hello k00'].map((s) => `ann@example.com · ${s}`));
    expect(second.body).not.toContain('Older messages');
    expect(second.body).toContain('<a href="/console/messages">Newest messages</a>');
    // A filter stays on through the pages.
    const cart = await get('/console/messages?journey=cart');
    expect(rowsOf(cart.body)).toHaveLength(26);
    expect(cart.body).not.toContain('Older messages');
  });

  it('answers a script JSON, with the cursor of the older page', async () => {
    for (let i = 0; i < 51; i++) await message(`k${i}`, {});
    await message('s', { skipped: 'no_address' });
    const res = await get('/console/messages?status=skipped', JSON_);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      messages: [{ at: expect.any(String), customer: 'ann', journey: 'welcome', step: 'hello', channel: 'email', template: 'hello', status: 'skipped', reason: 'no_address' }],
      older: null,
    });
    const all = JSON.parse((await get('/console/messages', JSON_)).body) as { messages: { subject?: string; body?: string }[]; older: string };
    expect(all.messages).toHaveLength(50);
    expect(all.messages[1]).toMatchObject({ subject: 'Hello k50', to: 'ann@example.com' });
    expect(all.messages[1].body).toBeUndefined();
    const rest = JSON.parse((await get(`/console/messages?before=${encodeURIComponent(all.older)}`, JSON_)).body) as { messages: { subject: string }[] };
    expect(rest.messages.map((m) => m.subject)).toEqual(['Hello k1', 'Hello k0']);
  });

  it.each([
    ['channel=fax', 'channel: "fax" is not one of email, sms, webhook'],
    ['status=bounced', 'status: "bounced" is not one of sent, skipped, sending'],
    ['reason=bored', 'reason: "bored" is not one of'],
    ['reason=no_address&status=sent', 'reason: only skipped messages have a reason'],
    ['journey=%3Cscript%3E', 'journey: not a journey id'],
    ['before=yesterday', 'before: not a cursor of this list'],
    ['before=2024-13-45T99:00:00.000Z,5', 'before: not a cursor of this list'],
    ['channel=email&channel=sms', 'channel: give it once'],
  ])('refuses %s with 400 naming the field', async (query, message) => {
    const page = await get(`/console/messages?${query}`);
    expect(page.status).toBe(400);
    expect(page.body).toContain(escapeHtml(message));
    const json = await get(`/console/messages?${query}`, JSON_);
    expect(json.status).toBe(400);
    expect((JSON.parse(json.body) as { message: string }).message).toContain(message);
  });

  it('renders a subject, a customer id and a reason with HTML and script as text', async () => {
    await message('x', { customer: `<b>${SCRIPT}</b>`, subject: SCRIPT });
    await store.claimMessage({ idempotencyKey: 'y', customerId: 'ann', journeyId: 'welcome', stepId: 'hello', channel: 'email', template: 'hello', status: 'sending' });
    await store.finishMessage('y', 'skipped', { status: 'skipped', reason: SCRIPT });
    const page = (await get('/console/messages')).body;
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<b>');
    expect(page).toContain(`<strong>why: ${escapeHtml(SCRIPT)}</strong>`);
    expect(page).toContain(`ann@example.com · ${escapeHtml(SCRIPT)}`);
    expect(page).toContain(`href="/console/customers/${encodeURIComponent(`<b>${SCRIPT}</b>`)}"`);
  });
});

describe('the template preview', () => {
  beforeEach(async () => {
    await store.identify('ann', { email: 'ann@example.com', phone: '+14155550100', first_name: `Ann ${SCRIPT}` });
    await store.identify('carl', { first_name: 'Carl' });
    await store.identify('una', { email: 'una@example.com', first_name: 'Una' });
    await store.setSubscription('una', 'email', 'marketing', 'unsubscribed', 'unsubscribe_link', new Date().toISOString());
    await store.identify('sue', { email: 'sue@example.com', first_name: 'Sue' });
    await store.suppress('email', 'sue@example.com', 'hard_bounce', new Date().toISOString());
  });

  it('lists the templates of every deployed journey with their channels, linked to their preview', async () => {
    const page = await get('/console/templates');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<a href="/console/templates/welcome/hello">hello</a>');
    expect(rowsOf(page.body)[0]).toEqual(['hello', 'email, sms', 'marketing', 'Welcome, {{ profile.first_name }}']);
    expect(page.body).toContain('This journey sends no message.');
    expect(JSON.parse((await get('/console/templates', JSON_)).body)).toEqual({
      journeys: [
        { journey: 'cart', version: 'v1', templates: [] },
        { journey: 'welcome', version: 'v1', templates: [{ id: 'hello', channels: ['email', 'sms'], category: 'marketing' }] },
      ],
    });
  });

  it('renders the e-mail for a customer found by email, with a trait holding script as text and the HTML part in a sandboxed frame', async () => {
    const page = await get('/console/templates/welcome/hello?customer=ANN%40example.com');
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<strong>Welcome, Ann ${escapeHtml(SCRIPT)}</strong>`);
    expect(page.body).toContain(escapeHtml('Shop <shop@example.com>'));
    expect(page.body).toContain(`Hello Ann ${escapeHtml(SCRIPT)}. Unsubscribe: http://127.0.0.1:8080/unsubscribe/sample-`);
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain(`<iframe class="mail" sandbox="" src="${escapeHtml('/console/templates/welcome/hello/html?customer=ann&channel=email')}"`);
    expect(page.headers['content-security-policy']).toContain("frame-src 'self'");
    expect(page.headers['content-security-policy']).not.toMatch(/script-src/);

    const frame = await get('/console/templates/welcome/hello/html?customer=ann&channel=email');
    expect(frame.status).toBe(200);
    expect(frame.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'");
    expect(frame.headers['x-frame-options']).toBe('SAMEORIGIN');
    // Liquid escapes the trait in HTML; the template's own script and outside image are the policy's to refuse.
    expect(frame.body).toContain('<p>Hello <b>Ann &lt;script&gt;alert(1)&lt;/script&gt;</b></p>');
    // Nothing was sent or stored: no message, no short code, no send slot for her.
    expect(await store.messagesFor('ann')).toEqual([]);
  });

  it('renders the sms version with its length and segments, for a customer who opted in to sms', async () => {
    await store.setSubscription('ann', 'sms', 'marketing', 'subscribed', 'api', new Date().toISOString());
    const page = await get('/console/templates/welcome/hello?customer=ann&channel=sms');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<td>Length<\/td><td>\d+ characters, GSM-7, 2 segments<\/td>/);
    expect(page.body).toContain('<option selected>sms</option>');
    const json = JSON.parse((await get('/console/templates/welcome/hello?customer=ann&channel=sms', JSON_)).body) as { customer: string; message: { channel: string; to: string; segments: number } };
    expect(json).toMatchObject({ customer: 'ann', message: { channel: 'sms', to: '+14155550100', segments: 2 } });
  });

  it.each([
    ['carl', 'skipped (no_address)'],
    ['una', 'skipped (unsubscribed)'],
    ['sue', 'skipped (suppressed)'],
  ])('shows why a send to %s would be skipped', async (customer, why) => {
    const page = await get(`/console/templates/welcome/hello?customer=${customer}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(new RegExp(`<p class="bad" role="alert">a send of hello to this profile would be ${why.replace(/[()]/g, '\\$&')}`));
    expect(page.body).not.toContain('<iframe');
  });

  it('answers 404 for an unknown journey, template or customer, and 400 naming a bad parameter', async () => {
    expect((await get('/console/templates/nowhere/hello')).status).toBe(404);
    const template = await get('/console/templates/welcome/nothing?customer=ann');
    expect(template.status).toBe(404);
    expect(template.body).toContain('<h1>No such template</h1>');
    const customer = await get('/console/templates/welcome/hello?customer=nobody%40example.com');
    expect(customer.status).toBe(404);
    expect(customer.body).toContain('No customer has the id, email or phone “nobody@example.com”.');
    const channel = await get('/console/templates/welcome/hello?customer=ann&channel=webhook');
    expect(channel.status).toBe(400);
    expect(channel.body).toContain('channel: this template has content for email, sms only');
    const long = await get(`/console/templates/welcome/hello?customer=${'a'.repeat(600)}`);
    expect(long.status).toBe(400);
    expect(long.body).toContain('customer: give one id, email or phone of at most 512 characters');
    expect((await get('/console/templates/welcome/hello/html?channel=email')).status).toBe(400);
    expect((await get('/console/templates/welcome/hello/html?customer=carl')).status).toBe(422);
  });

  it('asks for the customer before rendering anything', async () => {
    const page = await get('/console/templates/welcome/hello');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<label for="p-customer">Customer id, email or phone</label>');
    expect(page.body).toContain('<label for="p-channel">Channel</label>');
    expect(page.body).toContain('Choose a customer');
  });
});
