/**
 * The right to erasure and the right of access, end to end on real servers: the live system on a
 * Temporal dev server, a real SMTP server and the SQLite store, driven through the HTTP API with
 * the admin key. The store's file is read directly at the end, table by table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { CustomerExport } from '../../privacy/export';
import { forgetCustomer } from '../../privacy/forget';
import { addressHasher } from '../../privacy/hash';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

const ADMIN_KEY = 'admin-key-for-tests-0123456789abcdef';
const UNSUBSCRIBE_SECRET = 'unsubscribe-secret-for-tests-0123456789abcdef';
const WRITE_KEY = 'test-write-key-0123456789';
let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let dataDir: string;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-privacy-'));
});

afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(__dirname, '..', 'fixtures', 'privacy'),
    taskQueue: 'privacy-e2e',
    env: () => ({ UNBROKEN_DATA_DIR: dataDir, UNBROKEN_ADMIN_KEY: ADMIN_KEY, UNBROKEN_UNSUBSCRIBE_SECRET: UNSUBSCRIBE_SECRET }),
  },
  (servers) => {
    ({ env, smtp, live, system } = servers);
  },
);

const post = async (endpoint: string, body: unknown): Promise<void> => {
  const res = await live.post(endpoint, body);
  expect(res.status).toBe(200);
};

const ADMIN = `Bearer ${ADMIN_KEY}`;

/** Calls an admin route with `authorization` (none when null). */
async function admin(method: 'DELETE' | 'GET', pathname: string, authorization: string | null = ADMIN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${system.apiUrl}${pathname}`, { method, headers: authorization === null ? {} : { authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function ended(customer: string, journey: string, runs = 1): Promise<{ outcome?: string; steps: { step: string; kind: string; detail?: Record<string, unknown> }[] }[]> {
  return until(`${customer}'s ${journey} runs to end`, async () => {
    const s = await customerStatus(system.store, customer);
    const mine = s.journeys.filter((j) => j.journey === journey);
    return mine.length >= runs && mine.every((j) => j.outcome) ? mine : undefined;
  });
}

const mailTo = (address: string) => smtp.messages.filter((m) => m.to.toLowerCase() === address);

