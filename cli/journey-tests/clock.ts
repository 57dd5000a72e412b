/**
 * One time-skipping server shared by many simulations at once. Temporal's test server has one
 * clock for all its workflows, so no run may sleep it on its own: each run says when it next needs
 * to act, and the clock moves only when every run is waiting, to the earliest moment one of them
 * asked for. Only when all runs have sent their last event is the server left to skip freely.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowClient } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SimClock } from '../simulate';

interface Sleeper {
  at: number;
  wake: () => void;
}

/** A clock for concurrent simulations on one time-skipping server. */
export class SharedClock implements SimClock {
  private running = 0;
  private awaitingResults = 0;
  private sleepers: Sleeper[] = [];
  private unlocked = false;
  private pumping = false;
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** Results are awaited without the test client's own unlock: this clock decides when time skips. */
  private readonly plain: WorkflowClient;

  constructor(private readonly env: TestWorkflowEnvironment) {
    this.plain = new WorkflowClient({ connection: env.connection, namespace: env.namespace });
  }

  /** Runs one simulation under this clock; it counts as busy except while it waits on the clock. */
  async run<T>(simulation: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      await this.serial(() => this.lock());
      return await simulation();
    } finally {
      this.running--;
      this.pump();
    }
  }

  until(serverMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.sleepers.push({
        at: serverMs,
        wake: () => (this.failure === undefined ? resolve() : reject(this.failure as Error)),
      });
      this.running--;
      this.pump();
    });
  }

  async result(handle: WorkflowHandle): Promise<unknown> {
    this.running--;
    this.awaitingResults++;
    this.pump();
    try {
      return await this.plain.getHandle(handle.workflowId).result();
    } finally {
      this.awaitingResults--;
      this.running++;
    }
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async lock(): Promise<void> {
    if (!this.unlocked) return;
    await this.env.connection.testService!.lockTimeSkipping({});
    this.unlocked = false;
  }

  private async unlock(): Promise<void> {
    if (this.unlocked) return;
    await this.env.connection.testService!.unlockTimeSkipping({});
    this.unlocked = true;
  }

  private idle(): boolean {
    return this.running === 0 && (this.sleepers.length > 0 || (this.awaitingResults > 0 && !this.unlocked));
  }

  /** Moves the clock while every run waits: to the earliest wake-up, or freely once only results are awaited. */
  private pump(): void {
    if (this.pumping || !this.idle()) return;
    this.pumping = true;
    this.serial(async () => {
      while (this.running === 0 && this.sleepers.length > 0) {
        await this.lock();
        const target = Math.min(...this.sleepers.map((s) => s.at));
        const now = await this.env.currentTimeMs();
        if (target > now) await this.env.sleep(target - now);
        const reached = Math.max(await this.env.currentTimeMs(), target);
        const due = this.sleepers.filter((s) => s.at <= reached);
        this.sleepers = this.sleepers.filter((s) => s.at > reached);
        this.running += due.length;
        for (const s of due) s.wake();
      }
      if (this.running === 0 && this.sleepers.length === 0 && this.awaitingResults > 0) await this.unlock();
    })
      .catch((err: unknown) => {
        // A server that cannot move its clock fails every waiting run rather than hanging them.
        this.failure = err;
        const due = this.sleepers;
        this.sleepers = [];
        this.running += due.length;
        for (const s of due) s.wake();
      })
      .finally(() => {
        this.pumping = false;
        if (this.idle()) this.pump();
      });
  }
}
