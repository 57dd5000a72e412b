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
import path from 'node:path';
import { redactUrl } from '../core/redact';
import { ProfileStoreError } from './errors';
import { PostgresProfileStore } from './postgres';
import { SqliteProfileStore } from './sqlite';
import type { LiveStore } from './store';

export { ProfileStoreError } from './errors';
export { PostgresProfileStore, postgresMigrations } from './postgres';
export { SqliteProfileStore, migrations } from './sqlite';
export type { Migration } from './sql/migrations';
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

/**
 * Opens the profile store a `DATABASE_URL` names, with its migrations applied.
 *
 * - unset or empty: SQLite file `<dataDir>/profiles.sqlite`
 * - `sqlite::memory:` or `:memory:`: SQLite in memory (tests, simulation)
 * - `sqlite:<path>` or `sqlite://<path>`: SQLite file at that path (relative to the working directory)
 * - `postgres://…` or `postgresql://…`: PostgreSQL (rejects with `unreachable` when it cannot connect)
 */
export async function openProfileStore(url: string | undefined, dataDir: string): Promise<LiveStore> {
  const value = url?.trim() ?? '';
  if (value === '') return new SqliteProfileStore(path.join(dataDir, DEFAULT_SQLITE_FILE));
  if (value === ':memory:' || value === 'sqlite::memory:') return new SqliteProfileStore(':memory:');
  if (/^postgres(ql)?:\/\//i.test(value)) return PostgresProfileStore.open(value);
  if (value.startsWith('sqlite:')) {
    // `sqlite:///abs/path` and `sqlite:relative/path` both name a file; strip the URL prefix.
    const file = value.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file !== '') return new SqliteProfileStore(file);
  }
  throw new ProfileStoreError(
    'unsupported_url',
    `DATABASE_URL "${redactUrl(value)}" is not understood: use postgres://…, sqlite:<path>, sqlite::memory:, or leave it unset ` +
      `for ${path.join(dataDir, DEFAULT_SQLITE_FILE)}`,
    { url: redactUrl(value) },
  );
}
