/**
 * Temporal's time-skipping test server, started by us rather than by the SDK. The SDK's core hands
 * the server our own stderr, so the Java server's SLF4J warnings ("Failed to load class
 * org.slf4j.impl.StaticLoggerBinder", printed before any logging can be configured) reached every
 * `simulate` and `unbroken test` run; it also gives a starting JVM only five seconds and, when the
 * server dies, says only that it timed out. Here the server's output is read line by line, the
 * SLF4J lines are dropped and the rest passed on, a server that fails to start is reported with
 * its exit code and what it printed, and the server is killed on teardown and when we exit.
 * Every time-skipping environment in the project comes from `createTimeSkippingEnv`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTestServer, testServerExecutable } from './binaries';
import { freeLoopbackPort } from './ports';

/** A JVM on a busy two-core machine can take well over the SDK's five seconds to listen. */
const STARTUP_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** Lines of the server's output kept for the error when it fails to start. */
const KEPT_LINES = 20;

/** The test server could not be started; the message says what it printed and how to fix it. */
export class TestServerError extends Error {
  override name = 'TestServerError';
}

/** SLF4J's report about its own (missing) binding: the server logs nothing either way. */
export function isLoggingNoise(line: string): boolean {
  return line.startsWith('SLF4J: ');
}

/** A running server process: filters its output and can be stopped once. */
class ServerProcess {
  private readonly kept: string[] = [];
  private ready = false;
  readonly exited: Promise<string>;
  private readonly killOnExit = (): void => {
    this.child.kill('SIGKILL');
  };

  constructor(
    readonly executable: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => resolve(`could not be run: ${err.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    }
    process.on('exit', this.killOnExit);
  }

  /** Until the server is ready its lines are kept for the error; after that they go to our stderr (never stdout: it carries --json). */
  private onLine(line: string): void {
    if (isLoggingNoise(line)) return;
    if (this.ready) {
      process.stderr.write(`temporal-test-server: ${line}\n`);
      return;
    }
    this.kept.push(line);
    if (this.kept.length > KEPT_LINES) this.kept.shift();
  }

  markReady(): void {
    this.ready = true;
    for (const line of this.kept.splice(0)) this.onLine(line);
  }

  output(): string {
    return this.kept.length ? `; it printed:\n  ${this.kept.join('\n  ')}` : '';
  }

  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    // Nothing in the test server outlives it, so there is nothing to let it save.
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const HOW_TO_FIX = 'Check UNBROKEN_TEMPORAL_TEST_SERVER, or reinstall with `npm run setup:temporal`.';

/** Resolves when the server accepts connections; rejects with its exit and output if it dies first or never listens. */
async function waitUntilListening(server: ServerProcess, port: number): Promise<void> {
  let exit: string | undefined;
  void server.exited.then((why) => (exit = why));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (exit === undefined && Date.now() < deadline) {
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  await new Promise((resolve) => setImmediate(resolve)); // let the last output lines arrive
  const what = exit ?? `did not listen on port ${port} within ${STARTUP_TIMEOUT_MS / 1000} s`;
  throw new TestServerError(`Temporal's test server (${server.executable}) ${what}${server.output()}\n${HOW_TO_FIX}`);
}

type CreateExisting = (opts: {
  server: { type: 'existing' };
  address: string;
  supportsTimeSkipping: true;
}) => Promise<LocalTimeSkippingEnvironment>;

/** A time-skipping environment on a server we started; teardown also stops the server. */
class LocalTimeSkippingEnvironment extends TestWorkflowEnvironment {
  serverProcess?: ServerProcess;

  override async teardown(): Promise<void> {
    try {
      await super.teardown();
    } finally {
      await this.serverProcess?.stop();
    }
  }

  /**
   * The SDK's own constructor path for an environment on a running server, with its time-skipping
   * client and test service. It is marked private in the types; the public
   * createFromExistingServer would turn time skipping off.
   */
  static connect(address: string): Promise<LocalTimeSkippingEnvironment> {
    const create = (LocalTimeSkippingEnvironment as unknown as { create?: CreateExisting }).create;
    if (typeof create !== 'function') throw new TestServerError('@temporalio/testing no longer has TestWorkflowEnvironment.create; worker/test-server.ts needs updating');
    return create.call(LocalTimeSkippingEnvironment, { server: { type: 'existing' }, address, supportsTimeSkipping: true });
  }
}

/** Starts the time-skipping test server with its logging noise filtered out, and connects to it. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const found = findTestServer();
  // Without an installed server the SDK downloads one and must start it itself (noise and all).
  if (!found) return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: testServerExecutable() } });
  const port = await freeLoopbackPort();
  const server = new ServerProcess(found.path, spawn(found.path, [String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await waitUntilListening(server, port);
    const env = await LocalTimeSkippingEnvironment.connect(`127.0.0.1:${port}`);
    env.serverProcess = server;
    server.markReady();
    return env;
  } catch (err) {
    await server.stop();
    throw err;
  }
}
