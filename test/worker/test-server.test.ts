/** The time-skipping test server as `simulate` and `unbroken test` start it: quiet when it works, clear when it fails, gone when we are. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTimeSkippingEnv } from '../../worker/test-server';
import { README_SIMULATE_ARGS, unbroken } from '../support/cli';

const root = path.resolve(__dirname, '..', '..');

function accepts(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function eventuallyRefuses(address: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await accepts(address))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('the time-skipping test server', () => {
  test('a successful simulate prints its report and nothing at all on stderr (no SLF4J warnings)', () => {
    const r = unbroken(README_SIMULATE_ARGS);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).outcome).toBe('completed');
  });

  test('a passing `unbroken test` run prints nothing on stderr either', () => {
    const r = unbroken(['test', 'last chance']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n1 passed, 0 failed/);
  });

  test('a server that fails to start is reported with its exit code, what it printed (minus SLF4J) and how to fix it', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-bad-server-'));
    const fake = path.join(tmp, 'temporal-test-server');
    fs.writeFileSync(
      fake,
      ['#!/bin/sh', 'echo \'SLF4J: Failed to load class "org.slf4j.impl.StaticLoggerBinder".\' >&2', 'echo "Error: Could not find or load main class io.temporal.testserver.TestServer" >&2', 'exit 3', ''].join('\n'),
      { mode: 0o755 },
    );
    const r = unbroken(README_SIMULATE_ARGS, { env: { UNBROKEN_TEMPORAL_TEST_SERVER: fake } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Temporal's test server (${fake}) exited with code 3`);
    expect(r.stderr).toContain('Error: Could not find or load main class io.temporal.testserver.TestServer');
    expect(r.stderr).toContain('UNBROKEN_TEMPORAL_TEST_SERVER');
    expect(r.stderr).not.toContain('SLF4J');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a test server setting that points nowhere says so', () => {
    const r = unbroken(README_SIMULATE_ARGS, { env: { UNBROKEN_TEMPORAL_TEST_SERVER: '/no/such/temporal-test-server' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNBROKEN_TEMPORAL_TEST_SERVER points at /no/such/temporal-test-server, which does not exist');
  });

  test('teardown stops the server', async () => {
    const env = await createTimeSkippingEnv();
    expect(env.supportsTimeSkipping).toBe(true);
    const address = (env as unknown as { address: string }).address;
    expect(await accepts(address)).toBe(true);
    await env.teardown();
    expect(await eventuallyRefuses(address)).toBe(true);
  });

  test('a process that exits without teardown takes its server with it', async () => {
    const script = "require('./worker/test-server').createTimeSkippingEnv().then((env) => { console.log(env.address); process.exit(0); })";
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const address = r.stdout.trim();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await eventuallyRefuses(address)).toBe(true);
  });
});
