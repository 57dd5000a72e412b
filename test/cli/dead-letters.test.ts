/**
 * `unbroken dead-letters` lists the events set aside after their routing kept failing and puts
 * them back for routing; `unbroken stats` shows the routing backlog and the dead-letter count.
 * The real command on a real SQLite store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openProfileStore } from '../../profiles/index';
import { unbrokenOnDataDir, type CommandResult } from '../support/cli';
import type { LiveStore, StoredEvent } from '../../profiles/store';

let dataDir: string;
let store: LiveStore;

function unbroken(...args: string[]): CommandResult {
  return unbrokenOnDataDir(dataDir, ...args);
}

const event = (messageId: string, customerId: string): StoredEvent => ({
  messageId,
  type: 'track',
  customerId,
  userId: customerId,
  event: 'cart_abandoned',
  timestamp: '2026-01-05T10:00:00.000Z',
  receivedAt: '2026-01-05T10:00:01.000Z',
});

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-dead-'));
  store = await openProfileStore(undefined, dataDir);
  for (const id of ['dead-1', 'dead-2', 'waiting']) await store.recordEvent(event(id, `c-${id}`));
  for (const id of ['dead-1', 'dead-2']) {
    await store.recordRouteFailure(id, { reason: 'TypeError: Cannot read properties of undefined', maxAttempts: 1, retryAfterMs: 0 });
  }
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('stats without a journey shows the routing backlog and the dead-letter count, also as JSON', () => {
  const text = unbroken('stats');
  expect(text.code).toBe(0);
  expect(text.stdout).toBe('routing: 1 event(s) waiting, the oldest received 2026-01-05T10:00:01.000Z; 2 dead-lettered (see `unbroken dead-letters`)\n');
  const json = unbroken('stats', '--json');
  expect(JSON.parse(json.stdout)).toEqual({ routing: { backlog: { events: 1, oldestReceivedAt: '2026-01-05T10:00:01.000Z' }, deadLettered: 2 } });
});

test('dead-letters lists each event set aside with its customer, attempts and reason; --json gives the same as data', () => {
  const text = unbroken('dead-letters');
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('2 dead-lettered event(s):');
  expect(text.stdout).toMatch(/dead-1 {2}track "cart_abandoned" of customer c-dead-1, 1 attempt\(s\): TypeError: Cannot read properties of undefined/);
  expect(text.stdout).toContain('unbroken dead-letters --retry');
  const limited = JSON.parse(unbroken('dead-letters', '--json', '--limit', '1').stdout);
  expect(limited.total).toBe(2);
  expect(limited.events).toEqual([
    { event: event('dead-1', 'c-dead-1'), attempts: 1, deadAt: expect.any(String), reason: 'TypeError: Cannot read properties of undefined' },
  ]);
});

test('wrong usage exits 2 and says what is wrong', () => {
  expect(unbroken('dead-letters', '--id', 'dead-1')).toMatchObject({ code: 2, stderr: expect.stringContaining('--id names dead letters to re-drive: use it with --retry') });
  expect(unbroken('dead-letters', '--limit', 'lots')).toMatchObject({ code: 2, stderr: expect.stringContaining('--limit "lots" is not a whole number') });
  expect(unbroken('dead-letters', 'extra')).toMatchObject({ code: 2 });
  expect(unbroken('stats', 'a', 'b')).toMatchObject({ code: 2, stderr: expect.stringContaining('stats takes at most one journey id') });
});

test('--retry puts the named dead letters (or all) back into the backlog', async () => {
  expect(unbroken('dead-letters', '--retry', '--id', 'dead-2', '--json')).toMatchObject({ code: 0, stdout: '{"retried":1}\n' });
  expect(await store.routingBacklog()).toMatchObject({ events: 2 });
  const all = unbroken('dead-letters', '--retry');
  expect(all.stdout).toMatch(/^1 dead-lettered event\(s\) put back for routing/);
  expect(unbroken('dead-letters').stdout).toBe('no dead-lettered events\n');
  expect(unbroken('stats').stdout).toBe('routing: 3 event(s) waiting, the oldest received 2026-01-05T10:00:01.000Z; none dead-lettered\n');
});
