import { Periodic } from '../../worker/periodic';

/** A run the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('runNow joins the run in progress instead of starting a second one', async () => {
  const g = gate();
  let runs = 0;
  const loop = new Periodic({ run: async () => (runs++, await g.promise, runs), firstDelayMs: 60_000, intervalMs: 60_000, onError: () => undefined });
  const first = loop.runNow();
  const second = loop.runNow();
  g.open();
  expect(await first).toBe(1);
  expect(await second).toBe(1);
  expect(await loop.runNow()).toBe(2);
});

test('keeps running after a failed run, and stop waits for the run in progress', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  let inProgress: ReturnType<typeof gate> | undefined;
  const loop = new Periodic({
    run: async () => {
      runs++;
      if (runs === 1) throw new Error('store down');
      inProgress = gate();
      await inProgress.promise;
    },
    firstDelayMs: 1,
    intervalMs: 1,
    onError: (e) => errors.push(e),
  });
  loop.start();
  while (inProgress === undefined) await new Promise((r) => setTimeout(r, 5));
  expect(errors).toEqual([new Error('store down')]);
  let stopped = false;
  const stopping = loop.stop().then(() => (stopped = true));
  expect(loop.stopping).toBe(true);
  await new Promise((r) => setTimeout(r, 20));
  expect(stopped).toBe(false);
  inProgress.open();
  await stopping;
  const after = runs;
  await new Promise((r) => setTimeout(r, 20));
  expect(runs).toBe(after);
});

test('a wake runs at once, and wakes during a run make exactly one more run after it', async () => {
  const gates = [gate(), gate()];
  let runs = 0;
  const loop = new Periodic({ run: async () => (await gates[runs++]?.promise, runs), firstDelayMs: 60_000, intervalMs: 60_000, onError: () => undefined });
  loop.wake();
  expect(runs).toBe(1);
  // Two wakes while the first run is in progress: it may have passed over what they announce.
  loop.wake();
  loop.wake();
  gates[0].open();
  await new Promise((r) => setTimeout(r, 10));
  expect(runs).toBe(2);
  gates[1].open();
  await new Promise((r) => setTimeout(r, 10));
  expect(runs).toBe(2);
});

test('wakes after stop do nothing', async () => {
  let runs = 0;
  const loop = new Periodic({ run: async () => void runs++, firstDelayMs: 60_000, intervalMs: 60_000, onError: () => undefined });
  await loop.stop();
  loop.wake();
  await new Promise((r) => setTimeout(r, 10));
  expect(runs).toBe(0);
});
