/**
 * `unbroken migrate` and the commands that must not migrate, as an operator runs them, on SQLite
 * and (with TEST_DATABASE_URL) PostgreSQL in a schema of its own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testDatabases, type TestDatabase } from '../support/databases';

const root = path.resolve(__dirname, '..', '..');
const definitions = path.join(root, 'test', 'fixtures', 'live');

const stores = testDatabases('migrate');

describe.each(stores)('unbroken migrate on %s', (_name, create) => {
  let db: TestDatabase;
  const unbroken = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DATABASE_URL: db.url, UNBROKEN_DATA_DIR: path.join(os.tmpdir(), 'unbroken-migrate-unused') },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => {
    await db.drop();
  });

  test('read-only commands refuse a store that was never migrated, and leave it so', () => {
    const stats = unbroken('stats', 'hello');
    expect(stats.code).toBe(1);
    expect(stats.stderr).toMatch(
      db.file === undefined
        ? /is behind this Unbroken \(\d+ migrations pending, 1, 2, 3, 4, 5[^)]*\): run `unbroken migrate` first/
        : /no profile database at \S+profiles\.sqlite yet: run `unbroken migrate` first/,
    );
    expect(stats.stderr).not.toMatch(/\n\s+at /);
    const status = unbroken('status', '--user', 'u1');
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/run `unbroken migrate` first/);

    const listed = unbroken('migrate', '--status', '--json');
    expect(listed.code).toBe(1);
    const report = JSON.parse(listed.stdout);
    expect(report.applied).toEqual([]);
    expect(report.pending.map((m: { version: number }) => m.version).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    if (db.file !== undefined) expect(fs.existsSync(db.file)).toBe(false);
  });

  test('migrate applies every pending migration once, and --status then lists them applied', () => {
    const ran = unbroken('migrate');
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/: applied \d+ migrations\n/);
    expect(ran.stdout).toMatch(/^ {2}applied +5 {2}\S/m);

    const again = unbroken('migrate');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/schema is current \(\d+ migrations applied\); nothing to do/);

    const listed = unbroken('migrate', '--status');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/: schema is current\n/);
    expect(listed.stdout).toMatch(/^ {2}applied +1 {2}customers, profile changes/m);
    expect(listed.stdout).not.toMatch(/pending/);
  });

  test('stats of a journey never deployed exits 1 and names the deployed ones', () => {
    expect(unbroken('deploy', '--definitions', definitions).code).toBe(0);
    const unknown = unbroken('stats', 'no-such-journey');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/no journey "no-such-journey" has been deployed \(deployed: hello, latest-basket, promo, quick-cart\)/);
    const known = unbroken('stats', 'hello');
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/^hello: entered 0, inside now 0/);
  });
});
