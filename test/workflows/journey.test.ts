/**
 * The interpreter on Temporal's time-skipping test server, with the real activities, a real
 * SQLite profile store and a real SMTP server receiving the mail.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { parseAllowList } from '../../activities/channels';
import { createActivities } from '../../activities/index';
import { smtpMailer } from '../../activities/mailer';
import type { DeliveryPolicy, SendMessageInput } from '../../activities/types';
import { activityCatalog } from '../../activities/index';
import { shortUnsubscribeLinks } from '../../delivery/short-links';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan, TimeWindow } from '../../compiler/plan';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { eventSignal, identifySignal, JOURNEY_WORKFLOW, type JourneyInput, type JourneyResult } from '../../workflows/definitions';
import { journeyBundle } from '../../worker/worker';
import { startSmtpServer } from '../support/smtp';
import { timeSkippingEnv } from '../support/temporal';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let smtp: Smtp;
let store: SqliteProfileStore;
let plans: Map<string, JourneyPlan>;
let hookServer: http.Server;
const hooks: { headers: http.IncomingHttpHeaders; body: unknown }[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-journey-'));
  hookServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const port = (hookServer.address() as { port: number }).port;
  // The fixtures carry a placeholder port; the copy points the webhook at this test's server.
  const defs = path.join(tmp, 'definitions');
  fs.cpSync(path.join(__dirname, '..', 'fixtures', 'engine'), defs, { recursive: true });
  const hookFile = path.join(defs, 'journeys', 'webhook.yaml');
  fs.writeFileSync(hookFile, fs.readFileSync(hookFile, 'utf8').replace('__PORT__', String(port)));
  const compiled = compileDefinitions(defs, { ...activityCatalog, cwd: tmp });
  expect(compiled.errors).toEqual([]);
  plans = compiled.plans;

  store = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  smtp = await startSmtpServer();
  env = await timeSkippingEnv();
  await journeyBundle();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await smtp?.stop();
  await store?.close();
  await new Promise((resolve) => hookServer?.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface RunOptions {
  customer: Record<string, unknown> & { id?: string };
  properties?: Record<string, unknown>;
  /** Pins the journey clock to this instant at entry. */
  startAt?: string;
  defaultTimezone?: string;
  during?: (handle: WorkflowHandle) => Promise<void>;
  wrapSend?: (real: (i: SendMessageInput) => Promise<unknown>) => (i: SendMessageInput) => Promise<unknown>;
  mailer?: ReturnType<typeof smtpMailer>;
  delivery?: DeliveryPolicy;
  quietHours?: TimeWindow;
}

async function run(journeyId: string, event: string, opts: RunOptions): Promise<{ result: JourneyResult; customerId: string; workflowId: string }> {
  const customerId = opts.customer.id ?? `c-${randomUUID().slice(0, 8)}`;
  const { id: _id, ...traits } = opts.customer;
  await store.identify(customerId, traits);
  const taskQueue = `test-${randomUUID()}`;
  const activities = createActivities({
    store,
    mailer: opts.mailer ?? smtpMailer(smtp.url),
    mailFrom: 'Shop <shop@example.com>',
    // The webhook fixture posts to this test's receiver on loopback, which ops must allow.
    httpAllowPrivate: parseAllowList('127.0.0.1').entries,
    ...(opts.delivery ? { delivery: opts.delivery } : {}),
  });
  if (opts.wrapSend) activities.sendMessage = opts.wrapSend(activities.sendMessage as (i: SendMessageInput) => Promise<unknown>);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: await journeyBundle(),
    activities,
  });
  const nowMs = opts.startAt ? Date.parse(opts.startAt) : await env.currentTimeMs();
  const input: JourneyInput = {
    plan: plans.get(journeyId)!,
    customerId,
    trigger: { event, properties: opts.properties ?? {}, timestamp: new Date(nowMs).toISOString() },
    defaultTimezone: opts.defaultTimezone ?? 'UTC',
    startAt: opts.startAt,
    ...(opts.quietHours ? { quietHours: opts.quietHours } : {}),
  };
  const workflowId = `journey:${journeyId}:${customerId}:${randomUUID()}`;
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue, workflowId });
    if (opts.during) await opts.during(handle);
    return (await handle.result()) as JourneyResult;
  });
  return { result, customerId, workflowId };
}

