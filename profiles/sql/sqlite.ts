import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { render, sql, sqliteDialect, type Sql } from './dialect';
import type { Driver, Row, Transaction } from './driver';
import { APPLIED_VERSIONS, migrationsFor, migrationSteps } from './migrations';

/** Set inside a transaction, to catch a statement sent to the driver instead of the transaction. */
const inside = new AsyncLocalStorage<true>();

/** Operations on one database file in this process, one at a time, in call order. */
class Turns {
  private static readonly byFile = new Map<string, Turns>();
  /** Settles when the operation queued last has finished. */
  private tail: Promise<unknown> = Promise.resolve();
  private users = 0;

  private constructor(private readonly file?: string) {}

  /** The queue of a file (shared by every store on it); a memory database has its own. */
  static forFile(file: string | undefined): Turns {
    const turns = (file !== undefined && Turns.byFile.get(file)) || new Turns(file);
    if (file !== undefined) Turns.byFile.set(file, turns);
    turns.users += 1;
    return turns;
  }

  /** Runs `fn` once every operation queued before it has finished. */
  take<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  leave(): void {
    this.users -= 1;
    if (this.users === 0 && this.file !== undefined) Turns.byFile.delete(this.file);
  }
}

/**
 * The SQLite driver: one better-sqlite3 connection to a file (or memory).
 *
 * Every write transaction is BEGIN IMMEDIATE: it takes the file's write lock up front, so
 * read-decide-write sequences are serialised across every process sharing the file (which is why
 * `lock` has nothing left to do), and busy_timeout makes the next writer wait instead of failing.
 *
 * Within a process, transactions await between statements, so every operation (a transaction or a
 * single statement) takes its turn in one queue per file. Otherwise, on one connection, a statement
 * of one call could run inside another call's open transaction and be rolled back with it; and on
 * two connections to one file (two stores in one process), the second BEGIN IMMEDIATE would block
 * the event loop waiting for a lock the first can then never release.
 */
export class SqliteDriver implements Driver {
  readonly dialect = sqliteDialect;
  readonly groupsCommits = true;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly turns: Turns;
  private readonly tx: Transaction = {
    all: async (q) => this.allNow(q),
    run: async (q) => this.runNow(q),
    lock: async () => undefined,
  };

  /**
   * Opens (creating if needed) the database at `file` and applies pending migrations,
   * synchronously, unless `migrate` is false (read-only commands, `unbroken migrate --status`).
   */
  constructor(
    readonly file: string,
    options: { migrate?: boolean } = {},
  ) {
    const memory = file === ':memory:';
    if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    // WAL lets the worker read while another process (CLI, API) writes; busy_timeout makes a
    // writer wait for the lock instead of failing at once with SQLITE_BUSY.
    if (!memory) this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    try {
      if (options.migrate !== false) this.migrate();
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.turns = Turns.forFile(memory ? undefined : fs.realpathSync(file));
  }

  /** Schema versions applied, oldest first (synchronous: SQLite answers at once). */
  appliedMigrations(): number[] {
    return this.allNow(APPLIED_VERSIONS).map((row) => Number(row.version));
  }

  all(q: Sql): Promise<Row[]> {
    return this.exclusive(async () => this.allNow(q));
  }

  run(q: Sql): Promise<number> {
    return this.exclusive(async () => this.runNow(q));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await inside.run(true, () => fn(this.tx));
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        // Some errors (a full disk) end the transaction already; ROLLBACK would then fail.
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.db.open) return;
      this.db.close();
      this.turns.leave();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (inside.getStore()) {
      // Queuing behind our own transaction would wait forever.
      return Promise.reject(new Error('SQLite store: a statement inside a transaction must run on that transaction'));
    }
    return this.turns.take(fn);
  }

  /**
   * IMMEDIATE, so two processes opening a fresh file at once cannot both apply a migration. An
   * up-to-date file is only read: the constructor is synchronous, and taking the write lock while
   * another store of this process is inside a transaction would wait for it forever.
   */
  private migrate(): void {
    const known = migrationsFor(this.dialect).map((m) => m.version);
    if (this.tableExists('schema_migrations') && this.appliedMigrations().join() === known.join()) return;
    this.db
      .transaction(() => {
        const steps = migrationSteps(this.dialect, this.file);
        for (let step = steps.next(); !step.done; ) {
          if ('script' in step.value) {
            this.db.exec(step.value.script);
            step = steps.next([]);
          } else {
            step = steps.next(this.allNow(step.value.query));
          }
        }
      })
      .immediate();
  }

  private tableExists(name: string): boolean {
    return this.allNow(sql`SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ${name}`).length > 0;
  }

  private statement(q: Sql): { statement: Database.Statement; values: unknown[] } {
    const { text, values } = render(q, this.dialect);
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return { statement, values };
  }

  private allNow(q: Sql): Row[] {
    const { statement, values } = this.statement(q);
    if (statement.reader) return statement.all(...values) as Row[];
    statement.run(...values);
    return [];
  }

  private runNow(q: Sql): number {
    const { statement, values } = this.statement(q);
    return statement.run(...values).changes;
  }
}
