/**
 * The one timeline of a run: what the state query shows and what `unbroken status` reads from the
 * store are the same entries, each recorded once, in timeline order.
 */
import { log } from '@temporalio/workflow';
import type { JourneyContext, RecordStepInput, RidingRecords } from '../../activities/types';
import type { TimelineEntry } from '../definitions';
import { enteredRecordKey, timelineRecordKey, type RunIdentity } from '../pure/keys';

type RecordStep = (input: RecordStepInput) => Promise<void>;
type RecordSteps = (input: { records: RecordStepInput[] }) => Promise<void>;

/**
 * How records reach the store. Runs started before FLOW_RECORDS_BATCHED (patches.ts): the
 * journey's own flow through the `recordStep` activity, each entry awaited, and entries from
 * signals through the same activity run locally (it rides on the signal's workflow task). Runs
 * started since: `batch`, a local `recordSteps`, writes the flow's entries together whenever the
 * run is about to wait (`flush`), and a signal's entry with them.
 */
export type TimelineRecorders = { flow: RecordStep; signals: RecordStep } | { batch: RecordSteps; ride: boolean };

/**
 * `each`: every record written on its own (the oldest runs). `batched`: in local batches when the
 * run waits (FLOW_RECORDS_BATCHED). `riding`: batched, and a send or profile update stores its own
 * outcome record with the kept ones before it (RECORDS_RIDE_ON_ACTIVITIES), so most waits find
 * nothing left to write.
 */
export type RecordsMode = 'each' | 'batched' | 'riding';

/** Appends timeline entries and writes each to the store through `recordStep`. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  /** Settles when every record asked for so far is written (or has failed). */
  private written: Promise<void> = Promise.resolve();
  /** Batched runs: the flow's records not written yet, in timeline order. */
  private pending: RecordStepInput[] = [];

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
    await this.keep({ idempotencyKey: enteredRecordKey(this.identity), context: this.context, stepId: 'entry', kind: 'entered', at });
  }

  /**
   * An entry of the journey's own flow. Batched: kept until the next `flush`. Otherwise resolves
   * once it (and every earlier one) is stored.
   */
  async note(entry: TimelineEntry, detail: Record<string, unknown>): Promise<void> {
    await this.keep(this.append(entry, detail));
  }

  /** A flow record: kept for the next batch, or written now after every earlier one. */
  private async keep(record: RecordStepInput): Promise<void> {
    const recorders = this.recorders;
    if ('batch' in recorders) this.pending.push(record);
    else await this.inOrder(() => recorders.flow(record));
  }

  /**
   * Writes the flow's records kept so far, in one local activity; the run calls it before it
   * waits (a timer, an event) and when it ends, so the store is behind the run only while the
   * run is busy within its steps. No-op for runs that write each record at once.
   */
  async flush(): Promise<void> {
    const recorders = this.recorders;
    if (!('batch' in recorders) || this.pending.length === 0) return;
    const records = this.pending.splice(0);
    await this.inOrder(() => recorders.batch({ records }));
  }

  /**
   * Riding runs: hands the kept flow records to the work activity about to do `stepId`'s work,
   * and asks it to store its outcome's record. Other runs: nothing; they note the outcome.
   */
  carry(stepId: string): RidingRecords {
    const recorders = this.recorders;
    if (!('batch' in recorders) || !recorders.ride) return {};
    // The activity's input has the run's context already; each record would repeat it.
    const records = this.pending.splice(0).map(({ context: _context, ...kept }) => kept);
    return { ...(records.length > 0 ? { records } : {}), outcome: { step: stepId } };
  }

  /**
   * Records `carry` handed to an activity that then failed: kept again, before any kept since, for
   * the next write. Whatever the activity stored already is not stored twice (same keys).
   */
  putBack(riding: RidingRecords): void {
    if (riding.records) this.pending.unshift(...riding.records.map((kept) => ({ ...kept, context: this.context })));
  }

  /** An entry whose record an activity stored (its outcome, see `carry`): shown, not written. */
  async stored(entry: TimelineEntry): Promise<void> {
    this.entries.push(entry);
  }

  /**
   * An entry a signal brought (an event, an identify). Signal handlers cannot wait, so the record
   * joins the queue; the next note waits for it. Its failure is logged rather than ending the
   * journey: the customer's path does not depend on it.
   */
  fromSignal(entry: TimelineEntry, detail: Record<string, unknown>): void {
    const record = this.append(entry, detail);
    const recorders = this.recorders;
    let write: () => Promise<void>;
    if ('batch' in recorders) {
      // With the flow's kept records before it, so the store receives them in timeline order.
      const records = [...this.pending.splice(0), record];
      write = () => recorders.batch({ records });
    } else {
      if (!this.recordsSignals()) return;
      write = () => recorders.signals(record);
    }
    this.inOrder(write).catch((err: unknown) => {
      log.warn('a signal timeline entry could not be stored', { step: entry.step, kind: entry.kind, error: String(err) });
    });
  }

  /** Adds the entry now (its key counts its position) and returns its record. */
  private append(entry: TimelineEntry, detail: Record<string, unknown>): RecordStepInput {
    this.entries.push(entry);
    return {
      idempotencyKey: timelineRecordKey(this.identity, entry.step, entry.kind, this.entries.length),
      context: this.context,
      stepId: entry.step,
      kind: entry.kind,
      at: entry.at,
      detail,
    };
  }

  /** Runs the write after every earlier one, whatever became of them. */
  private inOrder(write: () => Promise<void>): Promise<void> {
    const done = this.written.then(write);
    this.written = done.catch(() => undefined);
    return done;
  }
}
