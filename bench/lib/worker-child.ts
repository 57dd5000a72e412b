/**
 * A worker in a process of its own, so the benchmark can read its resident memory and so the
 * client load of the benchmark does not share its event loop. Started by `workers.ts` with
 * BENCH_WORKER (JSON of WorkerChildConfig); talks over the IPC channel.
 *
 * The options mirror `createJourneyWorker` (worker/worker.ts) exactly, except that the workflow
 * bundle comes pre-built from a file: bundling once in the parent keeps two children from
 * running webpack at the same time on a two-core machine.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index';
import { smtpMailer } from '../../activities/mailer';
import { openProfileStore } from '../../profiles/index';
import { DEFAULT_CACHED_WORKFLOWS } from '../../worker/config';
import { installRuntime } from '../../worker/logging';
import { workerLimitOptions } from '../../worker/worker';

export interface WorkerChildConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  databaseUrl: string;
  smtpUrl: string;
  bundlePath: string;
  identity: string;
}

export type ChildRequest = { type: 'memory' } | { type: 'stop' };
export type ChildReply =
  | { type: 'ready' }
  | { type: 'memory'; rss: number; heapUsed: number; external: number; maxRss: number }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_WORKER ?? '{}') as WorkerChildConfig;
  const send = (reply: ChildReply) => process.send?.(reply);
  installRuntime('WARN');
  const store = await openProfileStore(config.databaseUrl, '.');
  const connection = await NativeConnection.connect({ address: config.address });
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: config.bundlePath },
    activities: createActivities({ store, mailer: smtpMailer(config.smtpUrl), mailFrom: 'Bench <bench@127.0.0.1>' }),
    identity: config.identity,
    // The limits `unbroken worker` runs with when none are configured (the sticky cache's size).
    ...workerLimitOptions({ maxCachedWorkflows: DEFAULT_CACHED_WORKFLOWS }),
    shutdownGraceTime: '10s',
  });
  const running = worker.run();
  process.on('message', (request: ChildRequest) => {
    if (request.type === 'memory') {
      const m = process.memoryUsage();
      // maxRSS is in KiB; the peak matters as much as the current value for sizing a box.
      send({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed, external: m.external, maxRss: process.resourceUsage().maxRSS * 1024 });
    } else if (request.type === 'stop') {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  });
  send({ type: 'ready' });
  await running;
  await connection.close();
  await store.close();
  // Let --cpu-prof write its profile: exit normally rather than being killed.
  process.disconnect?.();
}

main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies ChildReply);
  process.exitCode = 1;
  process.disconnect?.();
});
