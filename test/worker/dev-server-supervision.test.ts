/**
 * The supervisor of the embedded Temporal server, on the real Temporal CLI: a killed server comes
 * back on the same address from the same database file; one that cannot be brought back (its
 * binary gone, or dying again after every restart) makes the supervisor give up with a message
 * naming the cause and the log; a stop during the back-off leaves nothing running.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { findTemporalCli } from '../../worker/binaries';
import { superviseDevServer, type SupervisedDevServer, type SupervisorEvent } from '../../worker/dev-server';
import { until } from '../support/system';
import { freePort } from '../support/ports';

jest.setTimeout(120_000);

let tmp: string;
let server: SupervisedDevServer | undefined;
const savedCli = process.env.UNBROKEN_TEMPORAL_CLI;


async function supervise(name: string, policy: Parameters<typeof superviseDevServer>[0]['policy']): Promise<{ server: SupervisedDevServer; events: SupervisorEvent[]; dataDir: string }> {
  const dataDir = path.join(tmp, name);
  const events: SupervisorEvent[] = [];
  server = await superviseDevServer({ dataDir, port: await freePort(), uiPort: await freePort(), policy, onEvent: (e) => events.push(e) });
  return { server, events, dataDir };
}

const pidOf = (s: SupervisedDevServer) => s.state().pid!;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-supervisor-'));
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  if (savedCli === undefined) delete process.env.UNBROKEN_TEMPORAL_CLI;
  else process.env.UNBROKEN_TEMPORAL_CLI = savedCli;
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a killed server is restarted on the same address from its database file, keeping what was in it', async () => {
  const { server: s, events } = await supervise('restart', { initialDelayMs: 100 });
  let connection = await Connection.connect({ address: s.address });
  const handle = await new Client({ connection }).workflow.start('never-polled', { taskQueue: 'nobody', workflowId: 'kept-across-restarts', args: [] });
  await connection.close();
  const first = pidOf(s);
  process.kill(first, 'SIGKILL');
  await until('the restart', () => (s.state().state === 'running' && s.state().restarts === 1 ? true : undefined), 30_000);
  expect(pidOf(s)).not.toBe(first);
  expect(events.map((e) => e.kind)).toEqual(['exited', 'restarted']);
  expect(events[0]).toMatchObject({ exit: { code: null, signal: 'SIGKILL' }, retryInMs: 100 });
  connection = await Connection.connect({ address: s.address });
  const described = await new Client({ connection }).workflow.getHandle(handle.workflowId).describe();
  await connection.close();
  expect(described.status.name).toBe('RUNNING');
});

test('a server whose binary was removed after the start cannot be restarted: the supervisor gives up naming the cause and the log', async () => {
  const link = path.join(tmp, 'temporal-link');
  fs.symlinkSync(findTemporalCli()!.path, link);
  process.env.UNBROKEN_TEMPORAL_CLI = link;
  const { server: s, events, dataDir } = await supervise('binary-gone', { initialDelayMs: 50, maxFailures: 3 });
  fs.rmSync(link);
  process.kill(pidOf(s), 'SIGKILL');
  const error = await s.failed;
  expect(error.message).toBe(
    `the embedded Temporal server exited with signal SIGKILL and could not be restarted (3 attempts): UNBROKEN_TEMPORAL_CLI points at ${link}, which does not exist. ` +
      `Its log is ${path.join(dataDir, 'temporal.log')}; its data (${path.join(dataDir, 'temporal.db')}) is kept, and the next \`unbroken start\` resumes the journeys in it.`,
  );
  expect(s.state()).toMatchObject({ state: 'failed', detail: error.message });
  expect(events.map((e) => e.kind)).toEqual(['exited', 'restart_failed', 'restart_failed', 'gave_up']);
  // Back-off doubles: 50 ms, then 100 ms, then 200 ms.
  expect(events.map((e) => ('retryInMs' in e ? e.retryInMs : undefined))).toEqual([50, 100, 200, undefined]);
});

test('a server that dies again soon after each restart counts as failing, and the supervisor gives up', async () => {
  const { server: s, events } = await supervise('crash-loop', { initialDelayMs: 50, maxFailures: 2, stableMs: 60_000 });
  for (let restarts = 0; restarts < 2; restarts++) {
    process.kill(pidOf(s), 'SIGKILL');
    await until('the restart', () => (s.state().state === 'running' && s.state().restarts === restarts + 1 ? true : undefined), 30_000);
  }
  const last = pidOf(s);
  process.kill(last, 'SIGKILL');
  const error = await s.failed;
  expect(error.message).toMatch(/^the embedded Temporal server exited with signal SIGKILL again within 60 s of each of its last 2 restarts\. Its log is /);
  expect(events.map((e) => e.kind)).toEqual(['exited', 'restarted', 'exited', 'restarted', 'gave_up']);
  expect(alive(last)).toBe(false);
});

test('a stop during the back-off restarts nothing and leaves no server running', async () => {
  const { server: s, events, dataDir } = await supervise('stop-in-backoff', { initialDelayMs: 2000 });
  const pid = pidOf(s);
  process.kill(pid, 'SIGKILL');
  await until('the crash to be seen', () => (s.state().state === 'restarting' ? true : undefined), 10_000);
  await s.stop();
  server = undefined;
  await new Promise((resolve) => setTimeout(resolve, 2500));
  expect(events.map((e) => e.kind)).toEqual(['exited']);
  expect(fs.existsSync(path.join(dataDir, 'temporal.pid'))).toBe(false);
  expect(s.state().state).toBe('restarting');
});

/** A stand-in CLI: its first `failures` starts print `message` and exit 1, later ones run the real CLI. */
function flakyCli(name: string, failures: number, message: string): string {
  const script = path.join(tmp, `${name}.sh`);
  const count = path.join(tmp, `${name}.count`);
  fs.writeFileSync(
    script,
    `#!/bin/sh\nn=$(cat ${count} 2>/dev/null || echo 0)\necho $((n + 1)) > ${count}\n` +
      `if [ "$n" -lt ${failures} ]; then echo 'Error: ${message}' >&2; exit 1; fi\nexec ${findTemporalCli()!.path} "$@"\n`,
    { mode: 0o755 },
  );
  return script;
}

test('a start lost to a race for one of the ports the CLI picks itself is tried again', async () => {
  process.env.UNBROKEN_TEMPORAL_CLI = flakyCli('port-race', 2, 'listen tcp 127.0.0.1:41234: bind: address already in use');
  const { server: s } = await supervise('port-race', {});
  expect(s.state().state).toBe('running');
  expect(fs.readFileSync(path.join(tmp, 'port-race.count'), 'utf8').trim()).toBe('3');
});

test('a server that exits while starting for another reason fails at once, quoting its log', async () => {
  process.env.UNBROKEN_TEMPORAL_CLI = flakyCli('broken', 9, 'unable to open database file');
  await expect(supervise('broken', {})).rejects.toThrow(/^the Temporal dev server exited with code 1 saying: Error: unable to open database file; see .*broken\/temporal\.log$/);
  expect(fs.readFileSync(path.join(tmp, 'broken.count'), 'utf8').trim()).toBe('1');
});
