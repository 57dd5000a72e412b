/**
 * The router loop: routes accepted events into journeys. The event API stores an event and
 * answers at once (api/ingest.ts); this loop claims the stored, unrouted events customer by
 * customer (each customer's in order, up to a page of customers at a time), routes them and
 * marks them routed. While Temporal is down it keeps them and tries again, so nothing accepted is
 * lost; an event that fails for another reason is retried a few times and then set aside where
 * `unbroken dead-letters` shows it. The process that accepts an event wakes its own loop; every
 * loop also polls, so several processes can share one PostgreSQL store: the store's leases give
 * each customer's events to one loop at a time (`claimUnroutedEvents`).
 */
import type { EventRouter } from '../api/types';
import { redactUrl } from '../core/redact';
import { log } from '../observability/log';
import type { LiveStore, StoredEvent } from '../profiles/store';
import { isUnavailable } from './router';
import { Periodic } from '../worker/periodic';

/** Failed routing attempts after which an event is set aside (UNBROKEN_ROUTE_ATTEMPTS' default). */
export const DEFAULT_ROUTE_ATTEMPTS = 5;
/** How long after a failed attempt the event's customer is tried again. */
export const DEFAULT_ROUTE_RETRY_MS = 30_000;
/** Pause between two sweeps of a loop nobody wakes. */
export const DEFAULT_ROUTING_INTERVAL_MS = 1000;

/**
 * The reason kept with a dead-lettered event: the error's first line, credentials of any URL in
 * it hidden, at most 500 characters. Never a stack, never the event's data.
 */
export function deadReason(err: unknown): string {
  const text = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0];
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, (url) => redactUrl(url)).slice(0, 500);
}

export interface RoutingLoopOptions {
  store: Pick<LiveStore, 'claimUnroutedEvents' | 'markEventRouted' | 'releaseEvent' | 'recordRouteFailure'>;
  router: EventRouter;
  /**
   * Failed attempts after which an event is set aside (default 5). Failures that say Temporal or
   * the store is unavailable (`isUnavailable`) never count: an outage dead-letters nobody.
   */
  maxAttempts?: number;
  /** How long after a counted failure the customer's events are tried again (default 30 s). */
  retryAfterMs?: number;
  /** Events younger than this are left for a later sweep (default 0: every stored event). */
  graceMs?: number;
  /** How long a claimed page is this loop's (default 60 s); longer than routing a page takes. */
  leaseMs?: number;
  /** Pause between sweeps (default 1 s); a process that accepts an event wakes its loop at once (`wake`). */
  intervalMs?: number;
  /** Customers per claimed page (default 20) and events per customer (default 50). */
  customersPerPage?: number;
  eventsPerCustomer?: number;
  /** Where failures go (default: the process's log, at warn). */
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

/** What one sweep did. */
export interface SweepResult {
  routed: number;
  /** Customers whose routing failed because a dependency is unavailable; released for a later sweep, nothing counted. */
  failed: number;
  /** Customers whose next event failed for another reason: the attempt is counted, and they are tried again later. */
  retrying: number;
  /** Events set aside this sweep after their last attempt; the customers' later events went on. */
  deadLettered: number;
}

/** A background loop over `sweep` (worker/periodic.ts); `stop` waits for the sweep in progress. */
export class RoutingLoop {
  private readonly loop: Periodic<SweepResult>;
  /** Until when wakes are ignored, after a sweep that found a dependency unavailable. */
  private quietUntil = 0;
  private readonly intervalMs: number;

  constructor(private readonly opts: RoutingLoopOptions) {
    const intervalMs = (this.intervalMs = opts.intervalMs ?? DEFAULT_ROUTING_INTERVAL_MS);
    this.loop = new Periodic({
      run: () => this.sweepPages(),
      firstDelayMs: intervalMs,
      intervalMs,
      onError: (err) => this.warn('routing stored events failed; trying again later', { error: String(err) }),
    });
  }

  /** Sweeps every `intervalMs` until stopped; the first sweep comes after one interval. */
  start(): void {
    this.loop.start();
  }

