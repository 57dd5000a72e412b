/**
 * The one timeline of a run: what the state query shows and what `unbroken status` reads from the
 * store are the same entries, each recorded once, in timeline order.
 */
import { log } from '@temporalio/workflow';
import type { JourneyContext, RecordStepInput } from '../../activities/types';
import type { TimelineEntry } from '../definitions';
import { enteredRecordKey, timelineRecordKey, type RunIdentity } from '../pure/keys';

type RecordStep = (input: RecordStepInput) => Promise<void>;

/**
 * How records reach the store: the journey's own flow through the `recordStep` activity, entries
 * from signals through the same activity run locally (it rides on the signal's workflow task).
 */
export interface TimelineRecorders {
  flow: RecordStep;
  signals: RecordStep;
}

/** Appends timeline entries and writes each to the store through `recordStep`. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  /** Settles when every record asked for so far is written (or has failed). */
  private written: Promise<void> = Promise.resolve();

  /**
   * `recordsSignals` is asked at each signal entry (it wraps `patched()`): it answers false while
   * a run replays signals that arrived before signal entries were recorded, since recording them
   * would add commands their histories do not have. Asking at the signal, not at the start, keeps
   * the patch marker out of every run that never receives one.
   */
  constructor(
    private readonly recorders: TimelineRecorders,
    private readonly context: JourneyContext,
    private readonly identity: RunIdentity,
    private readonly recordsSignals: () => boolean,
  ) {}

  /** The first entry: the customer entered with the trigger event. */
  async entered(at: string, event: string): Promise<void> {
    this.entries.push({ at, step: 'entry', kind: 'entered', event });
    const record = { idempotencyKey: enteredRecordKey(this.identity), context: this.context, stepId: 'entry', kind: 'entered', at };
    await this.inOrder(() => this.recorders.flow(record));
  }

  /** An entry of the journey's own flow; resolves once it (and every earlier one) is stored. */
  async note(entry: TimelineEntry, detail: Record<string, unknown>): Promise<void> {
    await this.inOrder(this.append(entry, detail, this.recorders.flow));
  }

  /**
   * An entry a signal brought (an event, an identify). Signal handlers cannot wait, so the record
   * joins the queue; the next note waits for it. Its failure is logged rather than ending the
   * journey: the customer's path does not depend on it.
   */
  fromSignal(entry: TimelineEntry, detail: Record<string, unknown>): void {
    const write = this.append(entry, detail, this.recorders.signals);
    if (!this.recordsSignals()) return;
    this.inOrder(write).catch((err: unknown) => {
      log.warn('a signal timeline entry could not be stored', { step: entry.step, kind: entry.kind, error: String(err) });
    });
  }

  /** Adds the entry now (its key counts its position) and returns the write that stores it. */
  private append(entry: TimelineEntry, detail: Record<string, unknown>, recordStep: RecordStep): () => Promise<void> {
    this.entries.push(entry);
    const record: RecordStepInput = {
      idempotencyKey: timelineRecordKey(this.identity, entry.step, entry.kind, this.entries.length),
      context: this.context,
      stepId: entry.step,
      kind: entry.kind,
      at: entry.at,
      detail,
    };
    return () => recordStep(record);
  }

  /** Runs the write after every earlier one, whatever became of them. */
  private inOrder(write: () => Promise<void>): Promise<void> {
    const done = this.written.then(write);
    this.written = done.catch(() => undefined);
    return done;
  }
}
