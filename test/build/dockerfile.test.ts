/**
 * The production image, built and started from a clean directory without Docker: the Dockerfile's
 * own stages run here (test/build/dockerfile.ts), the build stage compiling the checkout's files
 * and the runtime stage installing with `npm ci --omit=dev` beside the compiled dist/. Its CMD
 * then runs against a real external Temporal dev server and a real SMTP server, as `docker run`
 * would. Slow but bounded: a few minutes, most of it npm.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { until } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { contextFiles, execForm, inStage, parseDockerfile, runStage, stageEnv, type Layout, type Stage, workdirOf } from './dockerfile';
import { freePort } from '../support/ports';

const repo = path.resolve(__dirname, '..', '..');
const WRITE_KEY = 'build-test-write-key-0123456789';

let tmp: string;
let layout: Layout;
let runtime: Stage;
let temporal: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let started: Launched | undefined;
const launched: Launched[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-image-'));
  layout = {
    contextDir: path.join(tmp, 'context'),
    stageDir: (name) => path.join(tmp, 'stages', name),
    baseEnv: buildEnv(),
  };
  for (const file of contextFiles(repo)) {
    fs.mkdirSync(path.dirname(path.join(layout.contextDir, file)), { recursive: true });
    fs.copyFileSync(path.join(repo, file), path.join(layout.contextDir, file));
  }
  const stages = parseDockerfile(fs.readFileSync(path.join(layout.contextDir, 'Dockerfile'), 'utf8'));
  for (const stage of stages) runStage(stage, layout, (line) => process.stderr.write(`[image] ${line}\n`));
  runtime = stages[stages.length - 1];
  [temporal, smtp] = await Promise.all([devServerEnv(), startSmtpServer()]);
}, 420_000);

afterAll(async () => {
  for (const { proc } of launched) if (proc.exitCode === null) proc.kill('SIGKILL');
  await temporal?.teardown();
  await smtp?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * What every RUN sees besides the stage's ENV: a bare environment like a build container's (none
 * of this test process's NODE_ENV or npm_* settings), npm's cache on this machine preferred, and
 * two stand-ins for what this machine lacks: better-sqlite3's prebuilt binary (a real build
 * downloads it from GitHub; here the checkout's own, same version, is offered as a local prebuild)
 * and the image's `node` user (a `chown` that accepts only node:node).
 */
function buildEnv(): NodeJS.ProcessEnv {
  const shims = path.join(tmp, 'shims');
  fs.mkdirSync(shims);
  fs.writeFileSync(path.join(shims, 'chown'), '#!/bin/sh\n[ "$1" = node:node ] || { echo "chown: only node:node exists" >&2; exit 1; }\n', { mode: 0o755 });
  const env: NodeJS.ProcessEnv = {
    PATH: `${shims}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? os.homedir(),
    npm_config_prefer_offline: 'true',
  };
  const prebuilds = localSqlitePrebuild();
  if (prebuilds) env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  return env;
}

function localSqlitePrebuild(): string | undefined {
  const pkg = path.join(repo, 'node_modules', 'better-sqlite3');
  if (!fs.existsSync(path.join(pkg, 'build', 'Release', 'better_sqlite3.node'))) return undefined;
  const { version } = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(tmp, 'prebuilds');
  fs.mkdirSync(dir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['czf', path.join(dir, name), 'build/Release/better_sqlite3.node'], { cwd: pkg });
  return dir;
}

/** `docker run -e …` of the runtime stage: its ENV (WORKDIR paths mapped here), then `settings`. */
function runEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const dir = layout.stageDir(runtime.name);
  return { PATH: process.env.PATH, HOME: layout.baseEnv.HOME, ...inStage(stageEnv(runtime), workdirOf(runtime), dir), ...settings };
}

function productionSettings(port: number): Record<string, string> {
  return {
    PORT: String(port),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'build-image-test',
    DATABASE_URL: `sqlite:${path.join(tmp, 'profiles.sqlite')}`,
    SMTP_URL: smtp.url,
    UNBROKEN_WRITE_KEY: WRITE_KEY,
    UNBROKEN_PUBLIC_URL: 'https://mail.example.com',
  };
}


function run(command: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(command[0], command.slice(1), { cwd: layout.stageDir(runtime.name), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function post(port: number, endpoint: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A process of the image, as `docker run` starts it, with its output kept for failures. */
interface Launched {
  proc: ChildProcess;
  output: () => string;
}

function launch(command: string[], env: NodeJS.ProcessEnv): Launched {
  let output = '';
  const proc = spawn(command[0], command.slice(1), { cwd: layout.stageDir(runtime.name), env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = { proc, output: () => output };
  launched.push(started);
  return started;
}

function healthy(url: string, { proc, output }: Launched): Promise<true> {
  return until(`${url} to answer 200`, async () => {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}:\n${output()}`);
    const res = await fetch(url).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 90_000);
}

