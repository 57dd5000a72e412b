/** The live system (what `unbroken start` runs) for end-to-end tests, against given servers. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startSystem, type RunningSystem } from '../../cli/start';
import { loadConfig } from '../../worker/config';
import { startSmtpServer, type TestSmtpServer } from './smtp';
import { devServerEnv } from './temporal';

export interface TestSystem {
  system: RunningSystem;
  /** POSTs JSON to `/v1/<endpoint>` with the write key; returns status and JSON body. */
  post(endpoint: string, body: unknown, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /**
   * Waits until the router loop has routed every accepted event (none waits in the backlog): the
   * API answers once an event is stored, before it reaches any journey.
   */
  routed(): Promise<void>;
  /** Stops the system and removes its data folder. */
  stop(): Promise<void>;
}

/** Starts API + worker + SQLite store against `TEMPORAL_ADDRESS`/`SMTP_URL` given in `env`. */
export async function startTestSystem(definitionsDir: string, env: Record<string, string>): Promise<TestSystem> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-system-'));
  const writeKey = 'test-write-key-0123456789';
  const config = loadConfig({ UNBROKEN_DATA_DIR: dataDir, UNBROKEN_WRITE_KEY: writeKey, PORT: '0', ...env });
  const system = await startSystem(config, { definitionsDir });
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  return {
    system,
    async post(endpoint, body, authorization = auth) {
      const res = await fetch(`${system.apiUrl}/v1/${endpoint}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async routed() {
      await until('the router loop to route every accepted event', async () => ((await system.store.routingBacklog()).events === 0 ? true : undefined));
    },
    async stop() {
      await system.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What one end-to-end test file shares: a Temporal server, an SMTP server and the live system on them. */
export interface LiveServers {
  env: TestWorkflowEnvironment;
  smtp: TestSmtpServer;
  live: TestSystem;
  system: RunningSystem;
}

/**
 * Starts a Temporal server (`temporal`), a real SMTP server and the live system before the file's
 * tests and stops them after; `started` hands them over. Definitions and extra settings are read
 * when the servers start, so an earlier `beforeAll` may prepare them.
 */
export function useLiveSystem(
  options: { temporal: () => Promise<TestWorkflowEnvironment>; definitions: () => string; taskQueue: string; env?: () => Record<string, string> },
  started: (servers: LiveServers) => void,
): void {
  let servers: Partial<LiveServers> = {};
  beforeAll(async () => {
    const [env, smtp] = await Promise.all([options.temporal(), startSmtpServer()]);
    servers = { env, smtp };
    const live = await startTestSystem(options.definitions(), {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      SMTP_URL: smtp.url,
      ...options.env?.(),
    });
    started({ env, smtp, live, system: live.system });
    servers.live = live;
  }, 120_000);
  afterAll(async () => {
    await servers.live?.stop();
    await servers.env?.teardown();
    await servers.smtp?.stop();
  });
}

/**
 * `useLiveSystem` on a real Temporal dev server for the suites of the audience sweep, schedules
 * and dates: task queue `name`, a data folder of its own (removed after the suite; returned for the
 * CLI the suite runs) and the sweep's schedule every `sweepInterval` (`off`: the suite runs sweeps
 * itself, at the times it chooses).
 */
export function useSweepSystem(
  opts: { name: string; definitions: () => string; sweepInterval: string },
  started: (servers: LiveServers) => void,
): string {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `unbroken-${opts.name}-`));
  useLiveSystem(
    {
      temporal: () => devServerEnv(),
      definitions: opts.definitions,
      taskQueue: opts.name,
      env: () => ({ UNBROKEN_DATA_DIR: dataDir, UNBROKEN_AUDIENCE_SWEEP_INTERVAL: opts.sweepInterval }),
    },
    started,
  );
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return dataDir;
}

/** Polls `probe` until it returns something other than undefined. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
