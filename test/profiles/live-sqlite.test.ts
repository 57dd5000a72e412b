import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { migrations, SqliteProfileStore } from '../../profiles/sqlite';
import type { EnrolDecision } from '../../profiles/store';
import { liveStoreSuite } from './live-store.suite';

let dir: string;
let file: string;

liveStoreSuite('SqliteProfileStore (shared LiveStore suite)', {
  async setup() {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-live-'));
    file = path.join(dir, 'nested', 'profiles.sqlite');
  },
  // Sync constructor wrapped so a refusal becomes a rejection, as with PostgreSQL.
  open: async () => new SqliteProfileStore(file),
  async teardown() {
    fs.rmSync(dir, { recursive: true, force: true });
  },
  migrationVersions: migrations.map((m) => m.version),
  async markFutureSchema() {
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'now')").run();
    raw.close();
  },
});

describe('SqliteProfileStore specifics', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-live-'));
    file = path.join(dir, 'nested', 'profiles.sqlite');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the parent folder, uses WAL, and opens synchronously in memory', async () => {
    const store = new SqliteProfileStore(file);
    await store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();

    const memory = new SqliteProfileStore(':memory:');
    expect(memory.appliedMigrations()).toEqual(migrations.map((m) => m.version));
    await memory.close();
  });

  it('upgrades a database of the first schema version without losing its data', async () => {
    const first = migrations[0];
    if (!first) throw new Error('no migrations');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const raw = new Database(file);
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    raw.exec(first.sql);
    raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(first.version, first.name, 'then');
    raw
      .prepare("INSERT INTO customers (id, traits, tags, created_at, updated_at) VALUES ('c1', '{\"plan\":\"pro\"}', '[]', 'then', 'then')")
      .run();
    raw.close();

    const store = new SqliteProfileStore(file);
    try {
      expect(store.appliedMigrations()).toEqual(migrations.map((m) => m.version));
      expect(await store.getProfile('c1')).toEqual({ id: 'c1', plan: 'pro', tags: [] });
      expect((await store.tryEnrol({
        journeyId: 'cart',
        customerId: 'c1',
        version: 'v1',
        reEntry: { mode: 'never' },
        at: new Date().toISOString(),
        workflowIdPrefix: 'cart:c1',
        input: null,
      })).enrolled).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('enters exactly one of many attempts racing from separate processes', async () => {
    // Migrate first, so the children race on tryEnrol and not on opening the file.
    await new SqliteProfileStore(file).close();
    const child = path.join(__dirname, 'enrol-child.ts');
    const startAt = Date.now() + 1500;
    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', child, file, String(startAt), '5'], { cwd: path.join(__dirname, '..', '..') }),
      ),
    );
    const decisions = outputs.flatMap(({ stdout }) => JSON.parse(stdout) as EnrolDecision[]);
    expect(decisions).toHaveLength(20);
    expect(decisions.filter((d) => d.enrolled)).toHaveLength(1);
    const store = new SqliteProfileStore(file);
    expect(await store.enrolmentsFor('c1')).toHaveLength(1);
    await store.close();
  });
});
