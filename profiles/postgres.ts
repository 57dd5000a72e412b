import { redactUrl } from '../core/redact';
import { ProfileStoreError } from './errors';
import { postgresDialect, sql } from './sql/dialect';
import { migrationsFor, type Migration } from './sql/migrations';
import { PostgresDriver, type PostgresTimeouts } from './sql/postgres';
import { SqlStore } from './sql/store';

/** The PostgreSQL schema history, applied in order on open (one list for both databases: sql/migrations.ts). */
export const postgresMigrations: readonly Migration[] = migrationsFor(postgresDialect);

/**
 * The profile store on PostgreSQL (`DATABASE_URL=postgres://…`), for several API and worker
 * processes sharing one database. Tables live in the connection's search_path (append
 * `?options=-c%20search_path%3D<schema>` to the URL to use another schema than public).
 *
 * Differences from SQLite a caller may notice: times are TIMESTAMPTZ, so they come back as
 * UTC ISO text (`…Z`) whatever offset they were written with, and JSON is JSONB, so object
 * keys come back in JSONB's order (same values, different key order).
 */
export class PostgresProfileStore extends SqlStore<PostgresDriver> {
  private constructor(
    driver: PostgresDriver,
    /** The connection URL with its password hidden, for messages. */
    readonly url: string,
  ) {
    super(driver);
  }

  /**
   * Connects, applies pending migrations (unless `migrate` is false: then it only checks the
   * connection) and returns the store; rejects if the database is unreachable.
   */
  static async open(url: string, options: { maxConnections?: number; migrate?: boolean } & Partial<PostgresTimeouts> = {}): Promise<PostgresProfileStore> {
    const store = new PostgresProfileStore(PostgresDriver.connect(url, options.maxConnections ?? 10, options), redactUrl(url));
    try {
      if (options.migrate === false) await store.db.run(sql`SELECT 1`);
      else await store.db.migrate(store.url);
    } catch (err) {
      await store.close();
      if (err instanceof ProfileStoreError) throw err;
      throw new ProfileStoreError(
        'unreachable',
        `cannot open the PostgreSQL profile store at ${store.url}: ${(err as Error).message}`,
        { url: store.url },
      );
    }
    return store;
  }

  /** Schema versions applied to this database, oldest first. */
  async appliedMigrations(): Promise<number[]> {
    return this.db.appliedMigrations();
  }
}
