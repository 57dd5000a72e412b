/** Builds the Unbroken worker: the journey interpreter plus every registered activity. */
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { createAudienceLeavers, type AudienceLeaversDeps } from '../activities/audience-leavers';
import { createAudienceSweep, type AudienceSweepDeps } from '../activities/audience-sweep';
import { createDateSweep, type DateSweepDeps } from '../activities/date-sweep';
import { createActivities } from '../activities/index';
import type { ActivityDeps } from '../activities/types';
import { log } from '../observability/log';
import type { WorkerLimits } from './config';

/** The workflow bundle entry point, bundled by the SDK at run time: TypeScript in a checkout, JavaScript in dist/. */
export const workflowsPath = path.resolve(__dirname, '..', 'workflows', 'index');

let bundled: Promise<WorkflowBundle> | undefined;

/**
 * Modules evaluated once per worker and shared by every workflow (bundleWorkflowCode's
 * `preloadModules`), instead of once per workflow.
 *
 * The SDK's reusable V8 context gives each workflow its own webpack module cache, so every module
 * the workflow code imports is evaluated again, and kept, for each cached workflow. re2js alone
 * holds ~90 KiB of heap per evaluation (its classes and Unicode tables): most of what the worker
 * held per waiting customer beyond the hand-written baseline (bench/README.md, "waiting").
 *
 * A module listed here must keep no per-workflow state and must not use `@temporalio/workflow`
 * at load; the SDK freezes what it exports (the classes themselves, not their instances or the
 * tables inside the module). re2js qualifies: a pure engine whose only module state is Unicode
 * tables decoded on first use, the same for every workflow; the patterns a run compiles stay
 * cached per workflow in core/conditions.ts. It is listed through core/re2.ts because webpack
 * drops a bare preloaded 're2js' (the package declares no side effects).
 */
export const sharedWorkflowModules = [path.resolve(__dirname, '..', 'core', 're2')];

/** Bundles the workflow code once per process; tests and the CLI reuse the result. */
export function journeyBundle(): Promise<WorkflowBundle> {
  bundled ??= bundleWorkflowCode({
    workflowsPath: require.resolve(workflowsPath),
    preloadModules: sharedWorkflowModules,
    logger: quietBundlerLogger,
  });
  return bundled;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => log().warn({ source: 'workflow bundle' }, message),
  error: (message: string) => log().error({ source: 'workflow bundle' }, message),
};

export interface JourneyWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Name shown in Temporal for this worker process. */
  identity?: string;
  /** Concurrency and cache size (UNBROKEN_WORKER_MAX_*); absent values keep the SDK's defaults. */
  limits?: WorkerLimits;
  /** The audience sweep's and broadcasts' activities; absent: this worker does not run them. */
  audience?: AudienceSweepDeps & AudienceLeaversDeps & DateSweepDeps;
}

/** The SDK's names for the limits that are set. */
export function workerLimitOptions(limits: WorkerLimits): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {
    maxConcurrentWorkflowTaskExecutions: limits.maxConcurrentWorkflowTasks,
    maxConcurrentActivityTaskExecutions: limits.maxConcurrentActivities,
    maxCachedWorkflows: limits.maxCachedWorkflows,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** Creates a worker that runs journeys and their activities on one task queue. */
export async function createJourneyWorker(opts: JourneyWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await journeyBundle(),
    activities: { ...createActivities(opts.deps), ...(opts.audience ? { ...createAudienceSweep(opts.audience), ...createAudienceLeavers(opts.audience), ...createDateSweep(opts.audience) } : {}) },
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...workerLimitOptions(opts.limits ?? {}),
    // Let in-flight sends finish (and record their idempotency keys) before the process exits.
    shutdownGraceTime: '10s',
  });
}
