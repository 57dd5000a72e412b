/**
 * The router as a process of its own (`unbroken router`): the router loop (./loop.ts) against the
 * store and Temporal, without the event API or a worker. Run one or more beside API processes
 * started with UNBROKEN_START_ROUTES=false when routing should scale apart from accepting; on
 * PostgreSQL several share the work, each customer's events going to one of them at a time.
 */
import { Client, type Connection } from '@temporalio/client';
import { deadlinedProbe, HealthMonitor, PROBE_TIMEOUT_MS, storeProbe, temporalProbe, type PartHealth } from '../health/probes';
import { installLogger } from '../observability/log';
import type { ProcessMetrics } from '../observability/metrics';
import { openProfileStore } from '../profiles/index';
import type { LiveStore } from '../profiles/store';
import type { Config } from '../worker/config';
import { connectClient } from '../worker/connection';
import { quietHoursWindow } from '../worker/deps';
import { RoutingLoop } from './loop';
import { JourneyRouter } from './router';

/** The journey router as configured: the task queue, time zone and quiet hours every start uses. */
export function configuredRouter(
  config: Config,
  deps: { store: LiveStore; client: Client; metrics?: ProcessMetrics; temporalHealth?: () => PartHealth | undefined },
): JourneyRouter {
  return new JourneyRouter({
    store: deps.store,
    client: deps.client,
    taskQueue: config.temporal.taskQueue,
    defaultTimezone: config.defaultTimezone,
    quietHours: quietHoursWindow(config),
    metrics: deps.metrics,
    temporalHealth: deps.temporalHealth,
  });
}

/** Runs the router loop until `stopped` resolves, then finishes the sweep in progress and closes. */
export async function runRouter(config: Config, stopped: Promise<unknown>, hooks: { onRunning?: () => void } = {}): Promise<void> {
  const logger = installLogger({ service: 'router', level: config.logLevel ?? 'info' });
  const store = await openProfileStore(config.databaseUrl, config.dataDir);
  let connection: Connection | undefined;
  try {
    connection = await connectClient(config.temporal);
    const client = new Client({ connection, namespace: config.temporal.namespace });
    // Routing fails fast while Temporal is known to be down, instead of waiting out a deadline per customer.
    const temporal = deadlinedProbe(connection, temporalProbe(connection));
    const health = new HealthMonitor({ store: storeProbe(store), temporal: temporal.probe }, { timeoutMs: PROBE_TIMEOUT_MS });
    health.start();
    const router = configuredRouter(config, { store, client, temporalHealth: () => health.report().parts.temporal });
    const loop = new RoutingLoop({ store, router, maxAttempts: config.routeAttempts });
    loop.start();
    logger.info({ temporalAddress: config.temporal.address, taskQueue: config.temporal.taskQueue }, `unbroken router: routing stored events into journeys on ${config.temporal.address}`);
    hooks.onRunning?.();
    // The loop's timers do not hold the process open (a test or `start` stops it when done); here
    // the process lives until it is told to stop.
    const alive = setInterval(() => undefined, 60_000);
    await stopped.finally(() => clearInterval(alive));
    await loop.stop();
    await health.stop();
    await temporal.settled();
  } finally {
    await connection?.close();
    await store.close();
  }
}
