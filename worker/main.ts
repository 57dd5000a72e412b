/** Runs one worker process until SIGINT/SIGTERM, then drains in-flight work and exits. */
import { smtpMailer } from '../activities/mailer';
import { openProfileStore } from '../profiles/index';
import { loadConfig, type Config } from './config';
import { connectWorker } from './connection';
import { activityDeps } from './deps';
import { installRuntime } from './logging';
import { createJourneyWorker } from './worker';

/** Starts a worker with the given configuration and resolves when it has shut down. */
export async function runWorker(config: Config = loadConfig()): Promise<void> {
  installRuntime('INFO', config.metricsAddress);
  const store = await openProfileStore(config.databaseUrl, config.dataDir);
  const connection = await connectWorker(config.temporal);
  try {
    const worker = await createJourneyWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps: activityDeps(config, store, smtpMailer(config.smtpUrl)),
    });
    process.stderr.write(
      `unbroken worker: task queue "${config.temporal.taskQueue}" on ${config.temporal.address} (namespace ${config.temporal.namespace})\n`,
    );
    // Worker.run() installs SIGINT/SIGTERM handlers and returns once the worker has drained.
    await worker.run();
  } finally {
    await connection.close();
    await store.close();
  }
}
