/**
 * `unbroken start` as a new user runs it: embedded Temporal dev server, mail catcher, API and
 * worker in one process; a welcome mail arrives in the catcher; Ctrl-C stops everything; a second
 * start resumes the journeys that were waiting.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
let dataDir: string;
let proc: ChildProcess | undefined;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-start-'));
});

afterAll(() => {
  // Its own process group: a failed test must not leave the embedded dev server behind.
  if (proc && proc.exitCode === null && proc.pid) process.kill(-proc.pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, UNBROKEN_DATA_DIR: dataDir };
  for (const key of ['TEMPORAL_ADDRESS', 'SMTP_URL', 'DATABASE_URL', 'UNBROKEN_WRITE_KEY', 'PORT', 'HOST', 'UNBROKEN_PUBLIC_URL']) delete env[key];
  return env;
}

async function start(): Promise<{ banner: string; auth: string }> {
  proc = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'start'], { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  const banner = await new Promise<string>((resolve, reject) => {
    proc!.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('Ctrl-C stops everything')) resolve(out);
    });
    proc!.once('exit', (code) => reject(new Error(`unbroken start exited (${code}):\n${out}\n${err}`)));
  });
  const auth = /Authorization: Basic ([A-Za-z0-9+/=]+)/.exec(banner)![1];
  return { banner, auth };
}

async function stop(): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
  proc!.kill('SIGINT');
  return exited;
}

async function track(auth: string, body: unknown): Promise<number> {
  const res = await fetch('http://127.0.0.1:3000/v1/track', {
    method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

test('start runs everything, a welcome mail reaches the catcher, Ctrl-C stops cleanly and a restart resumes', async () => {
  const first = await start();
  expect(first.banner).toContain('event API        http://127.0.0.1:3000  (listening on 127.0.0.1:3000; write key: ');
  expect(first.banner).toContain('Web UI: http://127.0.0.1:8233');
  expect(first.banner).toContain('mail catcher     http://127.0.0.1:1080/');
  expect(first.banner).toContain('"event":"cart_abandoned"');

  await fetch('http://127.0.0.1:3000/v1/identify', {
    method: 'POST',
    headers: { authorization: `Basic ${first.auth}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'u1', traits: { email: 'ann@example.com', first_name: 'Ann' } }),
  });
  expect(await track(first.auth, { userId: 'u1', event: 'signed_up', properties: { plan: 'starter' } })).toBe(200);
  const deadline = Date.now() + 30_000;
  let subjects: string[] = [];
  while (Date.now() < deadline && subjects.length === 0) {
    const list = (await (await fetch('http://127.0.0.1:1080/api/messages')).json()) as { messages: { subject: string }[] };
    subjects = list.messages.map((m) => m.subject);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(subjects).toEqual(['Welcome, Ann']);
  expect(await stop()).toBe(0);

  // The welcome series now waits two days; after a restart the same run is still inside.
  const second = await start();
  expect(second.auth).toBe(first.auth);
  const status = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'status', '--user', 'u1', '--json'], { cwd: root, env: cleanEnv(), encoding: 'utf8' });
  expect(status.status).toBe(0);
  const report = JSON.parse(status.stdout) as { live: boolean; journeys: { journey: string; outcome?: string; current_step?: string }[] };
  expect(report.journeys.map((j) => [j.journey, j.outcome ?? 'inside'])).toEqual([['welcome-series', 'inside']]);
  // Asked of the running workflow itself: the customer sits in the two-day wait.
  expect(report.live).toBe(true);
  expect(report.journeys[0].current_step).toBe('wait-2');
  const list = (await (await fetch('http://127.0.0.1:1080/api/messages')).json()) as { messages: unknown[] };
  expect(list.messages).toHaveLength(1);
  expect(await stop()).toBe(0);
}, 180_000);
