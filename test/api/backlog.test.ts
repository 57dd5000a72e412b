/** The routing backlog's limit at the door (api/backlog.ts): counts read at most so often, refusals on a fresh count only. */
import { BacklogFullError, BacklogGuard } from '../../api/backlog';

/** A count the test sets, and how often it was read. */
function counter(initial: number): { value: number; reads: number; count: () => Promise<number> } {
  const c = { value: initial, reads: 0, count: async () => (c.reads++, c.value) };
  return c;
}

test('admits while the events fit under the limit, reading the count once per ttl', async () => {
  const c = counter(5);
  const guard = new BacklogGuard({ limit: 10, count: c.count, ttlMs: 60_000 });
  await guard.admit(3);
  guard.accepted(3);
  await guard.admit(2);
  expect(c.reads).toBe(1);
});

test('refuses a request that would pass the limit, whole, with the numbers and when to retry', async () => {
  const guard = new BacklogGuard({ limit: 10, count: counter(9).count, retryAfterSec: 7 });
  await guard.admit(1);
  const refused = await guard.admit(2).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BacklogFullError);
  expect(refused).toMatchObject({ waiting: 9, limit: 10, retryAfterSec: 7 });
});

test('what this process accepted counts until the next read; a refusal counting it reads again first, so a drained backlog admits', async () => {
  const c = counter(0);
  const guard = new BacklogGuard({ limit: 10, count: c.count, ttlMs: 60_000 });
  await guard.admit(8);
  guard.accepted(8);
  // The router drained them meanwhile; the local count alone would refuse.
  await guard.admit(8);
  expect(c.reads).toBe(2);
  // Full on a fresh read: refused, and further refusals, with nothing accepted since, read no more.
  guard.accepted(8);
  c.value = 8;
  await expect(guard.admit(8)).rejects.toBeInstanceOf(BacklogFullError);
  await expect(guard.admit(8)).rejects.toBeInstanceOf(BacklogFullError);
  expect(c.reads).toBe(3);
});

test('concurrent requests share one read of the count', async () => {
  const c = counter(0);
  const guard = new BacklogGuard({ limit: 100, count: c.count });
  await Promise.all(Array.from({ length: 5 }, () => guard.admit(1)));
  expect(c.reads).toBe(1);
});
