import { sql } from '../../../profiles/sql/dialect';
import { CommitGroup } from '../../../profiles/sql/commit-group';
import type { Driver } from '../../../profiles/sql/driver';
import { SqliteDriver } from '../../../profiles/sql/sqlite';

const suppress = (address: string) => sql`INSERT INTO suppressions (channel, address, reason, at) VALUES ('email', ${address}, 'test', 'now')`;
const addresses = async (db: Driver) => (await db.all(sql`SELECT address FROM suppressions ORDER BY address`)).map((r) => r.address);

/** A driver that counts its transactions and can be told to fail the next commit. */
function counting(inner: SqliteDriver): Driver & { transactions: number; failNextCommit: boolean } {
  const driver = {
    dialect: inner.dialect,
    groupsCommits: true,
    transactions: 0,
    failNextCommit: false,
    all: (q: Parameters<Driver['all']>[0]) => inner.all(q),
    run: (q: Parameters<Driver['run']>[0]) => inner.run(q),
    close: () => inner.close(),
    transaction: <T>(fn: Parameters<Driver['transaction']>[0]) => {
      driver.transactions += 1;
      return inner.transaction(async (tx) => {
        const result = (await fn(tx)) as T;
        // Thrown after every write, where the commit would fail (a full disk): the whole transaction rolls back.
        if (driver.failNextCommit) throw new Error('commit failed');
        return result;
      });
    },
  };
  return driver;
}

describe('CommitGroup', () => {
  const write = async (tx: Parameters<Parameters<Driver['transaction']>[0]>[0], address: string) => {
    await tx.run(suppress(address));
    if (address.startsWith('bad')) throw new Error(`cannot store ${address}`);
    return address;
  };

  it('commits the writes asked for in one turn together, each answered with its own outcome', async () => {
    const db = counting(new SqliteDriver(':memory:'));
    const group = new CommitGroup(db, write);
    const outcomes = await Promise.allSettled(['a@x.org', 'bad@x.org', 'c@x.org'].map((a) => group.add(a)));
    expect(db.transactions).toBe(1);
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 'a@x.org' },
      { status: 'rejected', reason: new Error('cannot store bad@x.org') },
      { status: 'fulfilled', value: 'c@x.org' },
    ]);
    // The failed write was undone alone, up to its savepoint.
    expect(await addresses(db)).toEqual(['a@x.org', 'c@x.org']);
    await db.close();
  });

  it('answers nobody before the commit: a failed commit fails every write of the group and stores none', async () => {
    const db = counting(new SqliteDriver(':memory:'));
    const group = new CommitGroup(db, write);
    db.failNextCommit = true;
    const outcomes = await Promise.allSettled(['a@x.org', 'b@x.org'].map((a) => group.add(a)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await addresses(db)).toEqual([]);
    db.failNextCommit = false;
    // Later writes form a group of their own.
    expect(await group.add('a@x.org')).toBe('a@x.org');
    expect(await addresses(db)).toEqual(['a@x.org']);
    expect(db.transactions).toBe(2);
    await db.close();
  });

  it('starts a new group for writes asked for after a turn has passed', async () => {
    const db = counting(new SqliteDriver(':memory:'));
    const group = new CommitGroup(db, write);
    const first = group.add('a@x.org');
    await new Promise(setImmediate);
    const second = group.add('b@x.org');
    expect(await Promise.all([first, second])).toEqual(['a@x.org', 'b@x.org']);
    expect(db.transactions).toBe(2);
    await db.close();
  });
});
