/**
 * `consent.*` conditions and `channels:` fallbacks on Temporal's time-skipping test server, with
 * the real activities and a real SQLite store; mail and SMS are captured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities/index';
import { captureMailer } from '../../activities/mailer';
import type { SmsProvider } from '../../activities/types';
import type { JourneyPlan } from '../../compiler/plan';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { eventSignal, identifySignal, JOURNEY_WORKFLOW, type JourneyInput, type JourneyResult } from '../../workflows/definitions';
import { journeyBundle } from '../../worker/worker';
import { compileFiles } from '../support/definitions';
import { timeSkippingEnv } from '../support/temporal';

const files: Record<string, string> = {
  'templates/nudge.yaml': [
    'template: nudge',
    'channel: email',
    'subject: One step left',
    "text: \"Hi {{ profile.first_name | default: 'there' }}, finish setting up.\"",
    'sms:',
    "  body: \"Hi {{ profile.first_name | default: 'there' }}, finish setting up: https://app.example.com\"",
  ].join('\n'),
  'journeys/consent-branch.yaml': [
    'journey: consent-branch',
    'trigger: { event: signed_up }',
    'steps:',
    '  - wait: 1h',
    '  - id: sms-or-mail',
    '    if: { consent.sms.marketing: subscribed }',
    '    then:',
    '      - id: by-sms',
    '        send: { template: nudge, channels: [sms] }',
    '    else:',
    '      - id: by-mail',
    '        send: nudge',
  ].join('\n'),
  'journeys/fallback.yaml': [
    'journey: fallback',
    'trigger: { event: signed_up }',
    'steps:',
    '  - wait: 1d',
    '  - id: nudge',
    '    send: { template: nudge, channels: [sms, email] }',
  ].join('\n'),
  'journeys/stop-on-opt-out.yaml': [
    'journey: stop-on-opt-out',
    'trigger: { event: signed_up }',
    'exit_when:',
    '  - event: preferences_saved',
    '    where: { consent.email.marketing: unsubscribed }',
    'steps:',
    '  - wait: 3d',
    '  - send: nudge',
  ].join('\n'),
};

let env: TestWorkflowEnvironment;
let store: SqliteProfileStore;
let plans: Map<string, JourneyPlan>;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-consent-'));
  plans = compileFiles(tmp, files);
  store = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  env = await timeSkippingEnv();
  await journeyBundle();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await store?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An SMS provider that keeps what it was asked to send. */
function fakeSms(): SmsProvider & { sent: { to: string; body: string }[] } {
  const sent: { to: string; body: string }[] = [];
  return {
    name: 'fake',
    sent,
    async send({ to, body }) {
      sent.push({ to, body });
      return { providerId: `SM${sent.length}` };
    },
  };
}

type Activities = ReturnType<typeof createActivities>;

async function run(
  journeyId: string,
  traits: Record<string, unknown>,
  during?: (handle: WorkflowHandle, customerId: string) => Promise<void>,
  adjust: (activities: Activities) => Activities = (activities) => activities,
) {
  const customerId = `c-${randomUUID().slice(0, 8)}`;
  await store.identify(customerId, traits);
  const mailer = captureMailer();
  const sms = fakeSms();
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: await journeyBundle(),
    activities: adjust(createActivities({ store, mailer, sms, mailFrom: 'Shop <shop@example.com>' })),
  });
  const input: JourneyInput = {
    plan: plans.get(journeyId)!,
    customerId,
    trigger: { event: 'signed_up', properties: {}, timestamp: new Date(await env.currentTimeMs()).toISOString() },
    defaultTimezone: 'UTC',
  };
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue, workflowId: `journey:${journeyId}:${customerId}:1` });
    if (during) await during(handle, customerId);
    return (await handle.result()) as JourneyResult;
  });
  return { result, mailer, sms, customerId };
}

const entry = (r: JourneyResult, kind: string) => r.timeline.find((t) => t.kind === kind);
const customer = { email: 'ada@example.com', phone: '+15550001111', first_name: 'Ada' };

