/**
 * Broadcast progress in the store, on both databases (called from live-store.suite.ts): what
 * `unbroken stats` shows of a journey's latest broadcast or schedule firing.
 */
import type { BroadcastProgress, LiveStore } from '../../profiles/store';

const BEGAN = '2026-12-07T09:00:00.000Z';

export function broadcastStoreCases(getStore: () => LiveStore): void {
  describe('broadcast progress', () => {
    it('has none for a journey never broadcast', async () => {
      expect(await getStore().latestBroadcast('newsletter')).toBeUndefined();
    });

    it('keeps the latest numbers of a broadcast: a later write replaces the earlier, and a rewrite of the same numbers changes nothing', async () => {
      const store = getStore();
      const running: BroadcastProgress = { journeyId: 'newsletter', beganAt: BEGAN, occurrence: BEGAN, matched: 100, entered: 98 };
      await store.recordBroadcast(running);
      expect(await store.latestBroadcast('newsletter')).toEqual(running);
      const done = { ...running, matched: 250, entered: 241, finishedAt: '2026-12-07T09:00:30.000Z' };
      await store.recordBroadcast(done);
      await store.recordBroadcast(done);
      expect(await store.latestBroadcast('newsletter')).toEqual(done);
    });

    it('answers the broadcast that began last, of the journey asked about, with a stop and no occurrence as written', async () => {
      const store = getStore();
      await store.recordBroadcast({ journeyId: 'announcement', beganAt: '2026-12-08T10:00:00.000Z', matched: 3, entered: 3, finishedAt: '2026-12-08T10:00:01.000Z' });
      const stopped: BroadcastProgress = { journeyId: 'announcement', beganAt: '2026-12-09T10:00:00.000Z', matched: 1, entered: 1, finishedAt: '2026-12-09T10:00:02.000Z', stopped: 'paused' };
      await store.recordBroadcast(stopped);
      await store.recordBroadcast({ journeyId: 'newsletter', beganAt: '2026-12-10T10:00:00.000Z', occurrence: '2026-12-10T10:00:00.000Z', matched: 0, entered: 0 });
      expect(await store.latestBroadcast('announcement')).toEqual(stopped);
    });
  });
}
