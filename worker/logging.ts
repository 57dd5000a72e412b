/** Process-wide Temporal runtime logging, through the process's structured log on stderr. */
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { log, type LogLevel as ProcessLogLevel } from '../observability/log';

/** The Temporal level matching a LOG_LEVEL (Temporal has no `fatal`). */
export function temporalLevel(level: ProcessLogLevel): LogLevel {
  return level === 'fatal' ? 'ERROR' : (level.toUpperCase() as LogLevel);
}

/**
 * A Temporal logger at `level` writing each entry (worker, activity and workflow logs, core logs
 * forwarded) as a JSON line of the process's logger, with the entry's metadata as fields.
 */
export function temporalLogger(level: LogLevel): DefaultLogger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    // Looked up per entry: the runtime may be installed before the process's logger is.
    const method = entry.level.toLowerCase() as Lowercase<LogLevel>;
    log()[method]({ ...entry.meta, source: 'temporal' }, entry.message);
  });
}

/**
 * Installs the Temporal runtime with SDK and core logs at `level` and above.
 * Must run before the first worker or connection is created; `metricsAddress` exposes Prometheus
 * metrics at http://<address>/metrics.
 */
export function installRuntime(level: LogLevel, metricsAddress?: string): void {
  Runtime.install({
    logger: temporalLogger(level),
    telemetryOptions: {
      logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
}
