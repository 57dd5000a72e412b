/**
 * The real `unbroken worker` process with UNBROKEN_METRICS_ADDRESS, against a real Temporal dev
 * server: `/metrics` carries our metrics and Temporal's, `/healthz` says the process lives, and
 * `/readyz` is 200 while the worker runs and 503 naming the part once the store (PostgreSQL
 * behind a TCP proxy that is then cut) or Temporal (stopped) is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Pool } from 'pg';
import { devServerEnv } from '../support/temporal';
import { until } from '../support/system';
import { samples } from './prometheus';
import { freePort } from '../support/ports';

const root = path.resolve(__dirname, '..', '..');
const databaseUrl = process.env.TEST_DATABASE_URL?.trim() ?? '';
let env: TestWorkflowEnvironment;
let temporalStopped = false;
let tmp: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-metrics-'));
  env = await devServerEnv();
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  if (!temporalStopped) await env?.teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});


/** Spawns `unbroken worker` serving on a free port; resolves with its base URL once it serves. */
async function startWorker(taskQueue: string, extraEnv: Record<string, string>): Promise<string> {
  const address = `127.0.0.1:${await freePort()}`;
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'worker'], {
    cwd: tmp,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      DATABASE_URL: `sqlite:${path.join(tmp, `${taskQueue}.sqlite`)}`,
      UNBROKEN_METRICS_ADDRESS: address,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = `http://${address}`;
  await until(
    'the worker to serve /healthz',
    async () => {
      if (proc.exitCode !== null) throw new Error(`worker exited (${proc.exitCode}):\n${stderr}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined;
    },
    60_000,
  );
  return url;
}

async function readyz(url: string): Promise<{ status: number; body: { status: string; parts: Record<string, { state: string; detail?: string }> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

/** Polls /readyz until it answers `status`. */
function readyzUntil(url: string, status: number) {
  return until(`/readyz to answer ${status}`, async () => {
    const r = await readyz(url);
    return r.status === status ? r : undefined;
  }, 30_000);
}

let worker: string;

test('a running worker is ready, and serves its metrics with Temporal’s beside them', async () => {
  worker = await startWorker('metrics-worker', {});
  const ready = await readyzUntil(worker, 200);
  expect(ready.body).toEqual({
    status: 'ready',
    parts: { store: expect.objectContaining({ state: 'ok' }), temporal: expect.objectContaining({ state: 'ok' }), worker: { state: 'ok' } },
  });

  const res = await fetch(`${worker}/metrics`);
  expect(res.status).toBe(200);
  const names = new Set(samples(await res.text()).map((s) => s.name));
  expect(names).toContain('unbroken_routing_backlog_events');
  expect(names).toContain('unbroken_process_resident_memory_bytes');
  expect([...names].some((n) => n.startsWith('temporal_'))).toBe(true);
  expect((await fetch(`${worker}/other`)).status).toBe(404);
}, 90_000);

const describeIfPostgres = databaseUrl === '' ? describe.skip : describe;

describeIfPostgres('with PostgreSQL (TEST_DATABASE_URL)', () => {
  const schema = `unbroken_metrics_${randomBytes(6).toString('hex')}`;
  let admin: Pool;
  let proxy: net.Server;
  const links = new Set<net.Socket>();

  beforeAll(async () => {
    admin = new Pool({ connectionString: databaseUrl, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const target = new URL(databaseUrl);
    proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        links.add(s);
        s.on('error', () => undefined);
        s.on('close', () => links.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    proxy.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  test('readyz answers 503 naming the store once the database cannot be reached; healthz stays 200', async () => {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    url.searchParams.set('options', `-c search_path=${schema}`);
    const pgWorker = await startWorker('metrics-worker-pg', { DATABASE_URL: url.toString() });
    await readyzUntil(pgWorker, 200);

    // The database is gone: no new connection gets through, and the open ones are cut.
    proxy.close();
    for (const s of links) s.destroy();
    const down = await readyzUntil(pgWorker, 503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.parts.store.state).toBe('down');
    expect(down.body.parts.temporal.state).toBe('ok');
    expect((await fetch(`${pgWorker}/healthz`)).status).toBe(200);
  }, 90_000);
});

// Last: it stops the Temporal server every test here uses.
test('readyz answers 503 naming Temporal once it is stopped; healthz stays 200', async () => {
  await env.teardown();
  temporalStopped = true;
  const down = await readyzUntil(worker, 503);
  expect(down.body.status).toBe('unavailable');
  expect(down.body.parts.temporal.state).toBe('down');
  expect(down.body.parts.temporal.detail).toEqual(expect.any(String));
  expect(down.body.parts.store.state).toBe('ok');
  expect((await fetch(`${worker}/healthz`)).status).toBe(200);
}, 60_000);
