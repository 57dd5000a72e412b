/**
 * The embedded Temporal server of `unbroken start`: the Temporal CLI's dev server, persisting to
 * a SQLite file in the data folder so waiting journeys survive a restart. `superviseDevServer`
 * watches it and restarts it from that file when it dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './binaries';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** How a dev server process ended: its exit code, or the signal that ended it. */
export interface DevServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DevServerOptions {
  dataDir: string;
  /** Frontend port (default 7233). */
  port?: number;
  /** Web UI port (default 8233). */
  uiPort?: number;
  host?: string;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Files of the data folder the dev server keeps: its database and its log. */
export function devServerFiles(dataDir: string): { db: string; log: string; pid: string } {
  return { db: path.join(dataDir, 'temporal.db'), log: path.join(dataDir, 'temporal.log'), pid: path.join(dataDir, 'temporal.pid') };
}

/** Tightens a file to its owner (0600) when it exists; the server may create its files with looser modes. */
function ownerOnly(file: string): void {
  try {
    fs.chmodSync(file, 0o600);
  } catch {
    // not created (yet), or not ours to change: the data folder's 0700 still keeps others out
  }
}

/** One dev server process, started and answering. */
interface Launched {
  proc: ChildProcess;
  exited: Promise<DevServerExit>;
}

/**
 * Spawns `temporal server start-dev` and resolves once its frontend answers. Besides the two ports
 * asked for, the CLI binds five ports of its own choosing (internal services, HTTP, metrics); when
 * another process takes one of them between the CLI's choice and its bind, the server exits at
 * once saying "address already in use", and a fresh start (new choices) is the cure, so that case
 * is tried up to three times.
 */
async function launch(opts: DevServerOptions): Promise<Launched> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(opts);
    } catch (err) {
      if (!(err instanceof EarlyExit && err.portRace && attempt < 3)) throw err;
    }
  }
}

/** The server exited before it answered; `portRace` when its log says a port it chose was taken. */
class EarlyExit extends Error {
  constructor(
    message: string,
    readonly portRace: boolean,
  ) {
    super(message);
  }
}

/** The last lines the server wrote to its log after `offset`, for an error message. */
function logTail(file: string, offset: number, lines = 3): string {
  try {
    const text = fs.readFileSync(file).subarray(offset).toString('utf8');
    return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

async function launchOnce(opts: DevServerOptions): Promise<Launched> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error('the Temporal CLI is not installed: run `npm run setup:temporal`, set UNBROKEN_TEMPORAL_CLI, or set TEMPORAL_ADDRESS to an existing server');
  }
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  for (const p of [port, uiPort]) {
    if (!(await portFree(p, host))) {
      throw new Error(
        `port ${p} on ${host} is in use; stop what runs there, set ${p === port ? 'UNBROKEN_EMBEDDED_TEMPORAL_PORT' : 'UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT'} to a free port, or set TEMPORAL_ADDRESS to use that server`,
      );
    }
  }
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const files = devServerFiles(opts.dataDir);
  const log = fs.openSync(files.log, 'a', 0o600);
  const logStart = fs.fstatSync(log).size;
  const proc = spawn(
    cli.path,
    ['server', 'start-dev', '--db-filename', files.db, '--ip', host, '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn'],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  let ended: DevServerExit | undefined;
  const exited = new Promise<DevServerExit>((resolve) => {
    proc.once('exit', (code, signal) => resolve((ended = { code, signal })));
    // A binary that cannot be executed at all ends here, without an exit.
    proc.once('error', () => resolve((ended = { code: -1, signal: null })));
  });
  const address = `${host}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ended) {
      const said = logTail(files.log, logStart);
      throw new EarlyExit(
        `the Temporal dev server exited with ${describeExit(ended)}${said ? ` saying: ${said}` : ''}; see ${files.log}`,
        /address already in use/i.test(said),
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  ownerOnly(files.db);
  if (proc.pid !== undefined) fs.writeFileSync(files.pid, `${proc.pid}\n`, { mode: 0o600 });
  return { proc, exited };
}

/** Stops a launched server: SIGTERM, SIGKILL after 10 s. */
async function terminate(server: Launched): Promise<void> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  const timer = setTimeout(() => server.proc.kill('SIGKILL'), 10_000);
  server.proc.kill('SIGTERM');
  await server.exited;
  clearTimeout(timer);
}

/** `code 1` or `signal SIGKILL`. */
export function describeExit(exit: DevServerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const server = await launch(opts);
  const host = opts.host ?? '127.0.0.1';
  return {
    address: `${host}:${opts.port ?? 7233}`,
    uiUrl: `http://${host}:${opts.uiPort ?? 8233}`,
    stop: () => terminate(server),
  };
}

/** Restart timing of a supervised dev server. */
export interface SupervisionPolicy {
  /** Wait before the first restart after a crash (default 1 s); doubled after each failed restart… */
  initialDelayMs: number;
  /** …up to this (default 30 s). */
  maxDelayMs: number;
  /** Consecutive failed restarts after which the supervisor gives up (default 5). */
  maxFailures: number;
  /** A restarted server that runs this long counts as recovered (default 60 s); one dying sooner is a failed restart. */
  stableMs: number;
}

