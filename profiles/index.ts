import path from 'node:path';
import { ProfileStoreError } from './errors';
import { SqliteProfileStore } from './sqlite';
import type { ProfileStore } from './store';

export { ProfileStoreError } from './errors';
export { SqliteProfileStore, migrations } from './sqlite';
export type { MessageRecord, Profile, ProfileChanges, ProfileStore, StepRecord } from './store';

/** File name of the default SQLite store inside the data directory. */
export const DEFAULT_SQLITE_FILE = 'profiles.sqlite';

/**
 * Opens the profile store a `DATABASE_URL` names.
 *
 * - unset or empty: SQLite file `<dataDir>/profiles.sqlite`
 * - `sqlite::memory:` or `:memory:`: SQLite in memory (tests, simulation)
 * - `sqlite:<path>` or `sqlite://<path>`: SQLite file at that path (relative to the working directory)
 * - `postgres://…`: refused for now; see the error text
 */
export function openProfileStore(url: string | undefined, dataDir: string): ProfileStore {
  const value = url?.trim() ?? '';
  if (value === '') return new SqliteProfileStore(path.join(dataDir, DEFAULT_SQLITE_FILE));
  if (value === ':memory:' || value === 'sqlite::memory:') return new SqliteProfileStore(':memory:');
  if (/^postgres(ql)?:\/\//i.test(value)) {
    throw new ProfileStoreError(
      'unsupported_url',
      'DATABASE_URL points at PostgreSQL, which this version of Unbroken does not support yet: ' +
        'PostgreSQL support arrives with the live system (issue 3). Unset DATABASE_URL to use the ' +
        `SQLite file in ${path.join(dataDir, DEFAULT_SQLITE_FILE)}, or set it to sqlite:<path>.`,
      { url: redact(value) },
    );
  }
  if (value.startsWith('sqlite:')) {
    // `sqlite:///abs/path` and `sqlite:relative/path` both name a file; strip the URL prefix.
    const file = value.slice('sqlite:'.length).replace(/^\/\//, '');
    if (file !== '') return new SqliteProfileStore(file);
  }
  throw new ProfileStoreError(
    'unsupported_url',
    `DATABASE_URL "${redact(value)}" is not understood: use sqlite:<path>, sqlite::memory:, or leave it unset ` +
      `for ${path.join(dataDir, DEFAULT_SQLITE_FILE)}`,
    { url: redact(value) },
  );
}

/** Hides a password in a connection URL before it reaches an error message or a log. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}
