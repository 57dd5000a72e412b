/**
 * The live system driven by the client libraries people already have: the official Segment Node
 * SDK (`@segment/analytics-node` 2.x, write key in the batch body) and RudderStack's Node SDK
 * (Basic auth, gzipped batches to /v1/batch). Each one identifies a customer and tracks the event
 * that starts a journey; the welcome mail must arrive at the real SMTP server.
 */
import path from 'node:path';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

/** The write key startTestSystem configures. */
const WRITE_KEY = 'test-write-key-0123456789';

let smtp: TestSmtpServer;
let system: RunningSystem;
useLiveSystem({ temporal: devServerEnv, definitions: () => path.join(__dirname, '..', 'fixtures', 'live'), taskQueue: 'clients-e2e' }, (servers) => {
  ({ smtp, system } = servers);
});

const mailsTo = (address: string) => smtp.messages.filter((m) => m.to === address);

/** Waits for the welcome mail and checks what the customer's status shows. */
async function welcomed(userId: string, email: string, firstName: string): Promise<void> {
  const mails = await until(`the welcome mail to ${email}`, () => (mailsTo(email).length > 0 ? mailsTo(email) : undefined));
  expect(mails.map((m) => m.subject)).toEqual([`Hello ${firstName}`]);
  const status = await customerStatus(system.store, userId);
  expect(status.journeys.map((j) => j.journey)).toEqual(['hello']);
}

test('@segment/analytics-node 2.x (write key in the body) identifies, tracks and the welcome mail arrives', async () => {
  const errors: unknown[] = [];
  const analytics = new SegmentAnalytics({ writeKey: WRITE_KEY, host: system.apiUrl, path: '/v1/batch', flushInterval: 100, maxRetries: 0 });
  analytics.on('error', (err) => errors.push(err));
  analytics.identify({ userId: 'seg-ann', traits: { email: 'seg-ann@example.com', first_name: 'Ann' } });
  analytics.track({ userId: 'seg-ann', event: 'signed_up', properties: { plan: 'free' } });
  await analytics.closeAndFlush({ timeout: 20_000 });
  expect(errors).toEqual([]);
  await welcomed('seg-ann', 'seg-ann@example.com', 'Ann');
});

test('@segment/analytics-node 2.x with a wrong write key is refused and nothing is stored', async () => {
  const errors: unknown[] = [];
  const analytics = new SegmentAnalytics({ writeKey: 'not-the-key', host: system.apiUrl, path: '/v1/batch', flushInterval: 100, maxRetries: 0 });
  analytics.on('error', (err) => errors.push(err));
  analytics.identify({ userId: 'seg-eve', traits: { email: 'seg-eve@example.com' } });
  await analytics.closeAndFlush({ timeout: 20_000 });
  expect(errors).toEqual([expect.objectContaining({ code: 'delivery_failure' })]);
  expect(String((errors[0] as { reason?: unknown }).reason)).toMatch(/401/);
  expect((await customerStatus(system.store, 'seg-eve')).journeys).toEqual([]);
});

test('@rudderstack/rudder-sdk-node (Basic auth, gzip) identifies, tracks and the welcome mail arrives', async () => {
  const errors: unknown[] = [];
  const rudder = new RudderAnalytics(WRITE_KEY, {
    dataPlaneUrl: system.apiUrl,
    flushAt: 20,
    flushInterval: 60_000,
    retryCount: 0,
    logLevel: 'error',
    errorHandler: (err: unknown) => errors.push(err),
  });
  rudder.identify({ userId: 'rud-bo', traits: { email: 'rud-bo@example.com', first_name: 'Bo' } });
  rudder.track({ userId: 'rud-bo', event: 'signed_up', properties: { plan: 'pro' } });
  await rudder.flush();
  expect(errors).toEqual([]);
  await welcomed('rud-bo', 'rud-bo@example.com', 'Bo');
});