const mailsTo = (address: string) => smtp.messages.filter((m) => m.to === address);
const kinds = (r: JourneyResult) => r.timeline.map((t) => `${t.kind}:${t.step}`);
const entry = (r: JourneyResult, kind: string, step?: string) => r.timeline.find((t) => t.kind === kind && (step === undefined || t.step === step));

describe('the journey interpreter on the time-skipping server', () => {
  test('a shopper who does not buy gets one reminder an hour after abandoning the cart', async () => {
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'ann@example.com', first_name: 'Ann' },
      properties: { cart_id: 'c1', total: 45 },
    });
    expect(result.outcome).toBe('completed');
    expect(kinds(result)).toEqual(['entered:entry', 'waited:wait-1', 'sent:reminder', 'completed:reminder']);
    const waited = Date.parse(entry(result, 'sent')!.at) - Date.parse(entry(result, 'entered')!.at);
    expect(waited).toBeGreaterThanOrEqual(HOUR);
    const mails = mailsTo('ann@example.com');
    expect(mails).toHaveLength(1);
    expect(mails[0].subject).toBe('Ann, your cart c1 is waiting');
    expect(mails[0].text).toContain('you left 45 EUR in your cart');
  });

  test('buying during the wait converts the journey at once and cancels the reminder', async () => {
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'bob@example.com' },
      properties: { cart_id: 'c7' },
      during: async (handle) => {
        await env.sleep(10 * 60_000);
        // A purchase of another cart is not this journey's goal.
        await handle.signal(eventSignal, { event: 'order_completed', properties: { cart_id: 'other' }, timestamp: new Date().toISOString() });
        await env.sleep(20 * 60_000);
        await handle.signal(eventSignal, { event: 'order_completed', properties: { cart_id: 'c7' }, timestamp: new Date().toISOString() });
      },
    });
    expect(result.outcome).toBe('converted');
    const converted = entry(result, 'converted')!;
    expect(Date.parse(converted.at) - Date.parse(entry(result, 'entered')!.at)).toBeLessThan(HOUR);
    expect(result.timeline.filter((t) => t.kind === 'event_received')).toHaveLength(2);
    expect(mailsTo('bob@example.com')).toHaveLength(0);
  });

  test('events and identifies that reach a running journey are in the store too, in timeline order', async () => {
    const { result, workflowId } = await run('cart', 'cart_abandoned', {
      customer: { email: 'abe@example.com' },
      properties: { cart_id: 'c12' },
      during: async (handle) => {
        await env.sleep(10 * 60_000);
        await handle.signal(identifySignal, { traits: { vip: true } });
        await handle.signal(eventSignal, { event: 'order_completed', properties: { cart_id: 'c12' }, timestamp: new Date().toISOString() });
      },
    });
    expect(kinds(result)).toEqual(['entered:entry', 'profile_updated:wait-1', 'event_received:wait-1', 'converted:wait-1']);
    // `unbroken status` reads the store, the state query the workflow: both tell the same story.
    const stored = (await store.stepsFor(workflowId)).map((s) => `${s.kind}:${s.stepId}`);
    expect(stored).toEqual(kinds(result));
    expect((await store.stepsFor(workflowId))[1].detail).toEqual({ source: 'identify', traits: { vip: true } });
  });

  test('a send and a profile update store their own records: the store holds the timeline, and no batch is written at the wait after the send', async () => {
    const { result, workflowId } = await run('recorded', 'cart_abandoned', {
      customer: { email: 'rita@example.com' },
      properties: { cart_id: 'c40' },
    });
    expect(kinds(result)).toEqual(['entered:entry', 'sent:reminder', 'waited:wait-2', 'profile_updated:remember', 'sent:last', 'completed:last']);
    const stored = await store.stepsFor(workflowId);
    expect(stored.map((s) => `${s.kind}:${s.stepId}`)).toEqual(kinds(result));
    // Each record as the timeline shows it, time included (the work's start on the journey clock).
    expect(stored.map((s) => s.at)).toEqual(result.timeline.map((t) => t.at));
    expect(stored[1].detail).toMatchObject({ channel: 'email', template: 'reminder', to: 'rita@example.com' });
    expect(stored[3].detail).toEqual({ changes: { set: { reminded_at: expect.any(String) }, increment: { reminders: 1 } } });
    // One local batch, at the end (the outcome); the entry rode on the first send.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const localBatches = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(localBatches).toHaveLength(1);
    expect(mailsTo('rita@example.com')).toHaveLength(2);
  });

  test('an exit_when event ends the journey as exited', async () => {
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'cy@example.com' },
      properties: { cart_id: 'c8' },
      during: async (handle) => {
        await env.sleep(5 * 60_000);
        await handle.signal(eventSignal, { event: 'cart_emptied', properties: {}, timestamp: new Date().toISOString() });
      },
    });
    expect(result.outcome).toBe('exited');
    expect(mailsTo('cy@example.com')).toHaveLength(0);
  });

  test('wait_for takes the on_event branch when the event arrives in time, then updates the profile, splits and exits', async () => {
    const { result, customerId } = await run('branches', 'cart_abandoned', {
      customer: { email: 'dee@example.com', first_name: 'Dee' },
      properties: { cart_id: 'c9', total: 12 },
      during: async (handle) => {
        await env.sleep(2 * HOUR);
        await handle.signal(eventSignal, { event: 'cart_viewed', properties: {}, timestamp: new Date().toISOString() });
      },
    });
    expect(result.outcome).toBe('exited');
    expect(result.reason).toBe('done-here');
    expect(entry(result, 'branched', 'wait_for-1')).toMatchObject({ branch: 'on_event' });
    expect(mailsTo('dee@example.com').map((m) => m.subject)).toEqual(['Dee, your cart c9 is waiting']);
    const profile = (await store.getProfile(customerId))!;
    expect(profile.nudges).toBe(1);
    expect(profile.tags).toContain('cart-abandoner');
    expect(profile.source).toBe('cart');
    expect(Date.parse(String(profile.last_nudge_at))).not.toBeNaN();
    expect(['a', 'b']).toContain(profile.variant);
    // The send after `exit:` never runs.
    expect(result.timeline.filter((t) => t.kind === 'sent')).toHaveLength(1);
  });

  test('on timeout, the if branch reads the profile as it is then, not as it was at entry', async () => {
    const customerId = `eve-${randomUUID().slice(0, 8)}`;
    const { result } = await run('branches', 'cart_abandoned', {
      customer: { id: customerId, email: 'eve@example.com', first_name: 'Eve', vip: false },
      during: async () => {
        await env.sleep(12 * HOUR);
        await store.identify(customerId, { vip: true });
      },
    });
    expect(entry(result, 'branched', 'wait_for-1')).toMatchObject({ branch: 'on_timeout' });
    expect(mailsTo('eve@example.com').map((m) => m.subject)).toEqual(['A VIP offer for Eve']);
  });

  test('a split assigns the same customer to the same variant every time', async () => {
    const first = await run('branches', 'cart_abandoned', { customer: { id: 'split-1', email: 'split@example.com' } });
    const second = await run('branches', 'cart_abandoned', { customer: { id: 'split-1', email: 'split@example.com' } });
    const variant = (r: JourneyResult) => r.timeline.find((t) => t.kind === 'branched' && t.variant !== undefined)?.variant;
    expect(variant(first.result)).toBeDefined();
    expect(variant(second.result)).toBe(variant(first.result));
  });

  test('quiet hours hold a marketing mail over a weekend and a DST change, in the customer timezone', async () => {
    // Saturday 28 March 2026, 22:00 in Berlin; clocks go forward on Sunday 29 March.
    const { result } = await run('windows', 'signed_up', {
      customer: { email: 'fay@example.com', timezone: 'Europe/Berlin', renewal_date: '2026-04-20T00:00:00Z' },
      startAt: '2026-03-28T21:00:00Z',
    });
    const sent = result.timeline.filter((t) => t.kind === 'sent');
    // The transactional receipt ignores the window; the marketing mail waits for Monday 09:00 CEST.
    expect(sent.map((t) => [t.template, t.at])).toEqual([
      ['receipt', expect.stringMatching(/^2026-03-28T21:00/)],
      ['reminder', expect.stringMatching(/^2026-03-30T07:00/)],
      // Renewal minus 7 days is Monday 13 April 02:00 CEST, outside the window: 09:00 CEST.
      ['last-chance', expect.stringMatching(/^2026-04-13T07:00/)],
    ]);
    expect(entry(result, 'waited', 'send-2')).toMatchObject({ reason: 'send_window', timezone: 'Europe/Berlin' });
  });

  test('a customer without a timezone gets the configured default', async () => {
    const { result } = await run('windows', 'signed_up', {
      customer: { email: 'gus@example.com', renewal_date: '2026-01-01T00:00:00Z' },
      startAt: '2026-11-25T03:00:00Z', // Tuesday 22:00 in New York
      defaultTimezone: 'America/New_York',
    });
    const reminder = result.timeline.find((t) => t.kind === 'sent' && t.template === 'reminder')!;
    expect(reminder.at).toMatch(/^2026-11-25T14:00/); // Wednesday 09:00 EST
  });

  test('a do: step calls the registered activity with resolved values and an idempotency key', async () => {
    const before = hooks.length;
    const { result } = await run('webhook', 'lead_created', { customer: { id: 'lead-1' }, startAt: '2026-11-27T12:00:00Z' });
    expect(result.outcome).toBe('exited');
    expect(hooks.length).toBe(before + 1);
    const hook = hooks[hooks.length - 1];
    expect(hook.body).toEqual({ customer: 'lead-1', score: 10 });
    expect(hook.headers['idempotency-key']).toContain('journey:webhook:lead-1');
    // wait_until the next Monday 08:00 in New York: 30 November 2026, 13:00Z.
    expect(entry(result, 'exited')!.at).toMatch(/^2026-11-30T13:00/);
  });

  test('a send retried after the mail was accepted delivers exactly one mail', async () => {
    let failures = 0;
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'hal@example.com' },
      properties: { cart_id: 'c10' },
      wrapSend: (real) => async (input) => {
        const out = await real(input);
        if (failures++ === 0) throw new Error('worker lost the result after the SMTP server accepted the mail');
        return out;
      },
    });
    expect(failures).toBe(2);
    expect(result.outcome).toBe('completed');
    expect(mailsTo('hal@example.com')).toHaveLength(1);
    expect(result.timeline.filter((t) => t.kind === 'sent')).toHaveLength(1);
  });

  test('a mailbox the SMTP server rejects permanently skips that message and the journey goes on', async () => {
    const rejecting = await startSmtpServer({ rejectWith: 550 });
    try {
      const { result } = await run('windows', 'signed_up', {
        customer: { email: 'ivy@example.com', renewal_date: '2026-01-01T00:00:00Z' },
        startAt: '2026-11-25T10:00:00Z',
        mailer: smtpMailer(rejecting.url),
      });
      expect(result.outcome).toBe('completed');
      const skipped = result.timeline.filter((t) => t.kind === 'skipped');
      expect(skipped.map((t) => t.reason)).toEqual(['delivery_failed', 'delivery_failed', 'delivery_failed']);
      expect(rejecting.messages).toHaveLength(0);
    } finally {
      await rejecting.stop();
    }
  });

  test('a journey cap defers an on_cap: defer send until a slot frees, and skips a plain one', async () => {
    const delivery: DeliveryPolicy = { caps: [], unsubscribeUrl: () => 'https://example.com/unsubscribe/x', shortUnsubscribe: shortUnsubscribeLinks('https://example.com', 60_000) };
    const { result } = await run('capped', 'promo_viewed', {
      customer: { email: 'jo@example.com', first_name: 'Jo' },
      startAt: '2026-11-27T10:00:00Z',
      delivery,
    });
    const sends = result.timeline.filter((t) => t.kind === 'sent' || t.kind === 'skipped').map((t) => [t.step, t.kind, t.reason ?? t.at]);
    expect(sends).toEqual([
      ['first', 'sent', expect.stringMatching(/^2026-11-27T10:00/)],
      // Deferred, then sent once the first send left the 24-hour window.
      ['second', 'sent', expect.stringMatching(/^2026-11-28T10:00/)],
      ['third', 'skipped', 'frequency_cap'],
    ]);
    expect(entry(result, 'waited', 'second')).toMatchObject({ reason: 'frequency_cap' });
    expect(mailsTo('jo@example.com').map((m) => m.subject)).toEqual(['Jo, your cart items is waiting', 'Last chance']);
  });

  test('configured quiet hours hold a marketing send for journeys without a send window', async () => {
    const allowed: TimeWindow = { days: [0, 1, 2, 3, 4, 5, 6], startMinute: 8 * 60, endMinute: 21 * 60, timezone: 'customer' };
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'kai@example.com', timezone: 'UTC' },
      properties: { cart_id: 'c11', total: 30 },
      startAt: '2026-11-27T21:30:00Z',
      quietHours: allowed,
    });
    expect(entry(result, 'sent', 'reminder')!.at).toMatch(/^2026-11-28T08:00/);
    expect(entry(result, 'waited', 'reminder')).toMatchObject({ reason: 'send_window' });
  });

  test("a birthday without a time is the customer's own day: 09:00 in Sydney, noted on the exact instant", async () => {
    const { result } = await run('birthday', 'signed_up', {
      customer: { email: 'mia@example.com', timezone: 'Australia/Sydney', birthday: '2026-12-24' },
      startAt: '2026-12-01T00:00:00Z',
    });
    expect(result.outcome).toBe('completed');
    // 09:00 on 24 December in Sydney (UTC+11) is 22:00 UTC on the 23rd.
    expect(entry(result, 'waited', 'on-the-day')).toMatchObject({ at: '2026-12-23T22:00:00.000Z', until: '2026-12-23T22:00:00.000Z', timezone: 'Australia/Sydney' });
    expect(entry(result, 'waited', 'on-the-day')!.past).toBeUndefined();
    expect(entry(result, 'sent', 'greeting')!.at).toMatch(/^2026-12-23T22:00:00/);
  });

  test('a missing date ends the journey as exited with invalid_date, and nothing is sent', async () => {
    const { result } = await run('birthday', 'signed_up', { customer: { email: 'ned@example.com' }, startAt: '2026-12-01T00:00:00Z' });
    expect(result.outcome).toBe('exited');
    expect(result.reason).toBe('invalid_date');
    expect(entry(result, 'exited', 'on-the-day')).toMatchObject({ reason: 'invalid_date', value: null, date: '{{ profile.birthday }}' });
    expect(mailsTo('ned@example.com')).toHaveLength(0);
  });

  test('on_invalid: continue skips an unreadable date and goes on', async () => {
    const { result } = await run('birthday-lenient', 'signed_up', { customer: { email: 'oli@example.com', birthday: 'soon' }, startAt: '2026-12-01T00:00:00Z' });
    expect(result.outcome).toBe('completed');
    expect(entry(result, 'skipped', 'on-the-day')).toMatchObject({ reason: 'invalid_date', value: 'soon' });
    expect(entry(result, 'sent', 'greeting')!.at).toMatch(/^2026-12-01T00:00/);
  });

  test('an identify that moves the date moves the wait', async () => {
    const customerId = `pia-${randomUUID().slice(0, 8)}`;
    const { result } = await run('birthday', 'signed_up', {
      customer: { id: customerId, email: 'pia@example.com', timezone: 'Europe/Berlin', birthday: '2026-12-04' },
      startAt: '2026-12-01T00:00:00Z',
      during: async (handle) => {
        await env.sleep(24 * HOUR);
        await store.identify(customerId, { birthday: '2026-12-10' });
        await handle.signal(identifySignal, { traits: { birthday: '2026-12-10' } });
      },
    });
    // 09:00 on 10 December in Berlin, not the 4th.
    expect(entry(result, 'sent', 'greeting')!.at).toMatch(/^2026-12-10T08:00:00/);
  });

  test('a date changed in the store without an identify is read again when the timer fires', async () => {
    const customerId = `quin-${randomUUID().slice(0, 8)}`;
    const { result } = await run('birthday', 'signed_up', {
      customer: { id: customerId, email: 'quin@example.com', birthday: '2026-12-03' },
      startAt: '2026-12-01T00:00:00Z',
      during: async () => {
        await env.sleep(HOUR);
        await store.identify(customerId, { birthday: '2026-12-05' });
      },
    });
    expect(entry(result, 'waited', 'on-the-day')).toMatchObject({ at: '2026-12-05T09:00:00.000Z', until: '2026-12-05T09:00:00.000Z' });
  });

  test('a date already past says so and the journey goes on at once', async () => {
    const { result } = await run('birthday', 'signed_up', { customer: { email: 'rae@example.com', birthday: '2026-11-20' }, startAt: '2026-12-01T00:00:00Z' });
    expect(entry(result, 'waited', 'on-the-day')).toMatchObject({ past: true, until: '2026-11-20T09:00:00.000Z', duration_ms: 0 });
    expect(result.outcome).toBe('completed');
  });

  test('received.* branches on the latest answer and reaches the template, its data and update_profile', async () => {
    const answer = (q: number, score: number, text: string) => ({ event: 'answered', properties: { q, score, answer: text }, timestamp: new Date().toISOString() });
    const { result, customerId } = await run('answer', 'survey_sent', {
      customer: { email: 'sam@example.com' },
      during: async (handle) => {
        await env.sleep(HOUR);
        await handle.signal(eventSignal, answer(1, 9, 'great'));
        await env.sleep(HOUR);
        await handle.signal(eventSignal, answer(2, 3, 'too slow'));
      },
    });
    expect(result.outcome).toBe('completed');
    expect(entry(result, 'branched', 'second-question')).toMatchObject({ branch: 'on_event' });
    expect(entry(result, 'branched', 'low-score')).toMatchObject({ branch: 'then' });
    const mails = mailsTo('sam@example.com');
    expect(mails.map((m) => m.subject)).toEqual(['You gave us a 3']);
    expect(mails[0].text).toContain('You said "TOO SLOW" in answer 2 (answered).');
    expect((await store.getProfile(customerId))!.second_answer).toBe('too slow');
  });

  test('a wait_for that times out leaves received as the earlier answer', async () => {
    const { result, customerId } = await run('answer', 'survey_sent', {
      customer: { email: 'tia@example.com' },
      during: async (handle) => {
        await env.sleep(HOUR);
        await handle.signal(eventSignal, { event: 'answered', properties: { q: 1, score: 5, answer: 'meh' }, timestamp: new Date().toISOString() });
      },
    });
    expect(entry(result, 'branched', 'second-question')).toMatchObject({ branch: 'on_timeout' });
    expect(entry(result, 'branched', 'still-first')).toMatchObject({ branch: 'then' });
    expect((await store.getProfile(customerId))!.kept_answer).toBe('meh');
    expect(mailsTo('tia@example.com').map((m) => m.subject)).toEqual(['You gave us a 5']);
  });

  test('before any wait_for received an event, received.* conditions do not hold', async () => {
    const { result } = await run('answer', 'survey_sent', { customer: { email: 'uma@example.com' } });
    expect(result.outcome).toBe('completed');
    expect(entry(result, 'branched', 'still-first')).toMatchObject({ branch: 'else' });
    expect(entry(result, 'branched', 'low-score')).toMatchObject({ branch: 'else' });
    expect(mailsTo('uma@example.com')).toHaveLength(0);
  });

  test('a wait that ends on its timer is noted at the exact instant it waited for', async () => {
    const { result } = await run('cart', 'cart_abandoned', {
      customer: { email: 'sam@example.com' },
      properties: { cart_id: 'c13', total: 30 },
      startAt: '2026-11-24T10:00:00Z',
    });
    expect(entry(result, 'waited', 'wait-1')!.at).toBe('2026-11-24T11:00:00.000Z');
  });

  test('profile_updated shows the values as applied: {{ now }} as the time it rendered to', async () => {
    const { result } = await run('branches', 'cart_abandoned', {
      customer: { email: 'tia@example.com', first_name: 'Tia' },
      properties: { cart_id: 'c14' },
      startAt: '2026-11-24T10:00:00Z',
    });
    const updated = result.timeline.find((t) => t.kind === 'profile_updated' && (t.changes as { increment?: unknown }).increment)!;
    const set = (updated.changes as { set: Record<string, unknown> }).set;
    expect(set.source).toBe('cart');
    expect(set.last_nudge_at).toMatch(/^2026-11-2\dT/);
    expect(JSON.stringify(updated.changes)).not.toContain('{{');
  });

  test('a send whose retries run out is skipped as delivery_failed and the journey goes on', async () => {
    let attempts = 0;
    const unreachable = {
      send: async () => {
        attempts += 1;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNREFUSED' });
      },
    };
    const { result } = await run('windows', 'signed_up', {
      customer: { email: 'lou@example.com', renewal_date: '2026-01-01T00:00:00Z' },
      startAt: '2026-11-25T10:00:00Z',
      mailer: unreachable,
    });
    expect(result.outcome).toBe('completed');
    expect(result.timeline.filter((t) => t.kind === 'skipped').map((t) => t.reason)).toEqual(['delivery_failed', 'delivery_failed', 'delivery_failed']);
    // Every send used its whole retry budget (20 attempts each) before giving up.
    expect(attempts).toBe(60);
  }, 120_000);
});
