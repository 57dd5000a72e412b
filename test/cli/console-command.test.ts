/**
 * `unbroken console` as an operator runs it beside a deployment whose API runs elsewhere: the real
 * command in a child process, against a store that holds deployed journeys and a run, on SQLite
 * (the data folder's file and its generated admin key) and, with TEST_DATABASE_URL, PostgreSQL.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openProfileStore } from '../../profiles/index';
import { testDatabases, type TestDatabase } from '../support/databases';

const root = path.resolve(__dirname, '..', '..');
const definitions = path.join(root, 'test', 'fixtures', 'live');
const WRITE_KEY = 'write-key-of-the-deployment-0001';
const ENV_ADMIN_KEY = 'admin-key-from-the-environment-0001';

describe.each(testDatabases('console-cmd'))('unbroken console on %s', (name, create) => {
  let db: TestDatabase;
  let dataDir: string;
  /** SQLite: the data folder's file and the key `start` generated there; PostgreSQL: DATABASE_URL and UNBROKEN_ADMIN_KEY. */
  let env: NodeJS.ProcessEnv;
  let adminKey: string;

  beforeAll(async () => {
    db = await create();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-console-cmd-'));
    const sqlite = name === 'SQLite';
    env = {
      ...process.env,
      UNBROKEN_DATA_DIR: dataDir,
      UNBROKEN_WRITE_KEY: WRITE_KEY,
      UNBROKEN_CONSOLE_PORT: '0',
      UNBROKEN_ADMIN_KEY: sqlite ? '' : ENV_ADMIN_KEY,
      DATABASE_URL: sqlite ? '' : db.url,
    };
    adminKey = sqlite ? 'admin-key-generated-by-start-01' : ENV_ADMIN_KEY;
    if (sqlite) fs.writeFileSync(path.join(dataDir, 'admin-key'), `${adminKey}\n`, { mode: 0o600 });
    const deployed = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'deploy', '--definitions', definitions], { cwd: root, env, encoding: 'utf8' });
    expect(deployed.stderr).toBe('');
    expect(deployed.status).toBe(0);
    const store = await openProfileStore(sqlite ? undefined : db.url, dataDir);
    try {
      const hello = (await store.deployedJourneys()).find((j) => j.journeyId === 'hello');
      const at = new Date().toISOString();
      const decision = await store.tryEnrol({ journeyId: 'hello', customerId: 'u1', version: hello!.version, reEntry: { mode: 'never' }, at, workflowIdPrefix: 'hello', input: {} });
      expect(decision).toMatchObject({ enrolled: true });
    } finally {
      await store.close();
    }
  }, 60_000);

  afterAll(async () => {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('serves the journeys to the admin key only, offers no event API, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'console'], { cwd: root, env });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const { url, banner } = await bannerOf(child);
      expect(banner).not.toContain(adminKey);

      const journeys = await fetch(`${url}/journeys`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(journeys.status).toBe(200);
      const body = (await journeys.json()) as { journeys: { journey: string; status: string; entered: { all: number }; inside: number }[] };
      expect(body.journeys.map((j) => j.journey)).toEqual(['hello', 'latest-basket', 'promo', 'quick-cart']);
      expect(body.journeys[0]).toMatchObject({ journey: 'hello', status: 'live', entered: { all: 1 }, inside: 1 });

      const without = await fetch(`${url}/journeys`, { headers: { accept: 'application/json' } });
      expect(without.status).toBe(401);
      const writeKey = await fetch(`${url}/journeys`, { headers: { authorization: `Bearer ${WRITE_KEY}` } });
      expect(writeKey.status).toBe(401);
      const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
      const track = await fetch(url.replace(/\/console$/, '/v1/track'), {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u2', event: 'signed_up' }),
      });
      expect(track.status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);

  test('a pause from this console is stored for the whole deployment, as `unbroken pause` does', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'console'], { cwd: root, env });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const { url } = await bannerOf(child);
      const paused = await fetch(`${url}/journeys/promo/pause`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, accept: 'application/json' } });
      expect(await paused.json()).toEqual({ journey: 'promo', paused: true });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const store = await openProfileStore(name === 'SQLite' ? undefined : db.url, dataDir, { migrate: false });
    try {
      expect((await store.deployedJourneys()).find((j) => j.journeyId === 'promo')?.paused).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);

  test('without an admin key in the environment or the data folder it refuses to start and says how to fix it', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-console-nokey-'));
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'console'], {
        cwd: root,
        env: { ...env, UNBROKEN_ADMIN_KEY: '', UNBROKEN_DATA_DIR: empty },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the console needs the deployment's admin key: set UNBROKEN_ADMIN_KEY/);
      expect(fs.existsSync(path.join(empty, 'admin-key'))).toBe(false);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

/** Waits for the banner and returns the console URL it names. */
function bannerOf(child: ChildProcessWithoutNullStreams): Promise<{ url: string; banner: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /console {4}(http:\/\/\S+\/console)/.exec(out)?.[1];
      if (url !== undefined && out.includes('Ctrl-C stops it.')) resolve({ url, banner: out });
    });
    child.on('close', (code) => reject(new Error(`unbroken console exited with ${code} before its banner: ${err}`)));
  });
}
