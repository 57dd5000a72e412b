/**
 * The profile store: customers, events, deployed journeys, enrolments, consent and caps.
 *
 * - store.ts: the interfaces callers program against
 * - rules.ts: the pure rules (traits, merges, re-entry, subscriptions, caps), no SQL
 * - sql/: the one implementation for both databases: store.ts (every method, SQL written once),
 *   dialect.ts (what SQLite and PostgreSQL spell differently), rows.ts (records to rows),
 *   migrations.ts (the schema history and its runner), sqlite.ts and postgres.ts (the drivers)
 * - sqlite.ts, postgres.ts: the two stores callers open; this file picks one from a URL
 */
import fs from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../core/redact';
import { ProfileStoreError } from './errors';
import { PostgresProfileStore } from './postgres';
import { migrations, SqliteProfileStore } from './sqlite';
import type { SchemaStatus } from './sql/store';
import type { LiveStore } from './store';

export { ProfileStoreError } from './errors';
export { PostgresProfileStore, postgresMigrations } from './postgres';
export { SqliteProfileStore, migrations } from './sqlite';
export type { Migration } from './sql/migrations';
export type { SchemaStatus } from './sql/store';
export type {
  CapCheck,
  CapDecision,
  DeliveryStore,
  DeployedJourney,
  DeployResult,
  EnrolDecision,
  Enrolment,
  JourneyStats,
  LiveStore,
  MessageRecord,
  Profile,
  ProfileChanges,
  ProfileStore,
  RecordEventResult,
  StepRecord,
  StoredEvent,
  SubscriptionStatus,
} from './store';

/** File name of the default SQLite store inside the data directory. */
export const DEFAULT_SQLITE_FILE = 'profiles.sqlite';

/** How to open the store. */
export interface OpenOptions {
  /**
   * false: apply no migration, and refuse (`schema_behind`, "run unbroken migrate") a database
   * whose schema is behind this Unbroken, as read-only commands must. Default true: apply them.
   */
  migrate?: boolean;
  /** PostgreSQL pool size and timeouts (DATABASE_POOL_SIZE, DATABASE_*_TIMEOUT_MS); SQLite ignores them. */
  database?: { poolSize?: number; connectTimeoutMs?: number; statementTimeoutMs?: number };
}

/**
 * Opens the profile store a `DATABASE_URL` names, with its migrations applied (see OpenOptions).
 *
 * - unset or empty: SQLite file `<dataDir>/profiles.sqlite`
 * - `sqlite::memory:` or `:memory:`: SQLite in memory (tests, simulation)
 * - `sqlite:<path>` or `sqlite://<path>`: SQLite file at that path (relative to the working directory)
 * - `postgres://…` or `postgresql://…`: PostgreSQL (rejects with `unreachable` when it cannot connect)
 */
export async function openProfileStore(url: string | undefined, dataDir: string, options: OpenOptions = {}): Promise<LiveStore> {
  const missing = options.migrate === false ? missingSqliteFile(url, dataDir) : undefined;
  if (missing !== undefined) {
    throw new ProfileStoreError('schema_behind', `no profile database at ${missing} yet: run \`unbroken migrate\` first`, { url: missing });
  }
  const store = await openSqlStore(url, dataDir, options.migrate !== false, options.database);
  if (options.migrate !== false) return store;
  const status = await store.schemaStatus();
  if (status.pending.length === 0) return store;
  await store.close();
  const where = storeLocation(url, dataDir);
  throw new ProfileStoreError(
    'schema_behind',
    `profile database ${where} is behind this Unbroken (${status.pending.length} migration${status.pending.length === 1 ? '' : 's'} pending, ` +
      `${status.pending.map((m) => m.version).join(', ')}): run \`unbroken migrate\` first`,
    { url: where },
  );
}

/** The schema of the store a `DATABASE_URL` names, read without migrating anything. */
export async function profileStoreSchema(
  url: string | undefined,
  dataDir: string,
  database: OpenOptions['database'] = {},
): Promise<SchemaStatus & { where: string }> {
  if (missingSqliteFile(url, dataDir) !== undefined) {
    // Reading must not create the file: a store never set up has every migration pending.
    const known = migrations.map(({ version, name }) => ({ version, name }));
    return { applied: [], pending: known, known, where: storeLocation(url, dataDir) };
  }
  const store = await openSqlStore(url, dataDir, false, database);
  try {
    return { ...(await store.schemaStatus()), where: storeLocation(url, dataDir) };
  } finally {
    await store.close();
  }
}

/** The store's location as messages show it: a file path, or the URL without its password. */
export function storeLocation(url: string | undefined, dataDir: string): string {
  const value = url?.trim() ?? '';
  return value === '' ? path.join(dataDir, DEFAULT_SQLITE_FILE) : redactUrl(value);
}

/** The SQLite file `url` names when it does not exist yet; undefined for memory, PostgreSQL and existing files. */
function missingSqliteFile(url: string | undefined, dataDir: string): string | undefined {
  const file = sqliteFileOf(url?.trim() ?? '', dataDir);
  return file !== undefined && file !== ':memory:' && !fs.existsSync(file) ? file : undefined;
}

/** The SQLite file a DATABASE_URL names (`:memory:` for memory), or undefined when it names none. */
function sqliteFileOf(value: string, dataDir: string): string | undefined {
  if (value === '') return path.join(dataDir, DEFAULT_SQLITE_FILE);
  if (value === ':memory:' || value === 'sqlite::memory:') return ':memory:';
  if (!value.startsWith('sqlite:')) return undefined;
  // `sqlite:///abs/path` and `sqlite:relative/path` both name a file; strip the URL prefix.
  const file = value.slice('sqlite:'.length).replace(/^\/\//, '');
  return file === '' ? undefined : file;
}

/** Whether a DATABASE_URL names PostgreSQL (`postgres://…` or `postgresql://…`). */
export function isPostgresUrl(url: string | undefined): boolean {
  return /^postgres(ql)?:\/\//i.test(url?.trim() ?? '');
}

async function openSqlStore(
  url: string | undefined,
  dataDir: string,
  migrate: boolean,
  database: OpenOptions['database'] = {},
): Promise<SqliteProfileStore | PostgresProfileStore> {
  const value = url?.trim() ?? '';
  if (isPostgresUrl(value)) return PostgresProfileStore.open(value, { ...database, maxConnections: database.poolSize, migrate });
  const file = sqliteFileOf(value, dataDir);
  if (file !== undefined) return new SqliteProfileStore(file, { migrate });
  throw new ProfileStoreError(
    'unsupported_url',
    `DATABASE_URL "${redactUrl(value)}" is not understood: use postgres://…, sqlite:<path>, sqlite::memory:, or leave it unset ` +
      `for ${path.join(dataDir, DEFAULT_SQLITE_FILE)}`,
    { url: redactUrl(value) },
  );
}
