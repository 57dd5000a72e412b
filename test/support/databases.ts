/**
 * Empty profile databases for tests that run a command against a store URL: a SQLite file in a
 * temporary folder, and, when TEST_DATABASE_URL is set, a fresh PostgreSQL schema. CI always sets
 * it (scripts/ci-postgres.sh), so there a missing URL is an error, not a silently skipped half.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';

export interface TestDatabase {
  url: string;
  /** The SQLite file (not created yet), for SQLite databases. */
  file?: string;
  drop(): Promise<void>;
}

const pgUrl = process.env.TEST_DATABASE_URL?.trim() ?? '';

function sqliteDatabase(prefix: string): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `unbroken-${prefix}-`));
  const file = path.join(dir, 'profiles.sqlite');
  return Promise.resolve({ url: `sqlite:${file}`, file, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) });
}

async function postgresDatabase(prefix: string): Promise<TestDatabase> {
  const schema = `unbroken_${prefix.replace(/\W/g, '_')}_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: pgUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(pgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** `[name, create]` per database to run on, for `describe.each`; `prefix` names temp folders and schemas. */
export function testDatabases(prefix: string): [string, () => Promise<TestDatabase>][] {
  const list: [string, () => Promise<TestDatabase>][] = [['SQLite', () => sqliteDatabase(prefix)]];
  if (pgUrl !== '') list.push(['PostgreSQL', () => postgresDatabase(prefix)]);
  else if (process.env.CI === 'true') throw new Error('TEST_DATABASE_URL is not set: CI must run the PostgreSQL cases');
  return list;
}

/**
 * A live store opened on a fresh database before each test of the enclosing `describe` and
 * dropped after it; read `.store` (and `.db`) inside the tests. A test may reopen `.store`.
 */
export function storePerTest(create: () => Promise<TestDatabase>): { store: LiveStore; db: TestDatabase } {
  const holder = {} as { store: LiveStore; db: TestDatabase };
  beforeEach(async () => {
    holder.db = await create();
    holder.store = await openProfileStore(holder.db.url, os.tmpdir());
  });
  afterEach(async () => {
    await holder.store.close();
    await holder.db.drop();
  });
  return holder;
}
