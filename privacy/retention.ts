/**
 * Retention (UNBROKEN_RETENTION_DAYS): a background loop that deletes routed events and erases the
 * rendered content of messages older than the configured number of days, in batches, so one sweep
 * never holds the database for long. Every process that runs the re-driver runs one; the deletes
 * are idempotent, so several processes may sweep at once.
 */
import { log } from '../observability/log';
import type { PrivacyStore } from '../profiles/store';

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

/** A background loop over `sweep`; `stop` waits for the sweep in progress. */
export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionResult>;
  private stopped = false;

  constructor(private readonly opts: RetentionOptions) {
    if (!Number.isSafeInteger(opts.days) || opts.days < 1) throw new Error(`retention: days must be a whole number of at least 1, got ${opts.days}`);
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.opts.firstDelayMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Deletes batch after batch until a batch comes back short (nothing older is left) or the sweeper stops. */
  sweep(): Promise<RetentionResult> {
    this.running ??= this.sweepBatches().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepBatches(): Promise<RetentionResult> {
    const limit = this.opts.batch ?? 500;
    const before = new Date((this.opts.now?.() ?? new Date()).getTime() - this.opts.days * DAY_MS).toISOString();
    const total: RetentionResult = { events: 0, messages: 0 };
    while (!this.stopped) {
      const batch = await this.opts.store.applyRetention({ before, limit });
      total.events += batch.events;
      total.messages += batch.messages;
      if (batch.events < limit && batch.messages < limit) break;
    }
    return total;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err: unknown) => this.warn('retention sweep failed; trying again at the next interval', { error: String(err) }))
        .finally(() => this.schedule(this.opts.intervalMs ?? 60 * 60 * 1000));
    }, delayMs);
    // The loop alone never keeps a process alive.
    this.timer.unref();
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    if (this.opts.warn) this.opts.warn(message, detail);
    else log().warn(detail, message);
  }
}
