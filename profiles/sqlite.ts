import { sqliteDialect } from './sql/dialect';
import { migrationsFor, type Migration } from './sql/migrations';
import { SqliteDriver } from './sql/sqlite';
import { SqlStore } from './sql/store';

export type { Migration } from './sql/migrations';

/** The SQLite schema history, applied in order on open (one list for both databases: sql/migrations.ts). */
export const migrations: readonly Migration[] = migrationsFor(sqliteDialect);

/**
 * The default profile store: one SQLite file (or memory), zero set-up, shareable by several
 * processes (see sql/sqlite.ts for how they take turns).
 */
export class SqliteProfileStore extends SqlStore<SqliteDriver> {
  /** Opens (creating if needed) the database at `file` and applies pending migrations (unless `migrate` is false), synchronously. */
  constructor(
    readonly file: string,
    options: { migrate?: boolean } = {},
  ) {
    super(new SqliteDriver(file, options));
  }

  /** Schema versions applied to this database, oldest first. */
  appliedMigrations(): number[] {
    return this.db.appliedMigrations();
  }
}
