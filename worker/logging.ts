/** Process-wide Temporal runtime logging: everything to stderr, so stdout stays machine-readable. */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/**
 * Installs the Temporal runtime with SDK and core logs at `level` and above, written to stderr.
 * Must run before the first worker or connection is created; `metricsAddress` exposes Prometheus
 * metrics at http://<address>/metrics.
 */
export function installRuntime(level: LogLevel, metricsAddress?: string): void {
  const logger = new DefaultLogger(level, (entry) => {
    const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
    process.stderr.write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`);
  });
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
}
