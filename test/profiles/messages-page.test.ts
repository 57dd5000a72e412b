/**
 * The console's messages list on both databases (PostgreSQL when TEST_DATABASE_URL is set): newest
 * first with insertion order breaking ties of time, pages that follow each other without a gap or
 * a repeat, and the journey, channel, status and skip-reason filters.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresProfileStore } from '../../profiles/postgres';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { ListedMessage, LiveStore, MessageCursor, MessagesQuery } from '../../profiles/store';

const baseUrl = process.env.TEST_DATABASE_URL?.trim() ?? '';
const T0 = Date.parse('2024-05-01T10:00:00.000Z');

interface Backend {
  name: string;
  open(): Promise<LiveStore>;
  close(): Promise<void>;
}

function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'SQLite',
    open: async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-messages-'));
      return new SqliteProfileStore(path.join(dir, 'profiles.sqlite'));
    },
    close: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresBackend(): Backend {
  const admin = new Pool({ connectionString: baseUrl, max: 1 });
  const schema = `unbroken_messages_${randomBytes(6).toString('hex')}`;
  return {
    name: 'PostgreSQL',
    open: async () => {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(baseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return PostgresProfileStore.open(url.toString());
    },
    close: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

if (baseUrl === '') console.warn('messages-page.test.ts: TEST_DATABASE_URL is not set, so only SQLite runs (see scripts/ci-postgres.sh)');
const backends = [sqliteBackend, ...(baseUrl === '' ? [] : [postgresBackend])];

describe.each(backends.map((make) => [make().name, make] as const))('the messages list on %s', (_name, make) => {
  let backend: Backend;
  let store: LiveStore;

  beforeEach(async () => {
    // Only the clock is fake: the store stamps created_at with it, so ties in time are made on purpose.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    backend = make();
    store = await backend.open();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await store.close();
    await backend.close();
  });

  /** A message claimed at T0 + `second` seconds, then finished as `status` (left `sending` when that). */
  async function message(key: string, second: number, fields: { journey?: string; channel?: string; status?: 'sent' | 'skipped' | 'sending'; reason?: string } = {}): Promise<void> {
    jest.setSystemTime(T0 + second * 1000);
    const channel = fields.channel ?? 'email';
    await store.claimMessage({ idempotencyKey: key, customerId: `c-${key}`, journeyId: fields.journey ?? 'welcome', stepId: 'hello', channel, template: 'hello', status: 'sending' });
    const status = fields.status ?? 'sent';
    if (status === 'skipped') await store.finishMessage(key, 'skipped', { status: 'skipped', reason: fields.reason ?? 'no_address' });
    if (status === 'sent') await store.finishMessage(key, 'sent', { status: 'sent', channel, to: `${key}@example.com`, subject: `Hello ${key}` });
  }

  const keys = (messages: readonly ListedMessage[]) => messages.map((m) => m.idempotencyKey);

  /** Every page of `query`, following the cursor. */
  async function allPages(query: Omit<MessagesQuery, 'before'>): Promise<string[][]> {
    const pages: string[][] = [];
    let before: MessageCursor | undefined;
    do {
      const page = await store.messagesPage({ ...query, ...(before ? { before } : {}) });
      pages.push(keys(page.messages));
      before = page.older;
    } while (before !== undefined && pages.length < 20);
    return pages;
  }

  it('lists the newest first, breaks ties of time by insertion order, and pages without gaps or repeats', async () => {
    await message('m1', 1);
    await message('m2', 2);
    // Three claimed in the same millisecond: the later insert is the newer one.
    await message('m3', 3);
    await message('m4', 3);
    await message('m5', 3);
    await message('m6', 4);
    await message('m7', 5);

    const first = await store.messagesPage({ limit: 3 });
    expect(keys(first.messages)).toEqual(['m7', 'm6', 'm5']);
    expect(first.messages[0]).toMatchObject({
      idempotencyKey: 'm7',
      customerId: 'c-m7',
      journeyId: 'welcome',
      stepId: 'hello',
      channel: 'email',
      template: 'hello',
      status: 'sent',
      result: { to: 'm7@example.com', subject: 'Hello m7' },
      createdAt: new Date(T0 + 5000).toISOString(),
    });
    // The cursor falls between two messages of the same time: the next page goes on after it.
    expect(await allPages({ limit: 3 })).toEqual([
      ['m7', 'm6', 'm5'],
      ['m4', 'm3', 'm2'],
      ['m1'],
    ]);
    // A page that ends exactly at the last message says there is no older one.
    expect(await allPages({ limit: 7 })).toEqual([['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']]);
  });

  it('filters by journey, channel, status and skip reason, alone and together, and pages each', async () => {
    await message('a', 1, { journey: 'welcome', channel: 'email' });
    await message('b', 2, { journey: 'cart', channel: 'sms' });
    await message('c', 3, { journey: 'welcome', channel: 'sms', status: 'skipped', reason: 'unsubscribed' });
    await message('d', 4, { journey: 'cart', channel: 'email', status: 'skipped', reason: 'no_address' });
    await message('e', 5, { journey: 'welcome', channel: 'email', status: 'sending' });
    await message('f', 6, { journey: 'welcome', channel: 'email' });

    const only = async (query: Omit<MessagesQuery, 'limit'>) => keys((await store.messagesPage({ limit: 50, ...query })).messages);
    expect(await only({ journeyId: 'welcome' })).toEqual(['f', 'e', 'c', 'a']);
    expect(await only({ channel: 'sms' })).toEqual(['c', 'b']);
    expect(await only({ status: 'skipped' })).toEqual(['d', 'c']);
    expect(await only({ status: 'sending' })).toEqual(['e']);
    expect(await only({ status: 'sent' })).toEqual(['f', 'b', 'a']);
    expect(await only({ reason: 'unsubscribed' })).toEqual(['c']);
    // A reason is a skip's: asking for sent messages with a reason finds none.
    expect(await only({ reason: 'no_address', status: 'sent' })).toEqual([]);
    expect(await only({ reason: 'no_address', status: 'skipped' })).toEqual(['d']);
    expect(await only({ journeyId: 'welcome', channel: 'email', status: 'sent' })).toEqual(['f', 'a']);
    expect(await only({ journeyId: 'nowhere' })).toEqual([]);
    expect(await allPages({ journeyId: 'welcome', limit: 1 })).toEqual([['f'], ['e'], ['c'], ['a']]);
    const skip = (await store.messagesPage({ limit: 50, status: 'skipped' })).messages.find((m) => m.idempotencyKey === 'c');
    expect(skip?.result).toEqual({ status: 'skipped', reason: 'unsubscribed' });
    expect((await store.messagesPage({ limit: 50, status: 'sending' })).messages[0].result).toBeUndefined();
  });

  it('refuses a cursor whose time is no time', async () => {
    await expect(store.messagesPage({ limit: 5, before: { createdAt: 'yesterday', seq: 1 } })).rejects.toThrow(/before/);
  });
});
