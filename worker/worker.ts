/** Builds the Unbroken worker: the journey interpreter plus every registered activity. */
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities/index';
import type { ActivityDeps } from '../activities/types';

/** The workflow bundle entry point (TypeScript source; the SDK bundles it). */
export const workflowsPath = path.resolve(__dirname, '..', 'workflows', 'index');

let bundled: Promise<WorkflowBundle> | undefined;

/** Bundles the workflow code once per process; tests and the CLI reuse the result. */
export function journeyBundle(): Promise<WorkflowBundle> {
  bundled ??= bundleWorkflowCode({ workflowsPath: require.resolve(workflowsPath), logger: quietBundlerLogger });
  return bundled;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
};

export interface JourneyWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Name shown in Temporal for this worker process. */
  identity?: string;
}

/** Creates a worker that runs journeys and their activities on one task queue. */
export async function createJourneyWorker(opts: JourneyWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await journeyBundle(),
    activities: createActivities(opts.deps),
    ...(opts.identity ? { identity: opts.identity } : {}),
    // Let in-flight sends finish (and record their idempotency keys) before the process exits.
    shutdownGraceTime: '10s',
  });
}
