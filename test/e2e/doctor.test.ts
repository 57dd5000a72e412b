/**
 * `unbroken doctor` on real parts: all ok against a running system (a real Temporal dev server,
 * SMTP server, and the store the system migrated), and each broken part named with its fix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { doctor, type DoctorCheck } from '../../cli/doctor';
import { useLiveSystem, type LiveServers } from '../support/system';
import { devServerEnv } from '../support/temporal';

const root = path.resolve(__dirname, '..', '..');
const pgUrl = process.env.TEST_DATABASE_URL?.trim() ?? '';
const taskQueue = 'doctor-e2e';
let tmp: string;
let databaseUrl: string;
let dropSchema: () => Promise<void> = async () => undefined;

/** A port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-doctor-'));
  if (pgUrl === '') {
    databaseUrl = `sqlite:${path.join(tmp, 'profiles.sqlite')}`;
    return;
  }
  // PostgreSQL when there is one: then the clock is compared with the database's.
  const schema = `unbroken_doctor_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: pgUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(pgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  databaseUrl = url.toString();
  dropSchema = async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  };
});

let servers: LiveServers;
useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(root, 'test', 'fixtures', 'live'),
    taskQueue,
    env: () => ({ DATABASE_URL: databaseUrl }),
  },
  (s) => (servers = s),
);

afterAll(async () => {
  await dropSchema();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const byName = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((c) => [c.name, c]));

test('against a running system every check passes, and the command exits 0', async () => {
  // Spawned asynchronously: the SMTP server under test answers from this process's event loop.
  const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'doctor'], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: servers.env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SMTP_URL: servers.smtp.url,
      DATABASE_URL: databaseUrl,
      UNBROKEN_DATA_DIR: tmp,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).toBe('');
  for (const name of ['configuration', 'time zones', 'temporal', 'temporal namespace', 'workers', 'store', 'smtp', 'clock']) {
    expect(stdout).toMatch(new RegExp(`^ok {6}${name} `, 'm'));
  }
  expect(stdout).toMatch(/all checks passed\n$/);
  expect(code).toBe(0);
}, 90_000);

test('with Temporal stopped, SMTP refused and the store unreachable, each is named with its fix and the run fails', async () => {
  const [temporalPort, smtpPort, dbPort] = await Promise.all([closedPort(), closedPort(), closedPort()]);
  const report = await doctor({
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    SMTP_URL: `smtp://mailer:smtp-s3cret@127.0.0.1:${smtpPort}`,
    DATABASE_URL: `postgres://app:db-s3cret@127.0.0.1:${dbPort}/unbroken`,
    UNBROKEN_DATA_DIR: tmp,
  });
  expect(report.ok).toBe(false);
  const checks = byName(report.checks);
  expect(checks.configuration.state).toBe('ok');
  expect(checks['time zones'].state).toBe('ok');
  expect(checks.temporal).toMatchObject({ state: 'failed', detail: expect.stringContaining(`127.0.0.1:${temporalPort}`), fix: expect.stringContaining('TEMPORAL_ADDRESS') });
  expect(checks['temporal namespace'].state).toBe('skipped');
  expect(checks.smtp).toMatchObject({ state: 'failed', detail: expect.stringMatching(/ECONNREFUSED/), fix: expect.stringContaining('SMTP_URL') });
  expect(checks.store).toMatchObject({ state: 'failed', fix: expect.stringContaining('DATABASE_URL') });
  expect(checks.store.detail).toContain(`127.0.0.1:${dbPort}`);
  expect(JSON.stringify(report)).not.toMatch(/s3cret/);
}, 60_000);

test('a store behind the schema fails with "run unbroken migrate", and an unknown namespace is named', async () => {
  const report = await doctor({
    TEMPORAL_ADDRESS: servers.env.address,
    TEMPORAL_NAMESPACE: 'no-such-namespace',
    SMTP_URL: servers.smtp.url,
    DATABASE_URL: `sqlite:${path.join(tmp, 'never-migrated.sqlite')}`,
    UNBROKEN_DATA_DIR: tmp,
  });
  expect(report.ok).toBe(false);
  const checks = byName(report.checks);
  expect(checks.temporal.state).toBe('ok');
  expect(checks['temporal namespace']).toMatchObject({ state: 'failed', detail: expect.stringContaining('"no-such-namespace"'), fix: expect.stringContaining('temporal operator namespace create no-such-namespace') });
  expect(checks.store).toMatchObject({ state: 'failed', detail: expect.stringMatching(/migration\(s\) pending \(1, 2, 3, 4, 5/), fix: expect.stringContaining('run `unbroken migrate`') });
  expect(checks.smtp.state).toBe('ok');
}, 60_000);

test('invalid configuration fails the first check and skips those that need it', async () => {
  const report = await doctor({ TEMPORAL_ADDRESS: 'http://temporal:7233' });
  expect(report.ok).toBe(false);
  expect(byName(report.checks).configuration).toMatchObject({ state: 'failed', detail: expect.stringContaining('TEMPORAL_ADDRESS: must be host:port') });
  expect(byName(report.checks).store.state).toBe('skipped');
});
