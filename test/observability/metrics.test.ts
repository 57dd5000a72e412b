/** The metric registry and its helpers: what a send, an ending and a refusal count as. */
import { ApplicationFailure } from '@temporalio/common';
import { countSend, noMetrics, ProcessMetrics, rejectionReason } from '../../observability/metrics';
import { sampleValue } from './prometheus';

test('a send counts under the channel it settled on, with its result: sent, the skip reason, deferred', async () => {
  const metrics = new ProcessMetrics();
  await countSend(metrics, 'sms', async () => ({ status: 'sent' as const, channel: 'email' }));
  await countSend(metrics, 'email', async () => ({ status: 'skipped' as const, channel: 'email', reason: 'unsubscribed' }));
  await countSend(metrics, 'email', async () => ({ status: 'deferred' as const, channel: 'email', reason: 'frequency_cap' }));
  const text = await metrics.text();
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'sent' })).toBe(1);
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'sms', result: 'sent' })).toBeUndefined();
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'unsubscribed' })).toBe(1);
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'deferred' })).toBe(1);
});

test('a send that throws counts as failed when Temporal will not retry it, as error when it will, and the error goes on', async () => {
  const metrics = new ProcessMetrics();
  const permanent = ApplicationFailure.nonRetryable('550 no such mailbox', 'PermanentDeliveryError');
  await expect(countSend(metrics, 'email', () => Promise.reject(permanent))).rejects.toBe(permanent);
  await expect(countSend(metrics, 'email', () => Promise.reject(new Error('connection refused')))).rejects.toThrow('connection refused');
  const text = await metrics.text();
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'failed' })).toBe(1);
  expect(sampleValue(text, 'unbroken_messages_total', { channel: 'email', result: 'error' })).toBe(1);
});

test('refusals map to a fixed set of reasons, whatever the status', () => {
  expect([400, 401, 413, 415, 503, 500, 404, 418, 502].map(rejectionReason)).toEqual([
    'invalid_request',
    'unauthorized',
    'payload_too_large',
    'unsupported_media_type',
    'unavailable',
    'internal',
    'other',
    'other',
    'other',
  ]);
});

test('a backlog source that fails leaves the gauges as they were and the scrape still answers', async () => {
  const metrics = new ProcessMetrics();
  let fail = false;
  metrics.watchRoutingBacklog(async () => {
    if (fail) throw new Error('store down');
    return { events: 3, oldestReceivedAt: new Date(Date.now() - 60_000).toISOString() };
  });
  expect(sampleValue(await metrics.text(), 'unbroken_routing_backlog_events')).toBe(3);
  fail = true;
  const text = await metrics.text();
  expect(sampleValue(text, 'unbroken_routing_backlog_events')).toBe(3);
  expect(sampleValue(text, 'unbroken_routing_lag_seconds')).toBeGreaterThanOrEqual(60);
});

test('two registries count apart, and noMetrics counts nothing anywhere', async () => {
  const a = new ProcessMetrics();
  const b = new ProcessMetrics();
  a.journeyEntered('welcome');
  noMetrics.journeyEntered('welcome');
  expect(sampleValue(await a.text(), 'unbroken_journey_entries_total', { journey: 'welcome' })).toBe(1);
  expect(sampleValue(await b.text(), 'unbroken_journey_entries_total', { journey: 'welcome' })).toBeUndefined();
});
