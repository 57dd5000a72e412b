import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProfileStoreError } from '../../profiles/errors';
import { migrations, SqliteProfileStore } from '../../profiles/sqlite';
import type { MessageRecord } from '../../profiles/store';

let dir: string;
let store: SqliteProfileStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-store-'));
  store = new SqliteProfileStore(path.join(dir, 'nested', 'profiles.sqlite'));
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function message(key: string): MessageRecord {
  return {
    idempotencyKey: key,
    customerId: 'c1',
    journeyId: 'welcome',
    stepId: 'hello',
    channel: 'email',
    template: 'hello',
    status: 'sending',
  };
}

describe('SqliteProfileStore', () => {
  it('creates the parent folder, uses WAL and applies every migration once, also on reopen', async () => {
    const file = path.join(dir, 'nested', 'profiles.sqlite');
    expect(fs.existsSync(file)).toBe(true);
    expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    await store.identify('c1', { email: 'a@example.com' });
    await store.close();

    store = new SqliteProfileStore(file);
    expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    expect((await store.getProfile('c1'))?.email).toBe('a@example.com');

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(migrations.length);
    raw.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const file = path.join(dir, 'nested', 'profiles.sqlite');
    await store.close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'now')").run();
    raw.close();
    expect(() => new SqliteProfileStore(file)).toThrow(/schema version 999/);
    store = new SqliteProfileStore(':memory:');
  });

  it('returns undefined for an unknown customer', async () => {
    expect(await store.getProfile('nobody')).toBeUndefined();
  });

  it('identify creates a profile and merges traits, with system fields in their own columns', async () => {
    await store.identify('c1', { email: 'a@example.com', first_name: 'Ada', plan: 'free', tags: ['x', 'x', 'y'] });
    const profile = await store.identify('c1', { plan: 'pro', timezone: 'Europe/Berlin', phone: '+4930123' });
    expect(profile).toEqual({
      id: 'c1',
      email: 'a@example.com',
      phone: '+4930123',
      timezone: 'Europe/Berlin',
      tags: ['x', 'y'],
      first_name: 'Ada',
      plan: 'pro',
    });
    expect(await store.getProfile('c1')).toEqual(profile);
  });

  it('identify with null removes a trait and an id trait cannot rename the customer', async () => {
    await store.identify('c1', { first_name: 'Ada', email: 'a@example.com' });
    const profile = await store.identify('c1', { first_name: null, email: null, id: 'other' });
    expect(profile).toEqual({ id: 'c1', tags: [] });
  });

  it('identify rejects a system field of the wrong type', async () => {
    await expect(store.identify('c1', { email: 42 })).rejects.toThrow(ProfileStoreError);
    await expect(store.identify('c1', { tags: 'vip' })).rejects.toThrow(/"tags" must be a list of strings/);
  });

  it('applyChanges applies a key exactly once, however often it is called', async () => {
    const calls = await Promise.all(
      Array.from({ length: 5 }, () => store.applyChanges('wf-1/v1/step-3', 'c1', { increment: { visits: 1 } })),
    );
    expect(calls.map((p) => p.visits)).toEqual([1, 1, 1, 1, 1]);
    await store.applyChanges('wf-1/v1/step-3', 'c1', { increment: { visits: 1 }, set: { plan: 'pro' } });
    expect(await store.getProfile('c1')).toEqual({ id: 'c1', tags: [], visits: 1 });
    await store.applyChanges('wf-1/v1/step-4', 'c1', { increment: { visits: 2 } });
    expect((await store.getProfile('c1'))?.visits).toBe(3);
  });

  it('applyChanges sets, unsets, increments from zero and keeps tag order without duplicates', async () => {
    await store.identify('c1', { email: 'a@example.com', tags: ['a', 'b'], old: true, score: 1.5 });
    const profile = await store.applyChanges('k1', 'c1', {
      set: { plan: 'pro', nested: { n: 1 } },
      unset: ['old', 'email'],
      increment: { score: 2, nudges: 1 },
      addTags: ['c', 'a', 'd', 'c'],
      removeTags: ['b'],
    });
    expect(profile).toEqual({ id: 'c1', tags: ['a', 'c', 'd'], plan: 'pro', nested: { n: 1 }, score: 3.5, nudges: 1 });
  });

  it('applyChanges creates a missing customer', async () => {
    const profile = await store.applyChanges('k1', 'new', { addTags: ['lead'] });
    expect(profile).toEqual({ id: 'new', tags: ['lead'] });
  });

  it('incrementing a non-number fails and leaves neither the change nor the key behind', async () => {
    await store.identify('c1', { plan: 'pro' });
    await expect(store.applyChanges('k1', 'c1', { set: { a: 1 }, increment: { plan: 1 } })).rejects.toThrow(
      /cannot increment "plan", it holds the text "pro"/,
    );
    expect(await store.getProfile('c1')).toEqual({ id: 'c1', tags: [], plan: 'pro' });
    // The key was rolled back with the change, so a corrected call under it still applies.
    await store.applyChanges('k1', 'c1', { set: { a: 1 } });
    expect((await store.getProfile('c1'))?.a).toBe(1);
  });

  it('recordStep stores a key once and stepsFor returns the records of one workflow in order', async () => {
    const base = { workflowId: 'wf-1', journeyId: 'j', version: 'v1', customerId: 'c1', kind: 'send' };
    await store.recordStep({ ...base, idempotencyKey: 'k1', stepId: 's1', at: '2024-01-01T00:00:00.000Z', detail: { ok: true } });
    await store.recordStep({ ...base, idempotencyKey: 'k1', stepId: 's1', at: '2024-01-01T00:00:00.000Z' });
    await store.recordStep({ ...base, idempotencyKey: 'k2', stepId: 's2', at: '2024-01-01T00:01:00.000Z' });
    await store.recordStep({ ...base, workflowId: 'wf-2', idempotencyKey: 'k3', stepId: 's1', at: '2024-01-01T00:00:00.000Z' });
    const steps = await store.stepsFor('wf-1');
    expect(steps.map((s) => s.stepId)).toEqual(['s1', 's2']);
    expect(steps[0]).toEqual({ ...base, idempotencyKey: 'k1', stepId: 's1', at: '2024-01-01T00:00:00.000Z', detail: { ok: true } });
    expect(steps[1]?.detail).toBeUndefined();
  });

  it('claimMessage claims a key once and hands later callers the existing record', async () => {
    expect(await store.claimMessage(message('m1'))).toEqual({ claimed: true });
    expect(await store.claimMessage(message('m1'))).toEqual({ claimed: false, existing: message('m1') });

    await store.finishMessage('m1', 'sent', { status: 'sent', messageId: '<x@unbroken>' });
    const again = await store.claimMessage(message('m1'));
    expect(again.claimed).toBe(false);
    expect(again.existing).toMatchObject({ status: 'sent', result: { status: 'sent', messageId: '<x@unbroken>' } });

    // A finished message cannot be released; an unfinished one can, and is then claimable again.
    await store.releaseMessage('m1');
    expect((await store.claimMessage(message('m1'))).claimed).toBe(false);
    await store.claimMessage(message('m2'));
    await store.releaseMessage('m2');
    expect((await store.claimMessage(message('m2'))).claimed).toBe(true);
    expect((await store.messagesFor('c1')).map((m) => m.idempotencyKey)).toEqual(['m1', 'm2']);
  });

  it('two stores on one file see each other and never both claim a key', async () => {
    const other = new SqliteProfileStore(path.join(dir, 'nested', 'profiles.sqlite'));
    try {
      const [a, b] = await Promise.all([store.claimMessage(message('m1')), other.claimMessage(message('m1'))]);
      expect([a.claimed, b.claimed].sort()).toEqual([false, true]);
      await store.identify('c1', { plan: 'pro' });
      expect((await other.getProfile('c1'))?.plan).toBe('pro');
    } finally {
      await other.close();
    }
  });
});
