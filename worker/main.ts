/** Runs one worker process until SIGINT/SIGTERM, then drains in-flight work and exits. */
import { smtpMailer } from '../activities/mailer';
import { openProfileStore } from '../profiles/index';
import { loadConfig, type Config } from './config';
import { connectWorker } from './connection';
import { activityDeps } from './deps';
import { installLogger } from '../observability/log';
import { installRuntime, temporalLevel } from './logging';
import { createJourneyWorker } from './worker';

/** Starts a worker with the given configuration and resolves when it has shut down. */
export async function runWorker(config: Config = loadConfig()): Promise<void> {
  const logger = installLogger({ service: 'worker', level: config.logLevel ?? 'info' });
  installRuntime(temporalLevel(config.logLevel ?? 'info'), config.metricsAddress);
  const store = await openProfileStore(config.databaseUrl, config.dataDir);
  const connection = await connectWorker(config.temporal);
  try {
    const worker = await createJourneyWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps: activityDeps(config, store, smtpMailer(config.smtpUrl)),
    });
    const { taskQueue, address, namespace } = config.temporal;
    logger.info({ taskQueue, temporalAddress: address, namespace }, `unbroken worker: task queue "${taskQueue}" on ${address} (namespace ${namespace})`);
    // Worker.run() installs SIGINT/SIGTERM handlers and returns once the worker has drained.
    await worker.run();
  } finally {
    await connection.close();
    await store.close();
  }
}
