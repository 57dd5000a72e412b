/**
 * Retention (UNBROKEN_RETENTION_DAYS): a background loop that deletes routed events and erases the
 * rendered content of messages older than the configured number of days, in batches, so one sweep
 * never holds the database for long. Every `unbroken start` runs one; the deletes
 * are idempotent, so several processes may sweep at once.
 */
import { log } from '../observability/log';
import type { PrivacyStore } from '../profiles/store';
import { Periodic } from '../worker/periodic';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionOptions {
  store: Pick<PrivacyStore, 'applyRetention'>;
  /** Rows older than this many days go. */
  days: number;
  /** Rows of each kind per batch (default 500). */
  batch?: number;
  /** Pause between sweeps (default one hour); the first sweep comes after `firstDelayMs` (default one minute). */
  intervalMs?: number;
  firstDelayMs?: number;
  now?: () => Date;
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

/** What one sweep removed. */
export interface RetentionResult {
  events: number;
  messages: number;
}

/** A background loop over `sweep` (worker/periodic.ts); `stop` waits for the sweep in progress. */
export class RetentionSweeper {
  private readonly loop: Periodic<RetentionResult>;

  constructor(private readonly opts: RetentionOptions) {
    if (!Number.isSafeInteger(opts.days) || opts.days < 1) throw new Error(`retention: days must be a whole number of at least 1, got ${opts.days}`);
    this.loop = new Periodic({
      run: () => this.sweepBatches(),
      firstDelayMs: opts.firstDelayMs ?? 60_000,
      intervalMs: opts.intervalMs ?? 60 * 60 * 1000,
      onError: (err) => this.warn('retention sweep failed; trying again at the next interval', { error: String(err) }),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Deletes batch after batch until a batch comes back short (nothing older is left) or the sweeper stops. */
  sweep(): Promise<RetentionResult> {
    return this.loop.runNow();
  }

  private async sweepBatches(): Promise<RetentionResult> {
    const limit = this.opts.batch ?? 500;
    const before = new Date((this.opts.now?.() ?? new Date()).getTime() - this.opts.days * DAY_MS).toISOString();
    const total: RetentionResult = { events: 0, messages: 0 };
    while (!this.loop.stopping) {
      const batch = await this.opts.store.applyRetention({ before, limit });
      total.events += batch.events;
      total.messages += batch.messages;
      if (batch.events < limit && batch.messages < limit) break;
    }
    return total;
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    if (this.opts.warn) this.opts.warn(message, detail);
    else log().warn(detail, message);
  }
}