/** Default restart timing: 1 s, 2 s, 4 s, 8 s, 16 s, then give up (about half a minute of trying). */
export const SUPERVISION: SupervisionPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, maxFailures: 5, stableMs: 60_000 };

/** What the supervisor says about the server, for /readyz and the log. */
export interface SupervisorState {
  state: 'running' | 'restarting' | 'failed';
  /** Why it is not running; absent while it runs. */
  detail?: string;
  /** Restarts so far. */
  restarts: number;
  /** The current process id, while one runs. */
  pid?: number;
}

/** Told about each change: a crash, a restart, giving up. */
export type SupervisorEvent =
  | { kind: 'exited'; exit: DevServerExit; retryInMs: number; attempt: number }
  | { kind: 'restarted'; restarts: number; pid?: number }
  | { kind: 'restart_failed'; error: string; retryInMs: number; attempt: number }
  | { kind: 'gave_up'; error: Error };

export interface SupervisedDevServer extends DevServer {
  state(): SupervisorState;
  /** Resolves with the reason when the server cannot be restarted; never while it runs or after `stop`. */
  readonly failed: Promise<Error>;
}

/**
 * Starts the dev server and keeps it running: when it exits unexpectedly, it is started again on
 * the same ports and database file after a back-off (policy above), so waiting journeys resume
 * and clients reconnect. After `maxFailures` consecutive failed restarts `failed` resolves with a
 * message saying what happened and where the server's log is; the caller stops the process.
 */
export async function superviseDevServer(
  opts: DevServerOptions & { policy?: Partial<SupervisionPolicy>; onEvent?: (event: SupervisorEvent) => void },
): Promise<SupervisedDevServer> {
  const policy = { ...SUPERVISION, ...opts.policy };
  const host = opts.host ?? '127.0.0.1';
  const address = `${host}:${opts.port ?? 7233}`;
  const files = devServerFiles(opts.dataDir);
  let current: Launched | undefined = await launch(opts);
  let upSince = Date.now();
  let stopping = false;
  let status: SupervisorState = { state: 'running', restarts: 0, pid: current.proc.pid };
  // Failed restarts in a row; a restarted server that dies before `stableMs` counts as one.
  let failures = 0;
  let giveUp!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (giveUp = resolve));
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const watch = async (server: Launched): Promise<void> => {
    const exit = await server.exited;
    if (stopping) return;
    current = undefined;
    fs.rmSync(files.pid, { force: true });
    failures = status.restarts > 0 && Date.now() - upSince < policy.stableMs ? failures + 1 : 0;
    const backOff = () => Math.min(policy.initialDelayMs * 2 ** failures, policy.maxDelayMs);
    const why = `exited with ${describeExit(exit)}`;
    if (failures >= policy.maxFailures) {
      const error = new Error(
        `the embedded Temporal server ${why} again within ${policy.stableMs / 1000} s of each of its last ${failures} restarts. ` +
          `Its log is ${files.log}; its data (${files.db}) is kept, and the next \`unbroken start\` resumes the journeys in it.`,
      );
      status = { state: 'failed', detail: error.message, restarts: status.restarts };
      opts.onEvent?.({ kind: 'gave_up', error });
      giveUp(error);
      return;
    }
    let delay = backOff();
    status = { state: 'restarting', detail: `the embedded Temporal server ${why}; restarting it in ${delay} ms`, restarts: status.restarts };
    opts.onEvent?.({ kind: 'exited', exit, retryInMs: delay, attempt: failures + 1 });
    for (;;) {
      await sleep(delay);
      if (stopping) return;
      try {
        const next = await launch(opts);
        if (stopping) {
          await terminate(next);
          return;
        }
        current = next;
        upSince = Date.now();
        status = { state: 'running', restarts: status.restarts + 1, pid: next.proc.pid };
        opts.onEvent?.({ kind: 'restarted', restarts: status.restarts, pid: next.proc.pid });
        void watch(next);
        return;
      } catch (err) {
        failures += 1;
        const reason = (err as Error).message;
        if (failures >= policy.maxFailures) {
          const error = new Error(
            `the embedded Temporal server ${why} and could not be restarted (${failures} attempts): ${reason}. ` +
              `Its log is ${files.log}; its data (${files.db}) is kept, and the next \`unbroken start\` resumes the journeys in it.`,
          );
          status = { state: 'failed', detail: error.message, restarts: status.restarts };
          opts.onEvent?.({ kind: 'gave_up', error });
          giveUp(error);
          return;
        }
        delay = backOff();
        status = { ...status, detail: `the embedded Temporal server ${why}; restart attempt ${failures} failed (${reason}); trying again in ${delay} ms` };
        opts.onEvent?.({ kind: 'restart_failed', error: reason, retryInMs: delay, attempt: failures + 1 });
      }
    }
  };
  void watch(current);

  return {
    address,
    uiUrl: `http://${host}:${opts.uiPort ?? 8233}`,
    failed,
    state: () => ({ ...status }),
    async stop() {
      stopping = true;
      wake?.();
      if (current) await terminate(current);
      fs.rmSync(files.pid, { force: true });
    },
  };
}
