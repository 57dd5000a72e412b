/**
 * A background loop of a process (the router loop, the retention sweep): runs a task now and then,
 * never two runs at once, never keeping the process alive by itself, and `stop` waits for the run
 * in progress so a shutdown does not cut a transaction in half.
 */
export interface PeriodicOptions<T> {
  /** One run; it may look at `stopping` to end early between batches. */
  run: () => Promise<T>;
  /** Wait before the first run after `start`. */
  firstDelayMs: number;
  /** Wait after each run (whether it failed or not) before the next. */
  intervalMs: number;
  /** A run failed; the loop goes on at the next interval. */
  onError: (error: unknown) => void;
}

export class Periodic<T> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<T>;
  private stopped = false;
  /** A wake came while a run was in progress: run once more after it. */
  private again = false;

  constructor(private readonly opts: PeriodicOptions<T>) {}

  /** True once `stop` was called: a run in progress should finish its batch and return. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.opts.firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs now, or joins the run in progress: runs of one loop never overlap. */
  runNow(): Promise<T> {
    this.running ??= this.opts.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.wake();
      }
    });
    return this.running;
  }

  /**
   * Runs as soon as possible without waiting for the interval: now, or right after the run in
   * progress, which may already have passed over the work that woke it. Wakes during one run
   * make one more run, not one each.
   */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.runNow().catch((error: unknown) => this.opts.onError(error));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runNow()
        .catch((error: unknown) => this.opts.onError(error))
        .finally(() => this.schedule(this.opts.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
