import type { Dialect, Sql } from './dialect';

/** A result row, columns by name. */
export type Row = Record<string, unknown>;

/** Runs statements: the database itself (each statement on its own) or one open transaction. */
export interface Runner {
  /** The rows a statement returns. */
  all(q: Sql): Promise<Row[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(q: Sql): Promise<number>;
}

/**
 * Things a transaction may lock, one namespace each, so a collision between, say, a customer id
 * and a journey never makes unrelated work wait on each other.
 */
export type LockSpace = 'customer' | 'enrol' | 'deploy' | 'send' | 'message' | 'run';

/** One open transaction. */
export interface Transaction extends Runner {
  /**
   * Makes concurrent transactions that decide about the same key (a customer, a journey and
   * customer pair) wait for each other until commit. The unique constraints stay the backstop.
   */
  lock(space: LockSpace, ...key: string[]): Promise<void>;
}

/** A connection (SQLite) or pool (PostgreSQL) the store runs on. */
export interface Driver extends Runner {
  readonly dialect: Dialect;
  /**
   * Whether accepted events written at the same moment should share a commit (sql/commit-group.ts):
   * true where transactions run one at a time and a commit costs more than its statements (SQLite).
   */
  readonly groupsCommits: boolean;
  /** Runs `fn` in one transaction; any error rolls it back. Statements inside must go through `tx`. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The first row of a statement, if any. */
export async function first(db: Runner, q: Sql): Promise<Row | undefined> {
  return (await db.all(q))[0];
}
