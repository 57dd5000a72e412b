/**
 * The limit on accepted events waiting to be routed. The API stores first and routes later, so
 * while Temporal is down or slow the backlog grows; past UNBROKEN_ROUTING_BACKLOG_LIMIT events the
 * API answers 503 with `Retry-After` instead of filling the disk, and Segment-compatible clients
 * keep the calls and retry them.
 */

/** The backlog is at its limit: the calls were not stored; retry after `retryAfterSec`. */
export class BacklogFullError extends Error {
  override readonly name = 'BacklogFullError';

  constructor(
    readonly waiting: number,
    readonly limit: number,
    readonly retryAfterSec: number,
  ) {
    super(`${waiting} accepted events wait to be routed (the limit is ${limit}); retry in ${retryAfterSec} s`);
  }
}

export interface BacklogGuardOptions {
  /** Most events that may wait to be routed; a request that would go past it is refused whole. */
  limit: number;
  /** The number of events waiting now (the store's `routingBacklog`). */
  count: () => Promise<number>;
  /** How long a count is trusted, in ms (default 1 s): counting on every request would cost a query each. */
  ttlMs?: number;
  /** What `Retry-After` says, in seconds (default 5). */
  retryAfterSec?: number;
}

/**
 * Admits requests while the backlog has room. The count is read at most once per `ttlMs`, shared
 * by the requests that wait for it; what this process accepts in between is added to it, so a
 * burst cannot run far past the limit on a stale count.
 */
export class BacklogGuard {
  private known = 0;
  /** Events this process accepted since the count was read: the part of `known` that may be stale. */
  private acceptedSinceRead = 0;
  private readAt = -Infinity;
  private reading?: Promise<void>;

  constructor(private readonly opts: BacklogGuardOptions) {}

  /**
   * Throws BacklogFullError unless `incoming` more events fit. Events added since the last read
   * may have been routed meanwhile, so a refusal that counts them reads the count again first;
   * under a sustained overload nothing is accepted, and refusals read no more than once per ttl.
   */
  async admit(incoming: number): Promise<void> {
    if (Date.now() - this.readAt >= (this.opts.ttlMs ?? 1000)) await this.refresh();
    if (this.known + incoming <= this.opts.limit) return;
    if (this.acceptedSinceRead > 0) await this.refresh();
    if (this.known + incoming > this.opts.limit) throw new BacklogFullError(this.known, this.opts.limit, this.opts.retryAfterSec ?? 5);
  }

  /** Counts events this process just stored until the next read. */
  accepted(n: number): void {
    this.known += n;
    this.acceptedSinceRead += n;
  }

  private refresh(): Promise<void> {
    this.reading ??= this.opts
      .count()
      .then((n) => {
        this.known = n;
        this.acceptedSinceRead = 0;
        this.readAt = Date.now();
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
