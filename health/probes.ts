/**
 * Health of the parts a process depends on (store, Temporal, SMTP, worker), probed in the
 * background and cached, so `/readyz` answers at once with the last known state instead of
 * waiting on a dependency that may hang. One module for the API's and the worker's probes and
 * for `unbroken doctor`, so all three judge a part the same way.
 */
import type { Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import { redactUrl } from '../core/redact';

/** A probe resolves when its part is usable and throws (with a short reason) when it is not. */
export type Probe = () => Promise<void>;

/** The last known state of one part. */
export interface PartHealth {
  state: 'ok' | 'down' | 'unknown';
  /** Why it is down (or `not probed yet`); absent when ok. */
  detail?: string;
  /** When the state was last decided (ISO), absent before the first probe ends. */
  checkedAt?: string;
}

/** What `/readyz` reports: ready only when every part is ok. */
export interface HealthReport {
  ok: boolean;
  parts: Record<string, PartHealth>;
}

/** Runs `probe` with a deadline, so a part that never answers counts as down. */
export async function runProbe(probe: Probe, timeoutMs: number): Promise<PartHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { state: 'ok', checkedAt: new Date().toISOString() };
  } catch (err) {
    return { state: 'down', detail: reasonOf(err), checkedAt: new Date().toISOString() };
  } finally {
    clearTimeout(timer);
  }
}

export interface MonitorOptions {
  /** How often every part is probed again (default 5 s). */
  intervalMs?: number;
  /** How long one probe may take before its part counts as down (default 3 s). */
  timeoutMs?: number;
  /**
   * Parts that are reported but do not decide readiness: the API still accepts events while the
   * mail relay is down (sends wait and retry), and taking every node out of the load balancer
   * for it would turn a mail outage into lost events.
   */
  advisory?: readonly string[];
}

/**
 * Probes every part now and then every `intervalMs`, keeping the last result of each. `report()`
 * never waits on a probe: it answers from the cache.
 */
export class HealthMonitor {
  private readonly states = new Map<string, PartHealth>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;

  constructor(
    private readonly probes: Record<string, Probe>,
    private readonly opts: MonitorOptions = {},
  ) {
    for (const name of Object.keys(probes)) this.states.set(name, { state: 'unknown', detail: 'not probed yet' });
  }

  /** Starts probing in the background; the first round starts at once. */
  start(): void {
    if (this.timer) return;
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.opts.intervalMs ?? 5000);
    // Health checking alone never keeps a process alive.
    this.timer.unref();
  }

  /** Stops probing and waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round over every part; rounds never overlap, a slow one is simply awaited. */
  probeAll(): Promise<void> {
    this.round ??= (async () => {
      const timeoutMs = this.opts.timeoutMs ?? 3000;
      await Promise.all(
        Object.entries(this.probes).map(async ([name, probe]) => {
          this.states.set(name, await runProbe(probe, timeoutMs));
        }),
      );
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /** The cached state of every part; `ok` when every part that decides readiness is ok. */
  report(): HealthReport {
    const parts = Object.fromEntries(this.states);
    const advisory = new Set(this.opts.advisory ?? []);
    const deciding = Object.entries(parts).filter(([name]) => !advisory.has(name));
    return { ok: deciding.every(([, p]) => p.state === 'ok'), parts };
  }
}

/**
 * A probe that asks its part at most once per `minIntervalMs` and otherwise repeats the last
 * answer: for parts where asking costs the other side something (an SMTP login every few
 * seconds from every node looks like abuse to a relay).
 */
export function throttled(probe: Probe, minIntervalMs: number, now: () => number = Date.now): Probe {
  let last: { at: number; error?: unknown } | undefined;
  return async () => {
    if (last === undefined || now() - last.at >= minIntervalMs) {
      try {
        await probe();
        last = { at: now() };
      } catch (err) {
        last = { at: now(), error: err };
      }
    }
    if (last.error !== undefined) throw last.error;
  };
}

/** The store answers a read. */
export function storeProbe(store: { getProfile(id: string): Promise<unknown> }): Probe {
  return async () => {
    await store.getProfile('readiness-probe');
  };
}

/** The Temporal frontend answers. */
export function temporalProbe(connection: Pick<Connection, 'workflowService'>): Probe {
  return async () => {
    await connection.workflowService.getSystemInfo({});
  };
}

/** How long one health probe of a process's monitor may take before its part counts as down. */
export const PROBE_TIMEOUT_MS = 3000;

/**
 * `probe` (Temporal's) under a deadline of `timeoutMs`: a probe of a Temporal that is down goes on
 * retrying after its round gave up on it, and the deadline ends those retries. `settled` waits
 * for the call in flight, so a process stops its monitor, then that, then closes the connection.
 */
export function deadlinedProbe(connection: Pick<Connection, 'withDeadline'>, probe: Probe, timeoutMs: number = PROBE_TIMEOUT_MS): { probe: Probe; settled(): Promise<void> } {
  let inFlight: Promise<unknown> = Promise.resolve();
  return {
    probe: () => {
      const call = connection.withDeadline(Date.now() + timeoutMs, probe);
      inFlight = call.catch(() => undefined);
      return call;
    },
    settled: async () => {
      await inFlight;
    },
  };
}

/**
 * A part run by this process under a supervisor (the embedded Temporal server): down with the
 * supervisor's own words while it restarts the part or has given up, else as `probe` finds it.
 */
export function supervisedProbe(probe: Probe, supervisor: () => { state: string; detail?: string }): Probe {
  return async () => {
    const { state, detail } = supervisor();
    if (state !== 'running') throw new Error(detail ?? `the part is ${state}`);
    await probe();
  };
}

/** The SMTP server greets and answers EHLO (and accepts the login, when the URL has one); nothing is sent. */
export function smtpProbe(url: string): Probe {
  return async () => {
    const transport = nodemailer.createTransport({ url, pool: false, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 5000 } as nodemailer.TransportOptions);
    try {
      await transport.verify();
    } catch (err) {
      throw new Error(`SMTP ${redactUrl(url)}: ${reasonOf(err)}`);
    } finally {
      transport.close();
    }
  };
}

/** How recently a worker must have polled the task queue to count as present. */
export const WORKER_POLL_WINDOW_MS = 2 * 60_000;

/**
 * Some worker polls the journeys' task queue (workflow and activity tasks): without one, events
 * are accepted and journeys entered, but nothing runs. Asked of Temporal, so it holds for workers
 * in other processes too.
 */
export function workerProbe(connection: Pick<Connection, 'workflowService'>, namespace: string, taskQueue: string, now: () => number = Date.now): Probe {
  return async () => {
    for (const [type, label] of [
      [1, 'workflow'],
      [2, 'activity'],
    ] as const) {
      const answer = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: type });
      const recent = (answer.pollers ?? []).some((p) => {
        const seconds = Number(p.lastAccessTime?.seconds ?? 0);
        return now() - seconds * 1000 < WORKER_POLL_WINDOW_MS;
      });
      if (!recent) throw new Error(`no worker has polled ${label} tasks on task queue "${taskQueue}" in the last ${WORKER_POLL_WINDOW_MS / 60_000} minutes`);
    }
  };
}

/** A one-line reason, never a stack. */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 300);
}
