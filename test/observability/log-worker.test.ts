/**
 * The real `unbroken worker` process against a real Temporal dev server: everything it writes to
 * stderr is JSON lines of the structured log, its own and the Temporal SDK's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv } from '../support/temporal';

const root = path.resolve(__dirname, '..', '..');
let env: TestWorkflowEnvironment;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-logs-'));
  env = await devServerEnv();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a worker writes JSON log lines, from start to a clean stop, with nothing else on stderr', async () => {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'worker'], {
    cwd: tmp,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: 'logs-json',
      SMTP_URL: 'smtp://mailer:hunter2-smtp-password@127.0.0.1:2525',
      DATABASE_URL: `sqlite:${path.join(tmp, 'profiles.sqlite')}`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  proc.stderr!.on('data', (chunk) => (stderr += chunk));
  proc.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('task queue')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`worker did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);

  const lines = stderr.split('\n').filter((line) => line !== '');
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(parsed.every((l) => l.service === 'worker' && l.pid === proc.pid && typeof l.time === 'string' && typeof l.level === 'string')).toBe(true);
  expect(parsed).toContainEqual(expect.objectContaining({ level: 'info', taskQueue: 'logs-json', temporalAddress: env.address }));
  // The SDK's own lines (worker state changes) come through the same logger.
  expect(parsed.some((l) => l.source === 'temporal')).toBe(true);
  expect(stderr).not.toContain('hunter2-smtp-password');
  expect(stdout).toBe('');
}, 120_000);