/** A run's state as Temporal reports it, or `gone` once its history is deleted. */
async function temporalState(workflowId: string): Promise<string> {
  try {
    return (await env.client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'gone';
    throw err;
  }
}

/** Every row of every table of the store, as text, to search for traces of a person. */
function storeDump(): string {
  const db = new Database(path.join(dataDir, 'profiles.sqlite'), { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables.map(({ name }) => `${name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())}`).join('\n');
  } finally {
    db.close();
  }
}

function forgottenRows(): { channel: string; address_hash: string; forgotten_at: string }[] {
  const db = new Database(path.join(dataDir, 'profiles.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT channel, address_hash, forgotten_at FROM forgotten_addresses').all() as { channel: string; address_hash: string; forgotten_at: string }[];
  } finally {
    db.close();
  }
}

test('admin routes refuse the write key, a missing key and a wrong key', async () => {
  const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
  for (const authorization of [basic, `Bearer ${WRITE_KEY}`, null, `Bearer ${ADMIN_KEY}x`, `Bearer ${ADMIN_KEY.slice(0, -1)}`, ADMIN_KEY, `Basic ${Buffer.from(`${ADMIN_KEY}:`).toString('base64')}`]) {
    for (const [method, route] of [
      ['DELETE', '/v1/customers/anyone'],
      ['GET', '/v1/customers/anyone/export'],
    ] as const) {
      const res = await admin(method, route, authorization);
      expect({ authorization, route, status: res.status }).toEqual({ authorization, route, status: 401 });
      expect(res.body.error).toBe('unauthorized');
    }
  }
  // And the admin key does not open the event API.
  expect((await live.post('track', { userId: 'x', event: 'e' }, `Bearer ${ADMIN_KEY}`)).status).toBe(401);
});

test('an id that is no id is refused with 400 naming the field', async () => {
  for (const id of ['%01abc', '%20', 'a%0Ab', '%7F', `${'x'.repeat(513)}`]) {
    for (const [method, route] of [
      ['DELETE', `/v1/customers/${id}`],
      ['GET', `/v1/customers/${id}/export`],
    ] as const) {
      const res = await admin(method, route);
      expect({ route, status: res.status }).toEqual({ route, status: 400 });
      expect(res.body.issues).toEqual([expect.objectContaining({ field: 'id' })]);
    }
  }
  // Percent-encoding that is no UTF-8 (a lone surrogate) never reaches the route.
  expect((await admin('DELETE', '/v1/customers/%ED%A0%80x')).status).toBe(400);
  expect((await admin('GET', '/v1/customers/nobody-at-all/export')).status).toBe(404);
});

test('forgetting a customer inside a waiting journey ends the run, erases every row, keeps a hash, and the address needs new consent', async () => {
  const address = 'fay.person@example.com';
  await post('identify', { userId: 'fay-7k2', anonymousId: 'anon-fay', traits: { email: 'Fay.Person@Example.com', first_name: 'Fayette' } });
  const enteredAt = Date.now();
  await post('track', { userId: 'fay-7k2', event: 'signed_up' });
  const hello = await until('the welcome mail', () => mailTo(address)[0]);
  expect(hello.subject).toBe('Welcome, Fayette');
  const [run] = (await customerStatus(system.store, 'fay-7k2')).journeys;
  expect(run.outcome).toBeUndefined();

  // Forgotten by the anonymous id: the user it is linked to goes with it.
  const forget = await admin('DELETE', '/v1/customers/anon-fay');
  expect(forget.status).toBe(200);
  expect(forget.body).toMatchObject({
    status: 'erased',
    customer: 'fay-7k2',
    ids: ['fay-7k2', 'anon-fay'],
    runsEnded: [{ journey: 'welcome', workflowId: run.workflow_id, temporal: 'terminated' }],
    histories: { deleted: 1, notDeleted: [] },
    forgottenAddresses: { email: 1 },
    erased: expect.objectContaining({ profiles: 1, identityLinks: 1, messages: 1, enrolments: 1 }),
  });
  expect((forget.body.erased as Record<string, number>).events).toBeGreaterThanOrEqual(2);

  // Temporal ended the run (its history is deleted in the background, checked at the end); the store says forgotten.
  expect(['TERMINATED', 'gone']).toContain(await temporalState(run.workflow_id));
  expect((await system.store.journeyStats('welcome')).outcomes).toEqual({ forgotten: 1 });

  // Nothing of them is left in any table; the address is kept only as its keyed hash.
  const dump = storeDump();
  for (const trace of ['fay-7k2', 'anon-fay', address, 'Fayette', 'Fay.Person']) expect(dump.toLowerCase()).not.toContain(trace.toLowerCase());
  const hash = addressHasher(UNSUBSCRIBE_SECRET)('email', address);
  expect(forgottenRows()).toEqual([{ channel: 'email', address_hash: hash, forgotten_at: expect.any(String) }]);
  expect((await customerStatus(system.store, 'fay-7k2')).journeys).toEqual([]);

  // Asked again: nothing was left.
  const again = await admin('DELETE', '/v1/customers/fay-7k2');
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ status: 'nothing_left', runsEnded: [], histories: { deleted: 0, notDeleted: [] } });
  expect(Object.values(again.body.erased as Record<string, number>).every((n) => n === 0)).toBe(true);
  expect((await admin('GET', '/v1/customers/fay-7k2/export')).status).toBe(404);

  // The wait's later mail never goes out (the wait is 10 s; look a little after it).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, enteredAt + 13_000 - Date.now())));
  expect(mailTo(address).map((m) => m.subject)).toEqual(['Welcome, Fayette']);

  // The same address under a new id, written another way: the journey runs, the mail is skipped.
  await post('identify', { userId: 'gil-3', traits: { email: 'FAY.person@example.com' } });
  await post('track', { userId: 'gil-3', event: 'news_requested' });
  const [skipped] = await ended('gil-3', 'news');
  expect(skipped.steps.find((s) => s.step === 'news')).toMatchObject({ kind: 'skipped', detail: expect.objectContaining({ reason: 'forgotten' }) });

  // Consent stated after the erasure opens the address again.
  await post('identify', { userId: 'gil-3', traits: { subscriptions: { email: { marketing: true } } } });
  await post('track', { userId: 'gil-3', event: 'news_requested' });
  const runs = await ended('gil-3', 'news', 2);
  expect(runs.map((r) => r.steps.find((s) => s.step === 'news')?.kind).sort()).toEqual(['sent', 'skipped']);
  expect(mailTo(address).map((m) => m.subject)).toEqual(['Welcome, Fayette', 'The news']);

  // Temporal deletes a history asynchronously; by now (or soon) the run's inputs, signals and results are gone too.
  await until('the run\'s history to be deleted from Temporal', async () => ((await temporalState(run.workflow_id)) === 'gone' ? true : undefined), 90_000);
}, 180_000);