  /**
   * Sweeps now, or right after the sweep in progress: an event was just accepted. While a sweep
   * found Temporal or the store unavailable, wakes wait for the next interval instead, so an
   * outage under load costs one claim per interval, not one per accepted event.
   */
  wake(): void {
    if (Date.now() >= this.quietUntil) this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * Claims and routes pages of unrouted events until none is left or a dependency is unavailable
   * (Temporal is likely still down: the next sweep tries again). A customer whose event fails for
   * another reason is held back until `retryAfterMs` while the others go on. Sweeps of one
   * loop never overlap.
   */
  sweep(): Promise<SweepResult> {
    return this.loop.runNow();
  }

  private async sweepPages(): Promise<SweepResult> {
    const result: SweepResult = { routed: 0, failed: 0, retrying: 0, deadLettered: 0 };
    while (!this.loop.stopping && result.failed === 0) {
      const page = await this.opts.store.claimUnroutedEvents({
        // No age filter by default: an event this process stored a moment ago, in the same
        // millisecond, or by a process whose clock runs ahead, is routed now.
        ...(this.opts.graceMs ? { receivedBefore: new Date(Date.now() - this.opts.graceMs).toISOString() } : {}),
        leaseMs: this.opts.leaseMs ?? 60_000,
        customers: this.opts.customersPerPage ?? 20,
        eventsPerCustomer: this.opts.eventsPerCustomer ?? 50,
      });
      if (page.length === 0) break;
      const failures: { event: StoredEvent; error: unknown }[] = [];
      for (const customer of await Promise.all(page.map((events) => this.routeInOrder(events)))) {
        result.routed += customer.routed;
        result.deadLettered += customer.deadLettered;
        if (customer.unavailable) failures.push(customer.unavailable);
        if (customer.retrying) result.retrying += 1;
      }
      result.failed = failures.length;
      // One line per sweep, not per customer: while Temporal is down every customer fails alike.
      if (failures.length > 0) {
        this.quietUntil = Date.now() + this.intervalMs;
        const [{ event, error }] = failures;
        this.warn(`routing stored events failed for ${failures.length} customer(s); they stay stored and are tried again in the next sweep`, {
          messageId: event.messageId,
          customerId: event.customerId,
          error: String(error),
        });
      }
    }
    return result;
  }

  /**
   * Routes one customer's events in order. An unavailable dependency releases the failed event
   * and the rest for a later sweep, uncounted. Any other failure counts an attempt: below the
   * limit the event holds its customer back until its retry time (later events wait behind it,
   * so their order is kept); at the limit it is set aside and the next events go on at once.
   */
  private async routeInOrder(
    events: readonly StoredEvent[],
  ): Promise<{ routed: number; deadLettered: number; unavailable?: { event: StoredEvent; error: unknown }; retrying?: boolean }> {
    let routed = 0;
    let deadLettered = 0;
    const releaseFrom = (i: number) => Promise.all(events.slice(i).map((e) => this.opts.store.releaseEvent(e.messageId).catch(() => undefined)));
    for (const [i, event] of events.entries()) {
      try {
        await this.opts.router.route(event);
        await this.opts.store.markEventRouted(event.messageId);
        routed += 1;
        continue;
      } catch (error) {
        if (isUnavailable(error)) {
          await releaseFrom(i);
          return { routed, deadLettered, unavailable: { event, error } };
        }
        const reason = deadReason(error);
        let outcome: { attempts: number; dead: boolean };
        try {
          outcome = await this.opts.store.recordRouteFailure(event.messageId, {
            reason,
            maxAttempts: this.opts.maxAttempts ?? DEFAULT_ROUTE_ATTEMPTS,
            retryAfterMs: this.opts.retryAfterMs ?? DEFAULT_ROUTE_RETRY_MS,
          });
        } catch (storeError) {
          await releaseFrom(i);
          return { routed, deadLettered, unavailable: { event, error: storeError } };
        }
        const detail = { messageId: event.messageId, customerId: event.customerId, attempts: outcome.attempts, error: reason };
        if (!outcome.dead) {
          this.warn(`routing event ${event.messageId} failed (attempt ${outcome.attempts}); the customer's events are tried again later`, detail);
          await releaseFrom(i + 1);
          return { routed, deadLettered, retrying: true };
        }
        this.warn(`routing event ${event.messageId} failed ${outcome.attempts} times; it is set aside (see \`unbroken dead-letters\`) and the customer's next events go on`, detail);
        deadLettered += 1;
      }
    }
    return { routed, deadLettered };
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    if (this.opts.warn) this.opts.warn(message, detail);
    else log().warn(detail, message);
  }
}
