/** Workflow bundles built once per run, and workers in child processes. */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { journeyBundle } from '../../worker/worker';
import type { BenchContext } from './context';
import type { ChildReply, ChildRequest, WorkerChildConfig } from './worker-child';

export interface Bundles {
  /** The product's interpreter bundle (worker/worker.ts `journeyBundle`), written to a file. */
  engine: string;
  /** bench/baseline/workflows.ts, bundled the same way. */
  baseline: string;
}

const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => process.stderr.write(`workflow bundle: ${m}\n`),
  error: (m: string) => process.stderr.write(`workflow bundle: ${m}\n`),
};

export async function buildBundles(tmp: string): Promise<Bundles> {
  const engine = await journeyBundle();
  const baseline = await bundleWorkflowCode({ workflowsPath: require.resolve('../baseline/workflows'), logger: quiet });
  const files = { engine: path.join(tmp, 'engine-bundle.js'), baseline: path.join(tmp, 'baseline-bundle.js') };
  fs.writeFileSync(files.engine, engine.code);
  fs.writeFileSync(files.baseline, baseline.code);
  return files;
}

export interface ChildWorker {
  pid: number;
  memory(): Promise<{ rss: number; heapUsed: number; external: number; maxRss: number }>;
  stop(): Promise<void>;
}

/**
 * Forks bench/lib/worker-child.ts under tsx and resolves once its worker polls. `cpuProfDir`
 * runs it with `--cpu-prof` (the profile is written when the child exits).
 */
export async function startChildWorker(config: WorkerChildConfig, cpuProfDir?: string): Promise<ChildWorker> {
  const execArgv = ['--import', 'tsx', ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${config.identity}.cpuprofile`] : [])];
  const child: ChildProcess = fork(path.join(__dirname, 'worker-child.ts'), [], {
    execArgv,
    env: { ...process.env, BENCH_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: ChildReply) => {
      if (m.type === 'ready') {
        child.off('message', onMessage);
        resolve();
      } else if (m.type === 'error') {
        reject(new Error(`worker ${config.identity}: ${m.message}`));
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker ${config.identity} exited with code ${code}`)));
  });
  const request = (r: ChildRequest) => child.send(r);
  return {
    pid: child.pid ?? -1,
    memory: () =>
      new Promise((resolve) => {
        const onMessage = (m: ChildReply) => {
          if (m.type !== 'memory') return;
          child.off('message', onMessage);
          resolve(m);
        };
        child.on('message', onMessage);
        request({ type: 'memory' });
      }),
    async stop() {
      if (child.exitCode !== null) return;
      request({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts the interpreter worker and the hand-written worker side by side, one child process
 * each, on the given task queues. If the second fails to start, the first is stopped again.
 */
export async function startWorkerPair(
  ctx: BenchContext,
  databaseUrl: string,
  queues: Record<'engine' | 'baseline', string>,
  identityPrefix: string,
): Promise<Record<'engine' | 'baseline', ChildWorker>> {
  const started: ChildWorker[] = [];
  try {
    const start = async (kind: 'engine' | 'baseline'): Promise<ChildWorker> => {
      const worker = await startChildWorker(
        {
          address: ctx.temporal.address,
          namespace: ctx.temporal.namespace,
          taskQueue: queues[kind],
          databaseUrl,
          smtpUrl: ctx.smtp.url,
          bundlePath: ctx.bundles[kind],
          identity: `${identityPrefix}-${kind}-worker`,
        },
        ctx.profileDir,
      );
      started.push(worker);
      return worker;
    };
    // One after the other: two children loading at once would fight for the two cores.
    const engine = await start('engine');
    return { engine, baseline: await start('baseline') };
  } catch (err) {
    await Promise.all(started.map((w) => w.stop()));
    throw err;
  }
}
