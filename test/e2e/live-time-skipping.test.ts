/**
 * The live system through HTTP on Temporal's time-skipping server, with the shipped example
 * definitions: a week-long wait passes in seconds.
 */
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { useLiveSystem, type TestSystem } from '../support/system';
import { timeSkippingEnv } from '../support/temporal';

let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useLiveSystem({ temporal: timeSkippingEnv, definitions: () => path.resolve(__dirname, '..', '..', 'definitions'), taskQueue: 'live-skip' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

const post = async (endpoint: string, body: unknown): Promise<number> => (await live.post(endpoint, body)).status;

test('a whitepaper download brings the personalised demo nudge a week later', async () => {
  expect(await post('identify', { userId: 'wp-1', traits: { email: 'lena@example.com', first_name: 'Lena', timezone: 'Europe/Berlin' } })).toBe(200);
  expect(await post('track', { userId: 'wp-1', event: 'whitepaper_downloaded', properties: { title: 'The State of Retention 2026' } })).toBe(200);
  // Inside the journey before the clock moves on.
  await live.routed();
  await env.sleep(6 * 86_400_000);
  expect(smtp.messages.filter((m) => m.to === 'lena@example.com')).toHaveLength(0);
  await env.sleep(2 * 86_400_000);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && smtp.messages.filter((m) => m.to === 'lena@example.com').length === 0) {
    await env.sleep(3_600_000);
  }
  const mails = smtp.messages.filter((m) => m.to === 'lena@example.com');
  expect(mails).toHaveLength(1);
  expect(`${mails[0].subject} ${mails[0].text}`).toContain('Lena');
  const status = await customerStatus(system.store, 'wp-1');
  expect(status.journeys.map((j) => [j.journey, j.outcome])).toEqual([['whitepaper-nudge', 'completed']]);
});

test('asking for a demo during the week converts the journey and no nudge is sent', async () => {
  await post('identify', { userId: 'wp-2', traits: { email: 'max@example.com', first_name: 'Max' } });
  await post('track', { userId: 'wp-2', event: 'whitepaper_downloaded', properties: { title: 'Churn Playbook' } });
  // Routing follows acceptance: each event reaches the journey before the clock moves on.
  await live.routed();
  await env.sleep(2 * 86_400_000);
  await post('track', { userId: 'wp-2', event: 'demo_requested' });
  await live.routed();
  await env.sleep(7 * 86_400_000);
  const status = await customerStatus(system.store, 'wp-2');
  expect(status.journeys.map((j) => [j.journey, j.outcome])).toEqual([['whitepaper-nudge', 'converted']]);
  expect(smtp.messages.filter((m) => m.to === 'max@example.com')).toHaveLength(0);
});
