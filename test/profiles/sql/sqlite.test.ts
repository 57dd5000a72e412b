import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from '../../../profiles/sql/dialect';
import { SqliteDriver } from '../../../profiles/sql/sqlite';

const suppress = (address: string) => sql`INSERT INTO suppressions (channel, address, reason, at) VALUES ('email', ${address}, 'test', 'now')`;
const addresses = async (db: SqliteDriver) => (await db.all(sql`SELECT address FROM suppressions ORDER BY address`)).map((r) => r.address);
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('SqliteDriver', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-driver-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('never lets a statement of another call join an open transaction and be rolled back with it', async () => {
    const db = new SqliteDriver(':memory:');
    const failing = db.transaction(async (tx) => {
      await tx.run(suppress('rolled-back@example.com'));
      await pause();
      throw new Error('boom');
    });
    const plain = db.run(suppress('kept@example.com'));
    await expect(failing).rejects.toThrow('boom');
    await plain;
    expect(await addresses(db)).toEqual(['kept@example.com']);
    await db.close();
  });

  it('lets two stores of one process on one file take turns instead of locking each other out', async () => {
    const file = path.join(dir, 'p.sqlite');
    const [a, b] = [new SqliteDriver(file), new SqliteDriver(file)];
    await Promise.all(
      [a, b].map((db, i) =>
        db.transaction(async (tx) => {
          await pause();
          await tx.run(suppress(`${i}@example.com`));
        }),
      ),
    );
    expect(await addresses(a)).toEqual(['0@example.com', '1@example.com']);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a statement sent past its own open transaction instead of waiting forever', async () => {
    const db = new SqliteDriver(':memory:');
    await expect(db.transaction(() => db.all(sql`SELECT 1`))).rejects.toThrow(/must run on that transaction/);
    await db.close();
  });
});
