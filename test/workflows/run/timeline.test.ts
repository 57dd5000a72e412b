/** The timeline without a server: a fake `recordStep` that answers when the test says so. */
import type { JourneyContext, RecordStepInput } from '../../../activities/types';
import { Timeline } from '../../../workflows/run/timeline';

const identity = { workflowId: 'journey:cart:c1', firstExecutionRunId: 'run-1', version: 'v1' };
const context: JourneyContext = {
  workflowId: identity.workflowId,
  journeyId: 'cart',
  version: 'v1',
  customerId: 'c1',
  enteredAt: '2026-11-24T10:00:00.000Z',
  trigger: { event: 'cart_abandoned', properties: {}, timestamp: '2026-11-24T10:00:00.000Z' },
};

/** Records calls and which recorder made them; each write stays in flight until the test settles it. */
function fakeStore() {
  const started: RecordStepInput[] = [];
  const via: ('flow' | 'signals')[] = [];
  const settle: ((err?: Error) => void)[] = [];
  const recorder = (name: 'flow' | 'signals') => (input: RecordStepInput) =>
    new Promise<void>((resolve, reject) => {
      started.push(input);
      via.push(name);
      settle.push((err) => (err ? reject(err) : resolve()));
    });
  return { started, via, settle, recorders: { flow: recorder('flow'), signals: recorder('signals') } };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const at = '2026-11-24T10:00:00.000Z';

describe('Timeline', () => {
  test('the entry and each later entry are recorded once, with the keys runs in flight already use', async () => {
    const store = fakeStore();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    const entered = timeline.entered(at, 'cart_abandoned');
    await flush();
    store.settle[0]();
    await entered;
    const waited = timeline.note({ at, step: 'wait-1', kind: 'waited', duration_ms: 3_600_000 }, { duration_ms: 3_600_000 });
    await flush();
    store.settle[1]();
    await waited;
    expect(store.started).toEqual([
      { idempotencyKey: 'journey:cart:c1/run-1/v1/entry/entered', context, stepId: 'entry', kind: 'entered', at },
      { idempotencyKey: 'journey:cart:c1/run-1/v1/wait-1/waited/2', context, stepId: 'wait-1', kind: 'waited', at, detail: { duration_ms: 3_600_000 } },
    ]);
    expect(timeline.entries).toEqual([
      { at, step: 'entry', kind: 'entered', event: 'cart_abandoned' },
      { at, step: 'wait-1', kind: 'waited', duration_ms: 3_600_000 },
    ]);
  });

  test('signal entries are recorded in timeline order, and the next note waits for them', async () => {
    const store = fakeStore();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    timeline.fromSignal({ at, step: 'wait-1', kind: 'event_received', event: 'cart_viewed' }, { event: 'cart_viewed' });
    timeline.fromSignal({ at, step: 'wait-1', kind: 'profile_updated', source: 'identify', traits: { vip: true } }, { source: 'identify', traits: { vip: true } });
    let noted = false;
    const note = timeline.note({ at, step: 'wait-1', kind: 'converted' }, {}).then(() => (noted = true));
    await flush();
    expect(store.started.map((r) => r.idempotencyKey)).toEqual(['journey:cart:c1/run-1/v1/wait-1/event_received/1']);
    store.settle[0]();
    await flush();
    store.settle[1]();
    await flush();
    expect(noted).toBe(false);
    store.settle[2]();
    await note;
    expect(store.started.map((r) => r.kind)).toEqual(['event_received', 'profile_updated', 'converted']);
    // Signal entries go through the local recorder: no extra activity task per event.
    expect(store.via).toEqual(['signals', 'signals', 'flow']);
    expect(store.started.map((r) => r.idempotencyKey.split('/').pop())).toEqual(['1', '2', '3']);
  });

  test('runs from before signal entries were recorded keep them out of the store, but count them in keys', async () => {
    const store = fakeStore();
    const timeline = new Timeline(store.recorders, context, identity, () => false);
    timeline.fromSignal({ at, step: 'wait-1', kind: 'event_received', event: 'x' }, { event: 'x' });
    const note = timeline.note({ at, step: 'wait-1', kind: 'completed' }, {});
    await flush();
    store.settle[0]();
    await note;
    expect(store.started.map((r) => r.idempotencyKey)).toEqual(['journey:cart:c1/run-1/v1/wait-1/completed/2']);
    expect(timeline.entries).toHaveLength(2);
  });

  test('a failed record fails its own note, not the ones after it', async () => {
    const store = fakeStore();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    const first = timeline.note({ at, step: 's', kind: 'sent' }, {});
    const second = timeline.note({ at, step: 's', kind: 'completed' }, {});
    await flush();
    store.settle[0](new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await flush();
    store.settle[1]();
    await expect(second).resolves.toBeUndefined();
  });
});

describe('Timeline, batched (runs started since FLOW_RECORDS_BATCHED)', () => {
  /** A fake `recordSteps` that keeps each batch it is given. */
  function batches(ride = false) {
    const written: RecordStepInput[][] = [];
    return { written, recorders: { batch: async ({ records }: { records: RecordStepInput[] }) => void written.push(records), ride } };
  }

  test('the flow keeps its records until the run waits or ends, then writes them in one batch, in order, with the same keys', async () => {
    const store = batches();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    await timeline.entered(at, 'cart_abandoned');
    await timeline.note({ at, step: 'first-reminder', kind: 'sent', channel: 'email' }, { channel: 'email' });
    expect(store.written).toEqual([]);
    await timeline.flush();
    await timeline.note({ at, step: 'wait-1', kind: 'waited' }, {});
    await timeline.note({ at, step: 'wait-1', kind: 'completed' }, {});
    await timeline.flush();
    await timeline.flush();
    expect(store.written.map((batch) => batch.map((r) => r.idempotencyKey))).toEqual([
      ['journey:cart:c1/run-1/v1/entry/entered', 'journey:cart:c1/run-1/v1/first-reminder/sent/2'],
      ['journey:cart:c1/run-1/v1/wait-1/waited/3', 'journey:cart:c1/run-1/v1/wait-1/completed/4'],
    ]);
  });

  test("a signal's entry goes out with the flow's kept records before it, never ahead of them", async () => {
    const store = batches();
    const timeline = new Timeline(store.recorders, context, identity, () => false);
    await timeline.entered(at, 'cart_abandoned');
    timeline.fromSignal({ at, step: 'entry', kind: 'event_received', event: 'cart_viewed' }, { event: 'cart_viewed' });
    await flush();
    await timeline.flush();
    expect(store.written.map((batch) => batch.map((r) => r.kind))).toEqual([['entered', 'event_received']]);
  });
});

describe('Timeline, riding (runs started since RECORDS_RIDE_ON_ACTIVITIES)', () => {
  function riding() {
    const written: RecordStepInput[][] = [];
    return { written, recorders: { batch: async ({ records }: { records: RecordStepInput[] }) => void written.push(records), ride: true } };
  }

  test('a work activity carries the kept records and the key of its outcome; the wait after it finds nothing to write', async () => {
    const store = riding();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    await timeline.entered(at, 'cart_abandoned');
    const carried = timeline.carry('first-reminder');
    expect(carried.records?.map((r) => r.idempotencyKey)).toEqual(['journey:cart:c1/run-1/v1/entry/entered']);
    // The activity's input holds the run's context; a carried record does not repeat it.
    expect(carried.records?.[0]).not.toHaveProperty('context');
    expect(carried.outcome).toEqual({ step: 'first-reminder' });
    await timeline.stored({ at, step: 'first-reminder', kind: 'sent' });
    await timeline.flush();
    expect(store.written).toEqual([]);
    expect(timeline.entries.map((e) => e.kind)).toEqual(['entered', 'sent']);
    // Nothing kept: the next activity carries only its outcome's key.
    expect(timeline.carry('second').records).toBeUndefined();
  });

  test('records handed to an activity that failed are written with the next batch, ahead of later ones', async () => {
    const store = riding();
    const timeline = new Timeline(store.recorders, context, identity, () => true);
    await timeline.entered(at, 'cart_abandoned');
    const carried = timeline.carry('first-reminder');
    timeline.putBack(carried);
    await timeline.note({ at, step: 'first-reminder', kind: 'skipped' }, { reason: 'delivery_failed' });
    await timeline.flush();
    expect(store.written.map((batch) => batch.map((r) => r.kind))).toEqual([['entered', 'skipped']]);
    expect(store.written[0][0].context).toBe(context);
  });

  test('batched runs that do not ride carry nothing and note outcomes themselves', async () => {
    const timeline = new Timeline({ batch: async () => undefined, ride: false }, context, identity, () => true);
    await timeline.entered(at, 'cart_abandoned');
    expect(timeline.carry('first-reminder')).toEqual({});
  });
});
