/**
 * Delivery that respects the customer, under faults, on real servers: the live system (what
 * `unbroken start` runs) on a Temporal dev server, a real SMTP server and a real webhook
 * receiver. Each test ends with the exact set of messages received.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { verifySignature } from '../../activities/channels/index';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let tmp: string;
let receiver: http.Server;
const hooks: { status: number; headers: http.IncomingHttpHeaders; body: string }[] = [];
let failNextHooks = 0;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-delivery-'));
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = failNextHooks-- > 0 ? 500 : 200;
      hooks.push({ status, headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const defs = path.join(tmp, 'definitions');
  fs.cpSync(path.join(__dirname, '..', 'fixtures', 'delivery'), defs, { recursive: true });
  const hookTemplate = path.join(defs, 'templates', 'order-webhook.yaml');
  fs.writeFileSync(hookTemplate, fs.readFileSync(hookTemplate, 'utf8').replace('__PORT__', String((receiver.address() as { port: number }).port)));
});

afterAll(async () => {
  // A test restarts the SMTP server; the restarted one is this file's to stop.
  await smtp?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Declared after the hook above, so the definitions (with the receiver's port) exist when it starts.
useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(tmp, 'definitions'),
    taskQueue: 'delivery-e2e',
    // The webhook receiver listens on loopback, which outgoing requests reach only when allowed.
    env: () => ({ UNBROKEN_WEBHOOK_SECRET: WEBHOOK_SECRET, UNBROKEN_HTTP_ALLOW_PRIVATE: '127.0.0.1', UNBROKEN_FREQUENCY_CAPS: 'email:marketing:5/24h,email:launch:1/24h' }),
  },
  (servers) => {
    ({ smtp, live, system } = servers);
  },
);

const post = async (endpoint: string, body: unknown): Promise<number> => (await live.post(endpoint, body)).status;

async function finished(customer: string): Promise<{ journey: string; outcome?: string; steps: { step: string; kind: string; detail?: Record<string, unknown> }[] }[]> {
  return until(`${customer}'s journeys to end`, async () => {
    const s = await customerStatus(system.store, customer);
    return s.journeys.length > 0 && s.journeys.every((j) => j.outcome) ? s.journeys : undefined;
  });
}

const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

test('one-click unsubscribe while a journey waits: the next marketing mail is skipped, the transactional one still goes', async () => {
  await post('identify', { userId: 'una', traits: { email: 'una@example.com' } });
  await post('track', { userId: 'una', event: 'nurture_started' });
  const hello = await until('the first mail', () => smtp.messages.find((m) => m.to === 'una@example.com'));
  expect(hello.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
  const link = /<([^>]+)>/.exec(hello.headers['list-unsubscribe'])![1];
  expect(hello.text).toContain(link);
  const token = new URL(link).pathname.split('/').pop()!;

  // What a mail provider does for RFC 8058: POST the link with this exact body, no confirmation.
  const res = await fetch(`${system.apiUrl}/unsubscribe/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });
  expect(res.status).toBe(200);

  const [run] = await finished('una');
  expect(run.outcome).toBe('completed');
  expect(subjectsTo('una@example.com')).toEqual(['Hello from the nurture series', 'Your receipt']);
  expect(run.steps.find((s) => s.step === 'promo')).toMatchObject({ kind: 'skipped', detail: expect.objectContaining({ reason: 'unsubscribed' }) });
});

test('a tampered unsubscribe token changes nothing', async () => {
  await post('identify', { userId: 'ted', traits: { email: 'ted@example.com' } });
  await post('track', { userId: 'ted', event: 'nurture_started' });
  const hello = await until('the first mail', () => smtp.messages.find((m) => m.to === 'ted@example.com'));
  const token = new URL(/<([^>]+)>/.exec(hello.headers['list-unsubscribe'])![1]).pathname.split('/').pop()!;
  const [payload, signature] = token.split('.');
  const forged = `${payload.slice(0, -2)}${payload.slice(-2) === 'AA' ? 'AB' : 'AA'}.${signature}`;
  const res = await fetch(`${system.apiUrl}/unsubscribe/${forged}`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(res.status).toBe(400);
  await finished('ted');
  expect(subjectsTo('ted@example.com')).toEqual(['Hello from the nurture series', 'Our spring promotion', 'Your receipt']);
});

test('a complaint reported to the API suppresses the address: nothing more is sent to it, not even transactional mail', async () => {
  await post('identify', { userId: 'cora', traits: { email: 'Cora@Example.com' } });
  expect(await post('suppressions', { channel: 'email', address: 'cora@example.com', reason: 'complaint' })).toBe(200);
  expect(await post('suppressions', { channel: 'fax', address: 'x', reason: 'complaint' })).toBe(400);
  await post('track', { userId: 'cora', event: 'nurture_started' });
  const [run] = await finished('cora');
  expect(run.steps.filter((s) => s.kind === 'skipped').map((s) => s.detail?.reason)).toEqual(['suppressed', 'suppressed', 'suppressed']);
  expect(smtp.messages.filter((m) => m.to.toLowerCase() === 'cora@example.com')).toEqual([]);
});

test('two journeys racing for the last frequency-cap slot: exactly one mail goes out', async () => {
  await post('identify', { userId: 'cap', traits: { email: 'cap@example.com' } });
  await post('track', { userId: 'cap', event: 'product_launched' });
  const runs = await finished('cap');
  expect(runs.map((r) => r.journey).sort()).toEqual(['launch-a', 'launch-b']);
  expect(smtp.messages.filter((m) => m.to === 'cap@example.com')).toHaveLength(1);
  const skipped = runs.flatMap((r) => r.steps).filter((s) => s.kind === 'skipped');
  expect(skipped.map((s) => s.detail?.reason)).toEqual(['frequency_cap']);
  const stats = await system.store.journeyStats(skipped[0].step === 'announce-a' ? 'launch-a' : 'launch-b');
  expect(stats.steps.find((s) => s.kind === 'skipped')?.reasons).toEqual({ frequency_cap: 1 });
});

test('a webhook receiver answering 500 then 200 gets the message once more, with the same idempotency key and a valid signature', async () => {
  failNextHooks = 1;
  const before = hooks.length;
  await post('track', { userId: 'erp-1', event: 'order_paid', properties: { order_id: 'o-77' } });
  const runs = await finished('erp-1');
  expect(runs[0].outcome).toBe('completed');
  const attempts = hooks.slice(before);
  expect(attempts.map((a) => a.status)).toEqual([500, 200]);
  expect(new Set(attempts.map((a) => a.headers['idempotency-key'])).size).toBe(1);
  expect(JSON.parse(attempts[1].body)).toEqual({ order: 'o-77', customer: 'erp-1' });
  const ok = verifySignature({
    secret: WEBHOOK_SECRET,
    body: attempts[1].body,
    timestamp: String(attempts[1].headers['x-unbroken-timestamp']),
    signature: String(attempts[1].headers['x-unbroken-signature']),
  });
  expect(ok).toBe(true);
});

test('an SMTP server that is down for a while: the mail arrives once, after retries', async () => {
  const port = smtp.port;
  await smtp.stop();
  await post('identify', { userId: 'out', traits: { email: 'out@example.com' } });
  await post('track', { userId: 'out', event: 'ping' });
  await live.routed();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  expect((await customerStatus(system.store, 'out')).journeys[0].outcome).toBeUndefined();
  smtp = await startSmtpServer({ port });
  const [run] = await finished('out');
  expect(run.outcome).toBe('completed');
  expect(subjectsTo('out@example.com')).toEqual(['Pong']);
}, 90_000);

test('a trigger on consent enters only a subscribed customer, and an sms-first send without sms consent goes by email', async () => {
  await post('identify', { userId: 'nora', traits: { email: 'nora@example.com', phone: '+15550002222', first_name: 'Nora' } });
  // No statement yet: consent.email.newsletter is unknown, so the trigger's condition does not hold.
  await post('track', { userId: 'nora', event: 'newsletter_joined' });
  await post('identify', { userId: 'nora', traits: { subscriptions: { email: { newsletter: true } } } });
  await post('track', { userId: 'nora', event: 'newsletter_joined' });
  const runs = await finished('nora');
  expect(runs).toHaveLength(1);
  const sent = runs[0].steps.find((s) => s.step === 'hello');
  expect(sent).toMatchObject({ kind: 'sent', detail: expect.objectContaining({ channel: 'email', passedOver: [{ channel: 'sms', reason: 'unsubscribed' }] }) });
  expect(subjectsTo('nora@example.com')).toEqual(['Welcome to the newsletter']);
});
