/**
 * `unbroken start` watches its embedded Temporal server. Killed (SIGKILL) while a customer waits
 * in a journey, it is restarted from its database file: /readyz says Temporal is down and why,
 * then ready again; the waiting customer gets the next mail; an event posted while it was down
 * (503) is routed once it is back. When it cannot be restarted (its port taken), the process
 * stops with a clear message and a non-zero exit. Also the start-up hygiene of the data folder:
 * created for its owner only, mail files and the Temporal database readable by their owner only,
 * every embedded port a setting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { until } from '../support/system';
import { freePort } from '../support/ports';

jest.setTimeout(240_000);

const root = path.resolve(__dirname, '..', '..');
const definitions = path.join(__dirname, '..', 'fixtures', 'supervision');
let tmp: string;
let proc: ChildProcess | undefined;
let blocker: net.Server | undefined;


interface Started {
  dataDir: string;
  api: string;
  mail: string;
  temporalPort: number;
  auth: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function start(name: string): Promise<Started> {
  const dataDir = path.join(tmp, name, 'data');
  const [apiPort, temporalPort, uiPort, smtpPort, webPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UNBROKEN_DATA_DIR: dataDir,
    PORT: String(apiPort),
    UNBROKEN_EMBEDDED_TEMPORAL_PORT: String(temporalPort),
    UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT: String(uiPort),
    UNBROKEN_EMBEDDED_SMTP_PORT: String(smtpPort),
    UNBROKEN_EMBEDDED_MAIL_WEB_PORT: String(webPort),
  };
  for (const key of ['TEMPORAL_ADDRESS', 'SMTP_URL', 'DATABASE_URL', 'UNBROKEN_WRITE_KEY', 'HOST', 'UNBROKEN_PUBLIC_URL', 'UNBROKEN_METRICS_ADDRESS']) delete env[key];
  proc = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'start', '--definitions', definitions], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a failed test must not leave the embedded dev server behind.
    detached: true,
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
  const banner = await new Promise<string>((resolve, reject) => {
    proc!.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('Ctrl-C stops everything')) resolve(out);
    });
    void exited.then((code) => reject(new Error(`unbroken start exited (${code}):\n${out}\n${err}`)));
  });
  expect(banner).toContain(`Web UI: http://127.0.0.1:${uiPort}`);
  expect(banner).toContain(`mail catcher     http://127.0.0.1:${webPort}/`);
  expect(banner).toContain(`Temporal         127.0.0.1:${temporalPort}`);
  const auth = /Authorization: Basic ([A-Za-z0-9+/=]+)/.exec(banner)![1];
  return { dataDir, api: `http://127.0.0.1:${apiPort}`, mail: `http://127.0.0.1:${webPort}`, temporalPort, auth, stderr: () => err, exited };
}

async function post(s: Started, endpoint: string, body: unknown): Promise<number> {
  const res = await fetch(`${s.api}/v1/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Basic ${s.auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

async function readyz(s: Started): Promise<{ status: number; temporal?: { state: string; detail?: string }; routing?: { state: string; detail?: string } }> {
  const res = await fetch(`${s.api}/readyz`);
  const body = (await res.json()) as { parts?: Record<string, { state: string; detail?: string }> };
  return { status: res.status, temporal: body.parts?.temporal, routing: body.parts?.routing };
}

async function subjects(s: Started): Promise<string[]> {
  const list = (await (await fetch(`${s.mail}/api/messages`)).json()) as { messages: { subject?: string }[] };
  return list.messages.map((m) => m.subject ?? '');
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

function devServerPid(s: Started): number {
  return Number(fs.readFileSync(path.join(s.dataDir, 'temporal.pid'), 'utf8').trim());
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-supervise-'));
});

afterEach(async () => {
  // Its whole process group: the product and its dev server.
  if (proc && proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(-proc.pid, 'SIGKILL');
  proc = undefined;
  await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  blocker = undefined;
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a killed embedded Temporal server is restarted: /readyz names it, the waiting customer gets the next mail, an event posted meanwhile is routed', async () => {
  const s = await start('restart');
  expect(await post(s, 'identify', { userId: 'u1', traits: { email: 'ann@example.com', first_name: 'Ann' } })).toBe(200);
  expect(await post(s, 'track', { userId: 'u1', event: 'signed_up' })).toBe(200);
  await until('the welcome mail', async () => ((await subjects(s)).includes('Welcome, Ann') || undefined), 60_000);
  expect((await readyz(s)).status).toBe(200);

  const first = devServerPid(s);
  process.kill(first, 'SIGKILL');
  const down = await until('/readyz to report Temporal down', async () => {
    const r = await readyz(s);
    return r.status === 503 ? r : undefined;
  }, 10_000);
  expect(down.temporal).toMatchObject({ state: 'down', detail: expect.stringMatching(/^the embedded Temporal server exited with signal SIGKILL; restart/) });
  // Accepted (stored, 200) though Temporal is down: the router loop routes it once Temporal is
  // back, without any retry.
  // (The supervisor may restart Temporal and the loop route the event before /readyz reads the
  // backlog again, so that it shows the event waiting is checked in test/api/ready.test.ts, where
  // Temporal stays down until the test starts it.)
  expect(await post(s, 'track', { userId: 'u1', event: 'order_placed', messageId: 'order-while-down' })).toBe(200);

  await until('/readyz to be ready again', async () => ((await readyz(s)).status === 200 || undefined), 60_000);
  expect(devServerPid(s)).not.toBe(first);
  expect(s.stderr()).toContain('the embedded Temporal server exited unexpectedly (signal SIGKILL); restarting it in 1000 ms from its database file');
  expect(s.stderr()).toContain('the embedded Temporal server is running again');

  await until('the follow-up mail of the journey that was waiting', async () => ((await subjects(s)).includes('How is it going?') || undefined), 90_000);
  await until('the mail of the event posted while Temporal was down', async () => ((await subjects(s)).includes('Thanks for your order') || undefined), 90_000);
  await until('/readyz to show nothing waiting', async () => ((await readyz(s)).routing?.detail === 'no events waiting; none dead-lettered' || undefined), 15_000);
  const all = await subjects(s);
  for (const subject of ['Welcome, Ann', 'How is it going?', 'Thanks for your order']) expect(all.filter((x) => x === subject)).toHaveLength(1);

  // Owner only: the data folder, every stored mail, the Temporal database.
  expect(mode(s.dataDir)).toBe(0o700);
  const mailDir = path.join(s.dataDir, 'mail');
  expect(mode(mailDir)).toBe(0o700);
  const mails = fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
  expect(mails).toHaveLength(3);
  for (const file of mails) expect(mode(path.join(mailDir, file))).toBe(0o600);
  expect(mode(path.join(s.dataDir, 'temporal.db'))).toBe(0o600);
  expect(mode(path.join(s.dataDir, 'temporal.log'))).toBe(0o600);

  proc!.kill('SIGINT');
  expect(await s.exited).toBe(0);
  expect(fs.existsSync(path.join(s.dataDir, 'temporal.pid'))).toBe(false);
});

test('when the embedded Temporal server cannot be restarted (its port is taken), start stops with a clear message and exits non-zero', async () => {
  const s = await start('give-up');
  const pid = devServerPid(s);
  process.kill(pid, 'SIGKILL');
  // Take the port as soon as the dead server has let go of it, before the first restart.
  blocker = await until('the port to be free', async () => {
    // Connections the product's Temporal clients open to it are closed at once, as by a server that is not Temporal.
    const server = net.createServer((socket) => socket.destroy());
    return new Promise<net.Server | undefined>((resolve) => {
      server.once('error', () => resolve(undefined));
      server.listen(s.temporalPort, '127.0.0.1', () => resolve(server));
    });
  }, 5_000);
  const down = await until('/readyz to say a restart failed', async () => {
    const r = await readyz(s);
    return /restart attempt \d failed/.test(r.temporal?.detail ?? '') ? r : undefined;
  }, 20_000);
  expect(down.status).toBe(503);
  expect(down.temporal!.detail).toContain(`port ${s.temporalPort} on 127.0.0.1 is in use`);

  expect(await s.exited).toBe(1);
  const stderr = s.stderr();
  expect(stderr).toContain(`unbroken: the embedded Temporal server exited with signal SIGKILL and could not be restarted (5 attempts): port ${s.temporalPort} on 127.0.0.1 is in use`);
  expect(stderr).toContain(`Its log is ${path.join(s.dataDir, 'temporal.log')}`);
  expect(stderr).toContain('unbroken: stopped.');
  expect(stderr).not.toMatch(/\n\s+at /);
});

test('a worker that ends by itself (the Temporal SDK shuts it down on SIGUSR2) stops start with a clear message and exit 1, instead of accepting events nobody runs', async () => {
  const s = await start('worker-ends');
  proc!.kill('SIGUSR2');
  expect(await s.exited).toBe(1);
  expect(s.stderr()).toContain('unbroken: the worker stopped by itself; journeys would no longer run\nunbroken: stopping…\nunbroken: stopped.\n');
  expect(fs.existsSync(path.join(s.dataDir, 'temporal.pid'))).toBe(false);
});
