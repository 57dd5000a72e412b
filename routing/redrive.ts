/**
 * Routes stored events whose routing never finished: a request that got 503 because Temporal was
 * down, a process that died mid-way. Without it such an event is routed only if the client
 * retries, and a customer may look "inside" a journey whose workflow never started (routing that
 * event again starts it: see the router's `enter`). Every process that routes events runs one;
 * the store's leases let them share the work, one router per customer at a time, in order.
 */
import type { EventRouter } from '../api/types';
import { log } from '../observability/log';
import type { LiveStore, StoredEvent } from '../profiles/store';
import { ROUTING_LEASE_MS } from '../profiles/store';

export interface RedriveOptions {
  store: Pick<LiveStore, 'claimUnroutedEvents' | 'markEventRouted' | 'releaseEvent'>;
  router: EventRouter;
  /** Events younger than this are left to their first delivery and the client's retries (default: the routing lease, 30 s). */
  graceMs?: number;
  /** How long a claimed page is this re-driver's (default 60 s); longer than routing a page takes. */
  leaseMs?: number;
  /** Pause between sweeps (default 5 s). */
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
  /** Customers whose routing failed this time; their events are released for a later sweep. */
  failed: number;
}

/** A background loop over `sweep`; `stop` waits for the sweep in progress. */
export class Redriver {
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepResult>;
  private stopped = false;

  constructor(private readonly opts: RedriveOptions) {}

  /** Sweeps every `intervalMs` until stopped; the first sweep comes after one interval. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * Claims and routes pages of unrouted events until none is left or a routing fails (Temporal
   * is likely still down: the next sweep tries again). Sweeps of one re-driver never overlap.
   */
  sweep(): Promise<SweepResult> {
    this.running ??= this.sweepPages().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err: unknown) => this.warn('re-driving stored events failed; trying again later', { error: String(err) }))
        .finally(() => this.schedule());
    }, this.opts.intervalMs ?? 5000);
    // The loop alone never keeps a process alive.
    this.timer.unref();
  }

  private async sweepPages(): Promise<SweepResult> {
    const result: SweepResult = { routed: 0, failed: 0 };
    while (!this.stopped && result.failed === 0) {
      const page = await this.opts.store.claimUnroutedEvents({
        receivedBefore: new Date(Date.now() - (this.opts.graceMs ?? ROUTING_LEASE_MS)).toISOString(),
        leaseMs: this.opts.leaseMs ?? 60_000,
        customers: this.opts.customersPerPage ?? 20,
        eventsPerCustomer: this.opts.eventsPerCustomer ?? 50,
      });
      if (page.length === 0) break;
      const failures: { event: StoredEvent; error: unknown }[] = [];
      for (const customer of await Promise.all(page.map((events) => this.routeInOrder(events)))) {
        result.routed += customer.routed;
        if (customer.failure) failures.push(customer.failure);
      }
      result.failed = failures.length;
      // One line per sweep, not per customer: while Temporal is down every customer fails alike.
      if (failures.length > 0) {
        const [{ event, error }] = failures;
        this.warn(`re-driving stored events failed for ${failures.length} customer(s); they stay stored and are tried again in the next sweep`, {
          messageId: event.messageId,
          customerId: event.customerId,
          error: String(error),
        });
      }
    }
    return result;
  }

  /** Routes one customer's events in order; at the first failure releases that event and the rest. */
  private async routeInOrder(events: readonly StoredEvent[]): Promise<{ routed: number; failure?: { event: StoredEvent; error: unknown } }> {
    for (const [i, event] of events.entries()) {
      try {
        await this.opts.router.route(event);
        await this.opts.store.markEventRouted(event.messageId);
      } catch (error) {
        // Later events of the customer wait behind this one, so their order is kept.
        await Promise.all(events.slice(i).map((e) => this.opts.store.releaseEvent(e.messageId).catch(() => undefined)));
        return { routed: i, failure: { event, error } };
      }
    }
    return { routed: events.length };
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    if (this.opts.warn) this.opts.warn(message, detail);
    else log().warn(detail, message);
  }
}
