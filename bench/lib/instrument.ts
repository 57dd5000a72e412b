/**
 * Where an ingested event's time goes, without a profiler: wraps the live system's store methods
 * and the router's Temporal client calls with timers. The wrappers add microseconds to calls that
 * take milliseconds, so the system's behaviour is unchanged.
 */
import type { Client } from '@temporalio/client';
import type { RunningSystem } from '../../cli/start';

export interface StageStats {
  calls: number;
  totalMs: number;
}

export interface Instrumentation {
  reset(): void;
  /** Calls and total wall time per stage since the last reset. */
  snapshot(): Record<string, StageStats>;
}

const STORE_METHODS = ['resolveCustomer', 'recordEvent', 'markEventRouted', 'activeEnrolments', 'getProfile', 'tryEnrol', 'deployedJourneys', 'identify'] as const;

export function instrument(system: RunningSystem): Instrumentation {
  let stats: Record<string, StageStats> = {};
  const timed = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await fn(...args);
      } finally {
        const s = (stats[name] ??= { calls: 0, totalMs: 0 });
        s.calls += 1;
        s.totalMs += performance.now() - t0;
      }
    };
  const store = system.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of STORE_METHODS) store[method] = timed(`store.${method}`, store[method].bind(system.store));
  // The router keeps its client private; the benchmark reaches in to time the Temporal calls.
  const client = (system.router as unknown as { opts: { client: Client } }).opts.client;
  const workflow = client.workflow as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of ['start', 'signalWithStart']) workflow[method] = timed(`temporal.${method}`, workflow[method].bind(client.workflow));
  const route = system.router.route.bind(system.router);
  system.router.route = timed('router.route (total)', route);
  return {
    reset: () => {
      stats = {};
    },
    snapshot: () => stats,
  };
}
