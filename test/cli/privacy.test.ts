/** `unbroken forget` and `unbroken export` as an operator runs them, on a real SQLite store. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { addressHasher } from '../../privacy/hash';
import { SqliteProfileStore } from '../../profiles/sqlite';

const root = path.resolve(__dirname, '..', '..');
let dataDir: string;

function unbroken(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', UNBROKEN_DATA_DIR: dataDir, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const storeFile = () => path.join(dataDir, 'profiles.sqlite');

async function seed(user: string, anonymous: string, email: string, options: { running?: boolean } = {}): Promise<void> {
  const store = new SqliteProfileStore(storeFile());
  try {
    await store.identify(anonymous, { email, first_name: 'Olga' });
    await store.resolveCustomer({ userId: user, anonymousId: anonymous });
    const at = new Date().toISOString();
    await store.recordEvent({ messageId: `${user}-e1`, type: 'track', customerId: user, userId: user, event: 'signed_up', properties: { plan: 'pro' }, timestamp: at, receivedAt: at });
    await store.markEventRouted(`${user}-e1`);
    await store.claimMessage({ idempotencyKey: `${user}-m1`, customerId: user, journeyId: 'welcome', stepId: 'hello', channel: 'email', template: 'hello', status: 'sending' });
    await store.finishMessage(`${user}-m1`, 'sent', { status: 'sent', channel: 'email', template: 'hello', to: email, subject: 'Hi Olga', body: 'Hello Olga', messageId: '<1@x>' });
    if (options.running) {
      await store.tryEnrol({ journeyId: 'welcome', customerId: user, version: 'v1', reEntry: { mode: 'always' }, at, workflowIdPrefix: `journey:welcome:${user}`, input: null });
    }
  } finally {
    await store.close();
  }
}

function dump(): string {
  const db = new Database(storeFile(), { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables.map(({ name }) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())).join('\n');
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-cli-privacy-'));
});

afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('export prints everything held as JSON; forget erases it, keeps the hash, and a second forget finds nothing', async () => {
  await seed('olga-1', 'anon-olga', 'olga@example.com');

  const exported = unbroken(['export', '--user', 'anon-olga']);
  expect(exported.stderr).toBe('');
  expect(exported.code).toBe(0);
  const doc = JSON.parse(exported.stdout);
  expect(doc).toMatchObject({
    format: 'unbroken.customer-export.v1',
    customer: 'olga-1',
    ids: ['olga-1', 'anon-olga'],
    profile: { email: 'olga@example.com', first_name: 'Olga' },
    identities: [{ anonymousId: 'anon-olga', userId: 'olga-1' }],
    events: [{ messageId: 'olga-1-e1', properties: { plan: 'pro' } }],
    messages: [{ template: 'hello', status: 'sent', result: { subject: 'Hi Olga' } }],
  });

  const forgot = unbroken(['forget', '--user', 'olga-1', '--json']);
  expect(forgot.stderr).toBe('');
  expect(forgot.code).toBe(0);
  expect(JSON.parse(forgot.stdout)).toMatchObject({
    status: 'erased',
    customer: 'olga-1',
    ids: ['olga-1', 'anon-olga'],
    runsEnded: [],
    histories: { deleted: 0, notDeleted: [] },
    erased: { profiles: 1, identityLinks: 1, events: 1, messages: 1 },
    forgottenAddresses: { email: 1 },
  });
  const text = dump();
  for (const trace of ['olga-1', 'anon-olga', 'olga@example.com', 'Olga']) expect(text).not.toContain(trace);
  // The CLI hashed with the same secret the worker uses (generated into the data folder).
  const secret = fs.readFileSync(path.join(dataDir, 'unsubscribe-secret'), 'utf8').trim();
  expect(text).toContain(addressHasher(secret)('email', 'olga@example.com'));

  const again = unbroken(['forget', '--user', 'anon-olga']);
  expect(again.code).toBe(0);
  expect(again.stdout).toBe('nothing is held about anon-olga: nothing erased (already forgotten, or never known)\n');
  const none = unbroken(['export', '--user', 'olga-1']);
  expect(none.code).toBe(1);
  expect(none.stdout).toBe('');
  expect(none.stderr).toBe('unbroken: nothing is held about customer "olga-1"\n');
}, 120_000);

test('the text report says what was erased and what was kept', async () => {
  await seed('ivo', 'anon-ivo', 'ivo@example.com');
  const r = unbroken(['forget', '--user', 'ivo']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')).toEqual([
    'forgot ivo (with linked ids anon-ivo)',
    '  journey runs ended: 0',
    '  erased: profiles 1, identityLinks 1, events 1, messages 1',
    '  kept for the journey numbers, pseudonymised: 0 runs, 0 steps',
    '  address hashes kept (not mailed again without new consent): email 1',
    '',
  ]);
}, 60_000);

test('without a usable id, forget and export refuse with exit code 2 and change nothing', async () => {
  await seed('kim', 'anon-kim', 'kim@example.com');
  for (const args of [['forget'], ['export'], ['forget', '--user', ''], ['forget', '--user', 'a\u0001b'], ['export', '--user', ' '], ['forget', 'kim']]) {
    const r = unbroken(args);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(/^unbroken: /);
  }
  expect(dump()).toContain('kim@example.com');
}, 120_000);

test('a customer inside a journey is not erased while Temporal cannot be reached: exit 1, everything still there', async () => {
  await seed('lea', 'anon-lea', 'lea@example.com', { running: true });
  // A port nothing listens on.
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
  const r = unbroken(['forget', '--user', 'lea'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^unbroken: cannot reach Temporal to end the customer's journeys: .*; nothing was erased/);
  expect(dump()).toContain('lea@example.com');
  expect(JSON.parse(unbroken(['export', '--user', 'lea']).stdout).journeys).toEqual([expect.objectContaining({ journey: 'welcome' })]);
}, 120_000);