/** SIGTERM, then the exit code, or 'still running' after 15 s. */
function terminate({ proc }: Launched): Promise<number | null | string> {
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  return Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
}

test('the runtime stage holds compiled JavaScript and production packages only: no tsx, TypeScript or jest, no Temporal binaries', () => {
  const dir = layout.stageDir(runtime.name);
  expect(fs.existsSync(path.join(dir, 'dist', 'bin', 'unbroken.js'))).toBe(true);
  expect(fs.existsSync(path.join(dir, 'dist', 'workflows', 'index.js'))).toBe(true);
  for (const devOnly of ['tsx', 'typescript', 'jest', 'ts-jest', 'eslint']) {
    expect([devOnly, fs.existsSync(path.join(dir, 'node_modules', devOnly))]).toEqual([devOnly, false]);
  }
  expect(fs.existsSync(path.join(dir, '.temporal'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'dist', 'cli', 'main.ts'))).toBe(false);
});

test("after migrate and deploy, the image's CMD starts against an external Temporal: /healthz and the HEALTHCHECK pass, a journey sends its mail", async () => {
  const port = await freePort();
  const env = runEnv(productionSettings(port));
  // Production migrates and publishes explicitly, as one-off runs of the image (README, Production).
  expect(run(['node', 'dist/bin/unbroken.js', 'migrate'], env)).toMatch(/applied \d+ migrations/);
  expect(run(['node', 'dist/bin/unbroken.js', 'deploy'], env)).toContain('welcome-series');

  started = launch(execForm(runtime, 'CMD'), env);
  await healthy(`http://127.0.0.1:${port}/healthz`, started);

  const [checkCmd, ...checkArgs] = execForm(runtime, 'HEALTHCHECK');
  expect(() => run([checkCmd, ...checkArgs], env)).not.toThrow();

  const identify = await post(port, 'identify', { userId: 'image-1', traits: { email: 'image-1@example.com', first_name: 'Ida' } });
  expect(identify.status).toBe(200);
  const track = await post(port, 'track', { userId: 'image-1', event: 'signed_up', properties: { plan: 'starter' } });
  expect(track.status).toBe(200);
  const [mail] = await smtp.waitFor(1, 60_000);
  expect(mail.envelope.to).toEqual(['image-1@example.com']);
  expect(started.output()).not.toContain(WRITE_KEY);
}, 180_000);

test('SIGTERM stops the started image within 15 s', async () => {
  expect(started).toBeDefined();
  expect(await terminate(started!)).toBe(0);
}, 20_000);

test('a worker-only run of the image answers /healthz on its UNBROKEN_METRICS_ADDRESS and stops on SIGTERM', async () => {
  const metricsPort = await freePort();
  const env = runEnv({ ...productionSettings(await freePort()), UNBROKEN_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` });
  const worker = launch(['node', 'dist/bin/unbroken.js', 'worker'], env);
  await healthy(`http://127.0.0.1:${metricsPort}/healthz`, worker);
  expect(await terminate(worker)).toBe(0);
}, 120_000);
