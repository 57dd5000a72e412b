import { HealthMonitor, runProbe, supervisedProbe, throttled, workerProbe } from '../../health/probes';

describe('health probes', () => {
  it('reports a probe that never answers as down after its deadline', async () => {
    const health = await runProbe(() => new Promise(() => undefined), 50);
    expect(health).toMatchObject({ state: 'down', detail: 'no answer within 50 ms' });
  });

  it('answers from the cache: unknown before the first round, then each part by name', async () => {
    let storeUp = true;
    const monitor = new HealthMonitor({
      store: async () => {
        if (!storeUp) throw new Error('connection refused\n    at stack line');
      },
      temporal: () => new Promise(() => undefined),
    }, { timeoutMs: 30, intervalMs: 60_000 });
    expect(monitor.report()).toEqual({ ok: false, parts: { store: { state: 'unknown', detail: 'not probed yet' }, temporal: { state: 'unknown', detail: 'not probed yet' } } });
    await monitor.probeAll();
    expect(monitor.report().parts.store.state).toBe('ok');
    expect(monitor.report().parts.temporal).toMatchObject({ state: 'down', detail: 'no answer within 30 ms' });
    storeUp = false;
    await monitor.probeAll();
    // One line, no stack.
    expect(monitor.report().parts.store).toMatchObject({ state: 'down', detail: 'connection refused' });
    expect(monitor.report().ok).toBe(false);
  });

  it('counts a worker as present only when it polled both task types recently', async () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    const poller = (agoMs: number) => ({ lastAccessTime: { seconds: (now - agoMs) / 1000 } });
    const service = (workflowAgo: number, activityAgo: number) => ({
      workflowService: {
        describeTaskQueue: async (req: { taskQueueType: number }) => ({ pollers: [poller(req.taskQueueType === 1 ? workflowAgo : activityAgo)] }),
      },
    });
    const probe = (s: ReturnType<typeof service>) => workerProbe(s as never, 'default', 'journeys', () => now)();
    await expect(probe(service(1000, 5000))).resolves.toBeUndefined();
    await expect(probe(service(1000, 10 * 60_000))).rejects.toThrow('no worker has polled activity tasks on task queue "journeys"');
  });
});

describe('advisory parts and throttled probes', () => {
  it('reports an advisory part without letting it decide readiness', async () => {
    const monitor = new HealthMonitor({ store: async () => undefined, smtp: async () => Promise.reject(new Error('ECONNREFUSED')) }, { advisory: ['smtp'] });
    await monitor.probeAll();
    expect(monitor.report()).toMatchObject({ ok: true, parts: { store: { state: 'ok' }, smtp: { state: 'down', detail: 'ECONNREFUSED' } } });
  });

  it('asks a throttled part at most once per interval and repeats its last answer', async () => {
    let clock = 0;
    let calls = 0;
    let up = false;
    const probe = throttled(async () => {
      calls += 1;
      if (!up) throw new Error('down');
    }, 60_000, () => clock);
    await expect(probe()).rejects.toThrow('down');
    up = true;
    clock = 30_000;
    await expect(probe()).rejects.toThrow('down');
    expect(calls).toBe(1);
    clock = 60_000;
    await expect(probe()).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});

describe('a supervised part (the embedded Temporal server)', () => {
  it('is down in the supervisor\'s words while it restarts or has given up, without asking the part; else as its probe finds it', async () => {
    let asked = 0;
    let state: { state: string; detail?: string } = { state: 'restarting', detail: 'the embedded Temporal server exited with signal SIGKILL; restarting it in 1000 ms' };
    const probe = supervisedProbe(async () => {
      asked += 1;
    }, () => state);
    expect(await runProbe(probe, 100)).toMatchObject({ state: 'down', detail: 'the embedded Temporal server exited with signal SIGKILL; restarting it in 1000 ms' });
    state = { state: 'failed', detail: 'could not be restarted (5 attempts)' };
    expect(await runProbe(probe, 100)).toMatchObject({ state: 'down', detail: 'could not be restarted (5 attempts)' });
    expect(asked).toBe(0);
    state = { state: 'running' };
    expect(await runProbe(probe, 100)).toMatchObject({ state: 'ok' });
    expect(asked).toBe(1);
    const failing = supervisedProbe(async () => {
      throw new Error('14 UNAVAILABLE: connection refused');
    }, () => ({ state: 'running' }));
    expect(await runProbe(failing, 100)).toMatchObject({ state: 'down', detail: '14 UNAVAILABLE: connection refused' });
  });
});
