/**
 * PostgreSQL that does not answer: a TCP server that accepts and never speaks, a table locked by
 * another session, a server frozen mid-connection (a proxy that stops forwarding), and a pool
 * that must not grow past its size. Real sockets throughout; the database cases need
 * TEST_DATABASE_URL (scripts/ci-postgres.sh), as the shared store suite does.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { openProfileStore, ProfileStoreError, type LiveStore } from '../../profiles';

const baseUrl = process.env.TEST_DATABASE_URL?.trim() ?? '';
const root = path.resolve(__dirname, '..', '..');

/** A server that accepts connections and never writes a byte, as a hung database host would. */
async function silentServer(): Promise<{ port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    // Reads (and ignores) what the client sends, so the client's hang-up is seen.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Milliseconds `promise` took to settle, and its rejection. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  return { ms: Date.now() - started, error };
}

describe('a PostgreSQL host that accepts TCP and never answers', () => {
  it('makes opening the store fail within the connect timeout, plainly, with the password hidden, and the socket closed', async () => {
    const server = await silentServer();
    try {
      const url = `postgres://app:s3cret@127.0.0.1:${server.port}/unbroken`;
      const { ms, error } = await timed(openProfileStore(url, '/nonexistent', { database: { connectTimeoutMs: 300 } }));
      expect(error).toBeInstanceOf(ProfileStoreError);
      expect((error as ProfileStoreError).code).toBe('unreachable');
      const message = (error as Error).message;
      expect(message).toMatch(/^cannot open the PostgreSQL profile store at postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/unbroken: .*timeout/);
      expect(message).not.toContain('s3cret');
      expect(message).not.toContain('\n');
      expect(ms).toBeLessThan(10_000);
      expect(server.sockets.length).toBeGreaterThan(0);
      // The driver hangs up rather than leaving a connection behind for every attempt.
      await waitFor(async () => server.sockets.every((socket) => socket.closed));
    } finally {
      await server.close();
    }
  });

  it('makes `unbroken start` exit 1 by itself once DATABASE_CONNECT_TIMEOUT_MS has passed, saying why in one line', async () => {
    const server = await silentServer();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-hung-db-'));
    try {
      const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'start', '--definitions', path.join(root, 'test', 'fixtures', 'live')], {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${server.port}/unbroken`,
          DATABASE_CONNECT_TIMEOUT_MS: '500',
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          SMTP_URL: 'smtp://127.0.0.1:1',
          UNBROKEN_DATA_DIR: dataDir,
          PORT: '0',
        },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
      const code = await Promise.race([exited, hung]);
      if (code === 'hung') child.kill('SIGKILL');
      expect(code).toBe(1);
      expect(stderr).toMatch(/cannot open the PostgreSQL profile store at postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/unbroken: .*timeout/);
      expect(stderr).not.toContain('s3cret-pw');
      expect(stderr).not.toMatch(/^\s+at /m);
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

const describeIfDatabase = baseUrl === '' ? describe.skip : describe;
if (baseUrl === '' && process.env.CI === 'true') {
  it('runs in CI', () => {
    throw new Error('TEST_DATABASE_URL is not set: CI must run the PostgreSQL timeout cases (see scripts/ci-postgres.sh)');
  });
} else if (baseUrl === '') {
  console.warn('postgres-timeouts.test.ts: TEST_DATABASE_URL is not set, skipping the PostgreSQL cases (run scripts/ci-postgres.sh)');
}

describeIfDatabase('PostgreSQL timeouts and pool size', () => {
  let admin: Pool;
  let schema: string;
  const stores: LiveStore[] = [];

  /** The test's schema and a unique application name, so connections can be counted. */
  function url(applicationName = 'unbroken-test'): string {
    const u = new URL(baseUrl);
    u.searchParams.set('options', `-c search_path=${schema}`);
    u.searchParams.set('application_name', applicationName);
    return u.toString();
  }

  async function open(target: string, database: { poolSize?: number; connectTimeoutMs?: number; statementTimeoutMs?: number }): Promise<LiveStore> {
    const store = await openProfileStore(target, '/nonexistent', { database });
    stores.push(store);
    return store;
  }

  beforeAll(() => {
    admin = new Pool({ connectionString: baseUrl, max: 3 });
  });
  afterAll(async () => {
    await admin.end();
  });
  beforeEach(async () => {
    schema = `unbroken_test_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  /** Holds an exclusive lock on the customers table until the returned function is called. */
  async function lockCustomers(): Promise<() => Promise<void>> {
    const session = await admin.connect();
    await session.query('BEGIN');
    await session.query(`LOCK TABLE ${schema}.customers IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await session.query('ROLLBACK');
      session.release();
    };
  }

  it('a read stuck behind a lock fails at the statement timeout instead of hanging, and the store works again after', async () => {
    const store = await open(url(), { statementTimeoutMs: 300 });
    const unlock = await lockCustomers();
    try {
      const { ms, error } = await timed(store.getProfile('ann'));
      expect(String(error)).toMatch(/statement timeout/);
      expect(ms).toBeLessThan(10_000);
    } finally {
      await unlock();
    }
    expect(await store.getProfile('ann')).toBeUndefined();
  });

  it('a server that stops answering mid-connection fails a request a moment after the statement timeout', async () => {
    const target = new URL(baseUrl);
    const proxy = await freezableProxy(target.hostname, Number(target.port || 5432));
    try {
      const proxied = new URL(url());
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const store = await open(proxied.toString(), { statementTimeoutMs: 300 });
      expect(await store.getProfile('ann')).toBeUndefined();
      proxy.freeze();
      const { ms, error } = await timed(store.getProfile('ann'));
      expect(String(error)).toMatch(/timeout/i);
      expect(ms).toBeLessThan(10_000);
    } finally {
      await proxy.close();
    }
  });

  it('never holds more connections than DATABASE_POOL_SIZE', async () => {
    const name = `unbroken-pool-${randomBytes(4).toString('hex')}`;
    const store = await open(url(name), { poolSize: 2, statementTimeoutMs: 5000 });
    const unlock = await lockCustomers();
    const reads = Array.from({ length: 6 }, (_, i) => store.getProfile(`c${i}`).catch(() => undefined));
    try {
      await waitFor(async () => (await connectionsOf(name)) >= 2);
      // Give a pool that would grow past its size the time to do so.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await connectionsOf(name)).toBe(2);
    } finally {
      await unlock();
    }
    await Promise.all(reads);
  });

  async function connectionsOf(applicationName: string): Promise<number> {
    const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    return Number(rows[0].n);
  }
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP proxy to PostgreSQL that can stop forwarding, as a frozen server (or a dead network path) would. */
async function freezableProxy(host: string, port: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    sockets.push(client, upstream);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
