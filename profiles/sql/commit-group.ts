/**
 * Group commit: writes asked for in the same turn of the event loop share one transaction, each
 * in a savepoint of its own, so each stays all or none and none is answered before the commit.
 *
 * Why: on SQLite a commit, not the statements, is most of what accepting a request costs (the
 * write-ahead log's pages and its fsync, one writer at a time). Under load several API requests
 * arrive in one turn; committing them together writes the pages they share (the indexes' last
 * leaves) and syncs once. Drivers that run transactions side by side (PostgreSQL's pool) do not
 * need it: see `Driver.groupsCommits`.
 */
import { sql } from './dialect';
import type { Driver, Transaction } from './driver';

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export class CommitGroup<I, O> {
  private waiting: Waiting<I, O>[] = [];

  /** `write` does one call's work in the shared transaction; it must not commit or roll back. */
  constructor(
    private readonly db: Driver,
    private readonly write: (tx: Transaction, input: I) => Promise<O>,
  ) {}

  /** Resolves with what `write` answered once the transaction holding it has committed. */
  add(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      // After the poll phase: every request read in this turn has added its write by then.
      if (this.waiting.length === 1) setImmediate(() => void this.commit());
    });
  }

  private async commit(): Promise<void> {
    const group = this.waiting;
    this.waiting = [];
    let outcomes: Outcome<O>[];
    try {
      outcomes = await this.db.transaction(async (tx) => {
        const done: Outcome<O>[] = [];
        for (const { input } of group) done.push(await this.inSavepoint(tx, input));
        return done;
      });
    } catch (error) {
      // The commit failed (or the transaction could not begin): nothing of the group is stored.
      for (const w of group) w.reject(error);
      return;
    }
    group.forEach((w, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }

  /** One call's write; a failure undoes that call alone and is answered to it alone. */
  private async inSavepoint(tx: Transaction, input: I): Promise<Outcome<O>> {
    await tx.run(sql`SAVEPOINT grouped_write`);
    try {
      const value = await this.write(tx, input);
      await tx.run(sql`RELEASE SAVEPOINT grouped_write`);
      return { ok: true, value };
    } catch (error) {
      await tx.run(sql`ROLLBACK TO SAVEPOINT grouped_write`);
      await tx.run(sql`RELEASE SAVEPOINT grouped_write`);
      return { ok: false, error };
    }
  }
}
