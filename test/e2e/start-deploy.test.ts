/**
 * Item 3 of the operations issue: a node started from an old checkout must not roll live journeys
 * back. `unbroken start` against a shared store (DATABASE_URL, TEMPORAL_ADDRESS set) publishes
 * nothing, says what is live and how the local folder differs; `start --deploy` publishes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { devServerEnv } from '../support/temporal';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'live');

let temporal: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let tmp: string;
let env: NodeJS.ProcessEnv;

/** Runs the CLI to its end; resolves with its exit code and output. */
function run(args: string[], untilLine?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // A start runs until told to stop: once it has said what it must, Ctrl-C it.
      if (untilLine?.test(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The definitions folder with hello's message changed, so hello gets a new version. */
function newerDefinitions(): string {
  const dir = path.join(tmp, 'newer');
  fs.cpSync(fixtures, dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'journeys', 'hello.yaml'), '  - id: goodbye\n    send: hello\n');
  return dir;
}

/** The live version of every journey, read from the store as another process sees it. */
async function liveVersions(): Promise<Record<string, string>> {
  const store = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  try {
    return Object.fromEntries((await store.deployedJourneys()).map((j) => [j.journeyId, j.version]));
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  [temporal, smtp] = await Promise.all([devServerEnv(), startSmtpServer()]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-start-deploy-'));
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'start-deploy-e2e',
    SMTP_URL: smtp.url,
    DATABASE_URL: `sqlite:${path.join(tmp, 'profiles.sqlite')}`,
    UNBROKEN_DATA_DIR: path.join(tmp, 'data'),
    UNBROKEN_WRITE_KEY: 'start-deploy-write-key-0123',
    PORT: '0',
  };
}, 120_000);

afterAll(async () => {
  await temporal?.teardown();
  await smtp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a start from an older definitions folder leaves the newer live version in place and says how to publish', async () => {
  const newer = newerDefinitions();
  expect((await run(['deploy', '--definitions', newer])).code).toBe(0);
  const before = await liveVersions();

  const started = await run(['start', '--definitions', fixtures], /Ctrl-C stops everything/);
  expect(started.stderr).toMatch(/SIGINT received, stopping/);
  expect(started.code).toBe(0);
  expect(await liveVersions()).toEqual(before);
  expect(started.stdout).toContain(`journeys         hello ${before.hello}, latest-basket ${before['latest-basket']}`);
  expect(started.stdout).toMatch(new RegExp(`differs from what is live: hello \\(here \\w+, live ${before.hello}\\); left as is\\. Publish with \`unbroken deploy --definitions `));
}, 180_000);

test('start --deploy publishes the folder it is given', async () => {
  const before = await liveVersions();
  const started = await run(['start', '--deploy', '--definitions', fixtures], /Ctrl-C stops everything/);
  expect(started.code).toBe(0);
  const after = await liveVersions();
  expect(after.hello).not.toBe(before.hello);
  expect(after['latest-basket']).toBe(before['latest-basket']);
  expect(started.stdout).not.toMatch(/differs from what is live/);
}, 180_000);