describe('consent.* in a condition', () => {
  test('a customer who never stated sms consent reads unknown and takes the else branch: email', async () => {
    const { result, mailer, sms } = await run('consent-branch', customer);
    expect(result.outcome).toBe('completed');
    expect(entry(result, 'branched')).toMatchObject({ step: 'sms-or-mail', branch: 'else' });
    expect(entry(result, 'sent')).toMatchObject({ step: 'by-mail', channel: 'email' });
    expect(mailer.sent).toHaveLength(1);
    expect(sms.sent).toEqual([]);
  });

  test('a subscription stated while the customer waits is read from the store when the condition runs', async () => {
    const { result, mailer, sms } = await run('consent-branch', customer, async (_handle, customerId) => {
      await store.identify(customerId, { subscriptions: { sms: { marketing: true } } });
    });
    expect(entry(result, 'branched')).toMatchObject({ step: 'sms-or-mail', branch: 'then' });
    expect(entry(result, 'sent')).toMatchObject({ step: 'by-sms', channel: 'sms', to: '+15550001111' });
    expect(sms.sent).toHaveLength(1);
    expect(mailer.sent).toEqual([]);
  });

  test('an exit_when condition on consent sees an unsubscribe an identify brings, and ends the journey', async () => {
    const { result, mailer } = await run('stop-on-opt-out', customer, async (handle, customerId) => {
      // Saved preferences that keep the subscription do not end it.
      await handle.signal(eventSignal, { event: 'preferences_saved', properties: {}, timestamp: new Date().toISOString() });
      // As the router does it: the store first, then the identify to the running journey.
      const traits = { subscriptions: { email: { marketing: false } } };
      await store.identify(customerId, traits);
      await handle.signal(identifySignal, { traits });
      await handle.signal(eventSignal, { event: 'preferences_saved', properties: {}, timestamp: new Date().toISOString() });
    });
    expect(result.outcome).toBe('exited');
    expect(result.timeline.filter((t) => t.kind === 'event_received')).toHaveLength(2);
    expect(mailer.sent).toEqual([]);
  });
});

test('an unsubscribe an identify brings while the store is being read is not undone by that read', async () => {
  let readDone!: () => void;
  const read = new Promise<void>((resolve) => (readDone = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { result } = await run(
    'stop-on-opt-out',
    customer,
    async (handle, customerId) => {
      await read; // the entry's read of consent.email.marketing has seen "unknown"
      const traits = { subscriptions: { email: { marketing: false } } };
      await store.identify(customerId, traits);
      await handle.signal(identifySignal, { traits });
      release();
      // Time for the worker to apply the (stale) read before the event that must see the unsubscribe.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await handle.signal(eventSignal, { event: 'preferences_saved', properties: {}, timestamp: new Date().toISOString() });
    },
    (activities) => ({
      ...activities,
      async loadConsent(input: Parameters<Activities['loadConsent']>[0]) {
        const states = await activities.loadConsent(input);
        readDone();
        await gate;
        return states;
      },
    }),
  );
  expect(result.outcome).toBe('exited');
});

describe('a send with channels: [sms, email]', () => {
  test('goes out by email when sms needs an opt-in the customer never gave, and records why sms was passed over', async () => {
    const { result, mailer, sms } = await run('fallback', customer);
    expect(entry(result, 'sent')).toMatchObject({
      step: 'nudge',
      channel: 'email',
      to: 'ada@example.com',
      passedOver: [{ channel: 'sms', reason: 'unsubscribed' }],
    });
    expect(mailer.sent.map((m) => m.subject)).toEqual(['One step left']);
    expect(sms.sent).toEqual([]);
  });

  test('goes out by sms, once, to a customer who subscribed to sms', async () => {
    const { result, mailer, sms } = await run('fallback', { ...customer, subscriptions: { sms: { marketing: true } } });
    expect(entry(result, 'sent')).toMatchObject({ step: 'nudge', channel: 'sms', to: '+15550001111' });
    expect(entry(result, 'sent')).not.toHaveProperty('passedOver');
    expect(sms.sent).toEqual([{ to: '+15550001111', body: 'Hi Ada, finish setting up: https://app.example.com' }]);
    expect(mailer.sent).toEqual([]);
  });

  test('is skipped with no_channel when no channel is left, listing each', async () => {
    const { result, mailer, sms } = await run('fallback', { first_name: 'Ada' });
    expect(entry(result, 'skipped')).toMatchObject({
      step: 'nudge',
      reason: 'no_channel',
      passedOver: [
        { channel: 'sms', reason: 'no_address' },
        { channel: 'email', reason: 'no_address' },
      ],
    });
    expect(mailer.sent).toEqual([]);
    expect(sms.sent).toEqual([]);
  });
});