test('a run that enters while the erasure runs is ended too, or named when Temporal cannot be reached', async () => {
  const hasher = addressHasher(UNSUBSCRIBE_SECRET);
  // The look-up of runs saw none (as if the event arrived just after it); the erase finds the run open.
  const lateStore = new Proxy(system.store, {
    get: (target, prop, receiver) => (prop === 'enrolmentsFor' ? async () => [] : Reflect.get(target, prop, receiver)),
  });
  const enterWelcome = async (user: string, email: string) => {
    await post('identify', { userId: user, traits: { email, first_name: 'Late' } });
    await post('track', { userId: user, event: 'signed_up' });
    await until(`${user}'s welcome mail`, () => mailTo(email)[0]);
    return (await customerStatus(system.store, user)).journeys[0].workflow_id;
  };

  const hal = await enterWelcome('hal-9', 'hal@example.com');
  const report = await forgetCustomer({ store: lateStore, hashAddress: hasher, temporal: async () => env.client }, 'hal-9');
  expect(report).toMatchObject({ status: 'erased', runsEnded: [{ journey: 'welcome', workflowId: hal, temporal: 'terminated' }], histories: { deleted: 1 } });
  expect(['TERMINATED', 'gone']).toContain(await temporalState(hal));

  const ida = await enterWelcome('ida-4', 'ida@example.com');
  const unreachable = await forgetCustomer(
    { store: lateStore, hashAddress: hasher, temporal: async () => Promise.reject(new Error('connection refused')) },
    'ida-4',
  );
  expect(unreachable).toMatchObject({ status: 'erased', runsEnded: [{ workflowId: ida, temporal: 'not_reached' }], histories: { deleted: 0, notDeleted: [ida] } });
  expect(await system.store.customerData('ida-4')).toBeUndefined();
  expect(await temporalState(ida)).toBe('RUNNING');
  // What ops do by hand for such a run (docs/privacy.md).
  await env.client.workflow.getHandle(ida).terminate('forgotten');
  expect((await system.store.journeyStats('welcome')).outcomes.forgotten).toBeGreaterThanOrEqual(2);
});

test('the export holds the events, messages, consent and timeline of a customer who went through a journey', async () => {
  await post('identify', { userId: 'exa-1', traits: { email: 'exa@example.com', first_name: 'Exa', subscriptions: { email: { marketing: true } } } });
  await post('track', { userId: 'exa-1', event: 'news_requested', properties: { topic: 'rivers' } });
  await ended('exa-1', 'news');
  await until('the news mail', () => mailTo('exa@example.com')[0]);

  expect((await admin('GET', '/v1/customers/exa-1/export', `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`)).status).toBe(401);
  const res = await fetch(`${system.apiUrl}/v1/customers/exa-1/export`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const doc = (await res.json()) as CustomerExport;
  expect(doc).toMatchObject({
    format: 'unbroken.customer-export.v1',
    customer: 'exa-1',
    ids: ['exa-1'],
    profile: { id: 'exa-1', email: 'exa@example.com', first_name: 'Exa' },
    consent: { subscriptions: [{ channel: 'email', category: 'marketing', status: 'subscribed' }] },
  });
  expect(doc.events.map((e) => e.event ?? e.type)).toEqual(['identify', 'news_requested']);
  expect(doc.events[1].properties).toEqual({ topic: 'rivers' });
  expect(doc.messages).toEqual([expect.objectContaining({ template: 'privacy-news', status: 'sent', result: expect.objectContaining({ subject: 'The news', to: 'exa@example.com' }) })]);
  expect(doc.journeys).toEqual([
    expect.objectContaining({ journey: 'news', outcome: 'completed', timeline: expect.arrayContaining([expect.objectContaining({ step: 'news', kind: 'sent' })]) }),
  ]);
  expect(Array.isArray(doc.consent.history)).toBe(true);
  expect(doc.surveys).toEqual({ asks: [], answers: [] });
});
