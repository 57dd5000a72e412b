import { log } from '../../observability/log';
import { Pool, types as pgTypes, type PoolClient, type QueryConfig } from 'pg';
import { postgresDialect, render, type Sql } from './dialect';
import type { Driver, LockSpace, Row, Transaction } from './driver';
import { APPLIED_VERSIONS, migrationSteps } from './migrations';

/**
 * First keys of the two-key advisory locks, one per namespace. The numbers are what running
 * processes already use: keep them, so old and new processes lock the same things.
 */
const LOCK_SPACE: Record<LockSpace | 'migrate', number> = { migrate: 1, customer: 2, enrol: 3, deploy: 4, send: 5, message: 6, run: 7 };

/**
 * Times come back as ISO text (what SQLite stores and the interface speaks) and counts as
 * numbers; set per pool so other users of `pg` in the process keep the library defaults.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pgTypes.builtins.TIMESTAMPTZ) {
      const parseDate = pgTypes.getTypeParser(oid, 'text') as (text: string) => Date;
      return (text: string) => parseDate(text).toISOString();
    }
    if (oid === pgTypes.builtins.INT8) return (text: string) => Number(text);
    return pgTypes.getTypeParser(oid, format ?? 'text');
  }) as typeof pgTypes.getTypeParser,
};

type Queryable = Pick<PoolClient, 'query'>;

/** How long the driver waits on PostgreSQL before it gives up with an error. */
export interface PostgresTimeouts {
  /** Opening a connection, or waiting for a free one when the pool is full. */
  connectTimeoutMs: number;
  /** One statement; also how long a session may sit idle inside a transaction. */
  statementTimeoutMs: number;
}

/** The defaults of DATABASE_CONNECT_TIMEOUT_MS and DATABASE_STATEMENT_TIMEOUT_MS. */
export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 };

/** The client-side deadline's lead over the server's statement_timeout, whose error is the clearer one. */
const QUERY_TIMEOUT_MARGIN_MS = 1000;

/** The longest client-side deadline (a timer's limit, ~24 days): in effect none, for migrations. */
const NO_DEADLINE_MS = 2 ** 31 - 1;

/**
 * The PostgreSQL driver: a connection pool. A transaction holds one connection; `lock` takes a
 * transaction-scoped advisory lock, so concurrent processes serialise exactly where they would
 * race and nowhere else.
 */
export class PostgresDriver implements Driver {
  readonly dialect = postgresDialect;
  // The pool runs transactions side by side; grouping would serialise them.
  readonly groupsCommits = false;

  constructor(private readonly pool: Pool) {}

  /** A pool on `url`, not yet connected. */
  static connect(url: string, maxConnections: number, timeouts: Partial<PostgresTimeouts> = {}): PostgresDriver {
    const connectTimeoutMs = timeouts.connectTimeoutMs ?? DEFAULT_POSTGRES_TIMEOUTS.connectTimeoutMs;
    const statementTimeoutMs = timeouts.statementTimeoutMs ?? DEFAULT_POSTGRES_TIMEOUTS.statementTimeoutMs;
    const pool = new Pool({
      connectionString: url,
      types: TYPES,
      max: maxConnections,
      // Covers the TCP connect, the start-up exchange and the wait for a free pooled connection,
      // so a server that accepts and never answers fails the caller instead of hanging it.
      connectionTimeoutMillis: connectTimeoutMs,
      // The server cancels a statement (advisory lock waits included) that runs too long, and
      // ends a session left idle inside a transaction (a stalled process holding locks).
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: statementTimeoutMs,
      // A frozen server cancels nothing: the client gives up a little after the server would
      // have, and the pool discards that connection.
      query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    });
    // An idle connection dropped by the server emits 'error' on the pool; without a listener
    // that would crash the process. The next query simply opens a new connection.
    pool.on('error', (err) => log().warn({ err }, 'PostgreSQL connection lost; the next query opens a new one'));
    return new PostgresDriver(pool);
  }

  all(q: Sql): Promise<Row[]> {
    return allOn(this.pool, q);
  }

  async run(q: Sql): Promise<number> {
    return runOn(this.pool, q);
  }

  async appliedMigrations(): Promise<number[]> {
    return (await this.all(APPLIED_VERSIONS)).map((row) => Number(row.version));
  }

  /** Applies pending migrations; `where` names the database in errors. */
  async migrate(where: string): Promise<void> {
    await this.inTransaction(async (client) => {
      // An index built over millions of rows, or the wait behind another process migrating, may
      // take longer than any statement should: no time limit inside this transaction.
      await client.query('SET LOCAL statement_timeout = 0');
      // Processes starting together queue here; the first applies, the others find it done.
      // The schema is part of the key so separate schemas (tests) migrate independently.
      await client.query(undeadlined(`SELECT pg_advisory_xact_lock($1, hashtext('unbroken:' || coalesce(current_schema(), '')))`, [LOCK_SPACE.migrate]));
      const steps = migrationSteps(this.dialect, where);
      for (let step = steps.next(); !step.done; ) {
        if ('script' in step.value) {
          await client.query(undeadlined(step.value.script));
          step = steps.next([]);
        } else {
          step = steps.next(await allOn(client, step.value.query));
        }
      }
    });
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.inTransaction((client) =>
      fn({
        all: (q) => allOn(client, q),
        run: (q) => runOn(client, q),
        lock: async (space, ...key) => {
          // The unit separator (chr(31)) cannot occur in ids, so "a"+"bc" and "ab"+"c" lock differently;
          // joined as the earlier store did, so old and new processes take the same lock.
          await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_SPACE[space], key.join('\u001f')]);
        },
      }),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `fn` in one transaction on one connection; any error rolls it back. */
  private async inTransaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot even roll back is not handed to the next caller.
        broken = rollbackError as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** A statement without the client-side deadline (pg reads `query_timeout` per query; its types omit it). */
function undeadlined(text: string, values: unknown[] = []): QueryConfig {
  return { text, values, query_timeout: NO_DEADLINE_MS } as QueryConfig;
}

async function allOn(db: Queryable, q: Sql): Promise<Row[]> {
  const { text, values } = render(q, postgresDialect);
  return (await db.query<Row>(text, values)).rows;
}

async function runOn(db: Queryable, q: Sql): Promise<number> {
  const { text, values } = render(q, postgresDialect);
  return (await db.query(text, values)).rowCount ?? 0;
}
