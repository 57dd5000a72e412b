/**
 * Metrics of the live system (what `unbroken start` runs) on a real Temporal dev server, a real
 * SMTP server and a SQLite store: read from the event API's `GET /metrics` after real traffic.
 */
import path from 'node:path';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { sampleValue, samples } from './prometheus';

let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(__dirname, '..', 'fixtures', 'live'),
    taskQueue: 'metrics-e2e',
    env: () => ({ UNBROKEN_METRICS_ADDRESS: '127.0.0.1:0' }),
  },
  (servers) => {
    ({ smtp, live, system } = servers);
  },
);

async function scrape(): Promise<string> {
  const res = await fetch(`${system.apiUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

test('after a journey sends its mail, /metrics shows the accepted events, the entry, the outcome, the sent message and its send time', async () => {
  expect((await live.post('identify', { userId: 'mia', traits: { email: 'mia@example.com' } })).status).toBe(200);
  expect((await live.post('track', { userId: 'mia', event: 'signed_up' })).status).toBe(200);
  await smtp.waitFor(1);
  const text = await until('the run to end', async () => {
    const t = await scrape();
    return sampleValue(t, 'unbroken_journey_outcomes_total', { journey: 'hello', outcome: 'completed' }) === 1 ? t : undefined;
  });

  expect(sampleValue(text, 'unbroken_events_accepted_total', { type: 'identify' })).toBe(1);
  expect(sampleValue(text, 'unbroken_events_accepted_total', { type: 'track' })).toBe(1);
  expect(sampleValue(text, 'unbroken_journey_entries_total', { journey: 'hello' })).toBe(1);
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'sent' })).toBe(1);
  expect(sampleValue(text, 'unbroken_send_duration_seconds_count', { channel: 'email' })).toBe(1);
  expect(sampleValue(text, 'unbroken_send_duration_seconds_sum', { channel: 'email' })).toBeGreaterThan(0);
  expect(sampleValue(text, 'unbroken_http_requests_total', { method: 'POST', route: '/v1/track', status: '200' })).toBe(1);
  expect(sampleValue(text, 'unbroken_http_request_duration_seconds_count', { method: 'POST', route: '/v1/identify' })).toBe(1);
  // Both events were routed: nothing waits.
  expect(sampleValue(text, 'unbroken_routing_backlog_events')).toBe(0);
  expect(sampleValue(text, 'unbroken_routing_lag_seconds')).toBe(0);
  expect(sampleValue(text, 'unbroken_process_resident_memory_bytes')).toBeGreaterThan(0);
});

test('a duplicate delivery is not counted again', async () => {
  const before = sampleValue(await scrape(), 'unbroken_events_accepted_total', { type: 'track' }) ?? 0;
  const call = { userId: 'dup', event: 'nothing_listens', messageId: 'metrics-dup-1' };
  expect((await live.post('track', call)).status).toBe(200);
  expect((await live.post('track', call)).status).toBe(200);
  expect(sampleValue(await scrape(), 'unbroken_events_accepted_total', { type: 'track' })).toBe(before + 1);
});

test('refused event requests are counted by reason, and a route label never carries the raw path', async () => {
  const badKey = `Basic ${Buffer.from('wrong-key:').toString('base64')}`;
  expect((await live.post('track', { userId: 'x', event: 'e' }, badKey)).status).toBe(401);
  expect((await live.post('track', { userId: 'x' })).status).toBe(400);
  expect((await live.post('batch', { batch: 'not a list' })).status).toBe(400);
  expect((await fetch(`${system.apiUrl}/unsubscribe/secret-token-abc123`)).status).toBeGreaterThanOrEqual(400);
  expect((await fetch(`${system.apiUrl}/no/such/path-with-secret`)).status).toBe(404);

  const text = await scrape();
  expect(sampleValue(text, 'unbroken_events_rejected_total', { reason: 'unauthorized' })).toBe(1);
  expect(sampleValue(text, 'unbroken_events_rejected_total', { reason: 'invalid_request' })).toBe(2);
  expect(sampleValue(text, 'unbroken_http_requests_total', { method: 'POST', route: '/v1/track', status: '401' })).toBe(1);
  expect(sampleValue(text, 'unbroken_http_requests_total', { method: 'GET', route: '/unsubscribe/:credential' })).toBe(1);
  expect(sampleValue(text, 'unbroken_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
  // Label values come from route patterns and fixed sets, never from what the caller sent.
  expect(text).not.toContain('secret-token-abc123');
  expect(text).not.toContain('path-with-secret');
  const reasons = samples(text).filter((s) => s.name === 'unbroken_events_rejected_total').map((s) => s.labels.reason);
  expect(reasons.sort()).toEqual(['invalid_request', 'unauthorized']);
});

test('events stored but not routed show as backlog, with the age of the oldest', async () => {
  const receivedAt = new Date(Date.now() - 90_000).toISOString();
  await system.store.recordEvent({ messageId: 'metrics-unrouted-1', type: 'track', customerId: 'stuck', event: 'nothing_listens', timestamp: receivedAt, receivedAt });
  const text = await scrape();
  expect(sampleValue(text, 'unbroken_routing_backlog_events')).toBe(1);
  expect(sampleValue(text, 'unbroken_routing_lag_seconds')).toBeGreaterThanOrEqual(90);
  await system.store.markEventRouted('metrics-unrouted-1');
  expect(sampleValue(await scrape(), 'unbroken_routing_backlog_events')).toBe(0);
});

test('with UNBROKEN_METRICS_ADDRESS, start also serves the worker’s endpoints: the same metrics, health and readiness', async () => {
  const url = system.metricsUrl!;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const ready = await until('readyz to answer 200', async () => {
    const res = await fetch(`${url}/readyz`);
    return res.status === 200 ? ((await res.json()) as { parts: Record<string, { state: string }> }) : undefined;
  });
  expect(Object.fromEntries(Object.entries(ready.parts).map(([part, health]) => [part, health.state]))).toEqual({ smtp: 'ok', store: 'ok', temporal: 'ok', worker: 'ok' });
  const text = await (await fetch(`${url}/metrics`)).text();
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'sent' })).toBe(1);
});
