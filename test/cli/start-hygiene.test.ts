/**
 * Start-up hygiene of `unbroken start`: the embedded servers' ports and the routing attempts are
 * checked settings; a data folder that cannot be used stops the start with one message naming
 * the path and the fix, never a stack; a new data folder is its owner's only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareDataDir, StartError } from '../../cli/start';
import { loadConfig } from '../../worker/config';
import { configProblems } from '../support/config';

const root = path.resolve(__dirname, '..', '..');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-hygiene-'));
  // Another user (below) must be able to reach the folders made inside.
  fs.chmodSync(tmp, 0o755);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('embedded ports', () => {
  const KEYS = ['UNBROKEN_EMBEDDED_TEMPORAL_PORT', 'UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT', 'UNBROKEN_EMBEDDED_SMTP_PORT', 'UNBROKEN_EMBEDDED_MAIL_WEB_PORT'];

  it('default to the ports the quick start documents', () => {
    expect(loadConfig({}).embeddedPorts).toEqual({ temporal: 7233, temporalUi: 8233, smtp: 1025, mailWeb: 1080 });
  });

  it('are taken from the settings', () => {
    const config = loadConfig(Object.fromEntries(KEYS.map((key, i) => [key, String(17233 + i)])));
    expect(config.embeddedPorts).toEqual({ temporal: 17233, temporalUi: 17234, smtp: 17235, mailWeb: 17236 });
  });

  it.each(KEYS)('%s refuses 0, 65536, -1, a fraction and a word, naming the key', (key) => {
    for (const value of ['0', '65536', '-1', '80.5', 'http']) {
      expect(configProblems({ [key]: value })).toEqual([expect.stringMatching(new RegExp(`^${key}: .+ \\(got "${value.replace('.', '\\.')}"\\)$`))]);
    }
  });

  it('refuses two embedded servers on one port, naming both keys', () => {
    expect(configProblems({ UNBROKEN_EMBEDDED_SMTP_PORT: '7233' })).toEqual([
      'UNBROKEN_EMBEDDED_SMTP_PORT and UNBROKEN_EMBEDDED_TEMPORAL_PORT: both 7233; each embedded server needs its own port',
    ]);
  });
});

describe('UNBROKEN_ROUTE_ATTEMPTS', () => {
  it('defaults to 5 and takes a whole number from 1 to 1000', () => {
    expect(loadConfig({}).routeAttempts).toBe(5);
    expect(loadConfig({ UNBROKEN_ROUTE_ATTEMPTS: '12' }).routeAttempts).toBe(12);
    for (const value of ['0', '1001', 'many', '2.5']) expect(configProblems({ UNBROKEN_ROUTE_ATTEMPTS: value })).toEqual([expect.stringMatching(/^UNBROKEN_ROUTE_ATTEMPTS: /)]);
  });
});

describe('the data folder', () => {
  /** Runs `unbroken start` (as another user when this is root, whom permissions do not stop). */
  function start(dataDir: string): { code: number | null; stderr: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, UNBROKEN_DATA_DIR: dataDir, PORT: '0' };
    for (const key of ['TEMPORAL_ADDRESS', 'SMTP_URL', 'DATABASE_URL']) delete env[key];
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'start'], { cwd: root, env, encoding: 'utf8', timeout: 60_000, ...user });
    return { code: r.status, stderr: r.stderr };
  }

  function expectOneMessage(result: { code: number | null; stderr: string }, message: string): void {
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`unbroken: ${message}\n`);
  }

  it('that is a file: names the path and the fix', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    expectOneMessage(start(file), `data folder ${file} is a file, not a folder; move the file away, or set UNBROKEN_DATA_DIR to a folder this user may write`);
  });

  it('below a file: names the path and the fix', () => {
    const file = path.join(tmp, 'another-file');
    fs.writeFileSync(file, 'not a folder');
    const dir = path.join(file, 'data');
    expectOneMessage(start(dir), `data folder ${dir}: a part of that path is a file, not a folder; move it away, or set UNBROKEN_DATA_DIR to a folder this user may write`);
  });

  it('that cannot be created (permission denied): names the path and the fix', () => {
    const locked = path.join(tmp, 'locked-parent');
    fs.mkdirSync(locked, { mode: 0o555 });
    fs.chmodSync(locked, 0o555);
    const dir = path.join(locked, 'data');
    expectOneMessage(
      start(dir),
      `data folder ${dir} cannot be created (permission denied); create it and give this user write access, or set UNBROKEN_DATA_DIR to a folder this user may write`,
    );
  });

  it('that exists but is not writable: names the path and the fix', () => {
    const dir = path.join(tmp, 'read-only');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o555);
    expectOneMessage(
      start(dir),
      `data folder ${dir} is not writable by this user (permission denied); run \`chmod u+rwx ${dir}\` as its owner, or set UNBROKEN_DATA_DIR to a folder this user may write`,
    );
  });

  it('is created for its owner only (0700), parents included, and an existing one is accepted as it is', () => {
    const dir = path.join(tmp, 'new', 'data');
    prepareDataDir(dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(() => prepareDataDir(dir)).not.toThrow();
    expect(() => prepareDataDir(path.join(tmp, 'a-file'))).toThrow(StartError);
  });
});
