/** The live system (what `unbroken start` runs) for end-to-end tests, against given servers. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSystem, type RunningSystem } from '../../cli/start';
import { loadConfig } from '../../worker/config';

export interface TestSystem {
  system: RunningSystem;
  /** POSTs JSON to `/v1/<endpoint>` with the write key; returns status and JSON body. */
  post(endpoint: string, body: unknown, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }>;
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
    async stop() {
      await system.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
