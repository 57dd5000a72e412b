/** Runs one worker process until SIGINT/SIGTERM, then drains in-flight work and exits. */
import { smtpMailer } from '../activities/mailer';
import { openProfileStore } from '../profiles/index';
import { loadConfig, type Config } from './config';
import { Client } from '@temporalio/client';
import { configuredRouter } from '../routing/main';
import { connectClient, connectWorker } from './connection';
import { ensureSweepSchedule } from './sweep-schedule';
import { syncJourneySchedules } from './journey-schedules';
import { activityDeps } from './deps';
import { installLogger } from '../observability/log';
import { installRuntime, temporalLevel } from './logging';
import { ProcessMetrics } from '../observability/metrics';
import { serveWorkerEndpoints, temporalMetricsAddress, type MetricsServer } from './metrics-server';
import { createJourneyWorker } from './worker';

/**
 * Starts a worker with the given configuration and resolves when it has shut down. `onRunning` is
 * called once the worker runs and handles SIGINT/SIGTERM itself (draining in-flight work).
 */
export async function runWorker(config: Config = loadConfig(), hooks: { onRunning?: () => void } = {}): Promise<void> {
  const logger = installLogger({ service: 'worker', level: config.logLevel ?? 'info' });
  installRuntime(temporalLevel(config.logLevel ?? 'info'), await temporalMetricsAddress(config.metricsAddress));
  const store = await openProfileStore(config.databaseUrl, config.dataDir);
  const connection = await connectWorker(config.temporal);
  const clientConnection = await connectClient(config.temporal);
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const metrics = new ProcessMetrics();
  metrics.watchRoutingBacklog(() => store.routingBacklog());
  let server: MetricsServer | undefined;
  try {
    const worker = await createJourneyWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      limits: config.workerLimits,
      deps: { ...activityDeps(config, store, smtpMailer(config.smtpUrl)), metrics },
      // The sweep and broadcasts enter customers through the router's own path.
      audience: { store, router: configuredRouter(config, { store, client, metrics }), defaultTimezone: config.defaultTimezone },
    });
    await ensureSweepSchedule(client, config.temporal.taskQueue, config.audienceSweepMs);
    // A deploy or pause made while Temporal was out of reach is caught up here.
    await syncJourneySchedules(client, config.temporal.taskQueue, await store.deployedJourneys());
    if (config.metricsAddress !== undefined) {
      server = await serveWorkerEndpoints(config.metricsAddress, { metrics, store, connection, worker });
      logger.info({ url: server.url }, `unbroken worker: metrics and health on ${server.url} (/metrics, /healthz, /readyz)`);
    }
    const { taskQueue, address, namespace } = config.temporal;
    logger.info({ taskQueue, temporalAddress: address, namespace }, `unbroken worker: task queue "${taskQueue}" on ${address} (namespace ${namespace})`);
    // Worker.run() installs SIGINT/SIGTERM handlers and returns once the worker has drained.
    const running = worker.run();
    hooks.onRunning?.();
    await running;
  } finally {
    await server?.close();
    await connection.close();
    await clientConnection.close();
    await store.close();
  }
}
