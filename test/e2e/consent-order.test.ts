/**
 * Consent that only moves forward in time, and client clocks that cannot steer entry, on real
 * servers: the live system on a Temporal dev server and a real SMTP server. An identify carrying
 * an old timestamp (a queued or retried call) must not undo a one-click unsubscribe; a date in
 * 9999 must not lock a customer out of a journey with a cool-down; a run of old dates must not
 * enter it more than once per cool-down.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { customerStatus, formatStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { StoredEvent } from '../../profiles/store';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

const DAY = 86_400_000;
const HOUR = 3_600_000;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let tmp: string;

const files: Record<string, string> = {
  'journeys/consent-hello.yaml': 'journey: consent-hello\ntrigger:\n  event: hello_due\nre_entry: always\nsteps:\n  - id: hello\n    send: consent-hello\n',
  'journeys/consent-promo.yaml': 'journey: consent-promo\ntrigger:\n  event: promo_due\nre_entry: always\nsteps:\n  - id: promo\n    send: consent-promo\n',
  'journeys/consent-offer.yaml': 'journey: consent-offer\ntrigger:\n  event: offer_seen\nre_entry: 30d\nsteps:\n  - id: offer\n    send: consent-offer\n',
  'journeys/consent-watch.yaml': [
    'journey: consent-watch',
    'trigger: { event: watch_started }',
    're_entry: always',
    'exit_when:',
    '  - event: preferences_saved',
    '    where: { consent.email.marketing: subscribed }',
    'steps:',
    '  - wait: 4s',
    '  - id: promo',
    '    send: consent-promo',
    '',
  ].join('\n'),
  'templates/consent-hello.yaml': 'template: consent-hello\nchannel: email\nsubject: Hello\ntext: Nice to meet you.\n',
  'templates/consent-promo.yaml': 'template: consent-promo\nchannel: email\nsubject: Spring promotion\ntext: Twenty percent off.\n',
  'templates/consent-offer.yaml': 'template: consent-offer\nchannel: email\nsubject: An offer\ntext: Just for you.\n',
};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-consent-order-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
    fs.writeFileSync(path.join(tmp, name), text);
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

useLiveSystem({ temporal: devServerEnv, definitions: () => tmp, taskQueue: 'consent-order-e2e' }, (servers) => {
  ({ smtp, live, system } = servers);
});

async function post(endpoint: string, body: unknown): Promise<void> {
  const res = await live.post(endpoint, body);
  expect(res).toMatchObject({ status: 200 });
}

const iso = (ms: number) => new Date(ms).toISOString();
const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

/** The customer's runs of a journey once `count` of them have ended. */
async function ended(customer: string, journey: string, count = 1) {
  return until(`${count} ended run(s) of ${journey} for ${customer}`, async () => {
    const runs = (await customerStatus(system.store, customer)).journeys.filter((j) => j.journey === journey);
    return runs.length >= count && runs.every((j) => j.outcome) ? runs : undefined;
  });
}

/** Mails the hello journey to a new customer and unsubscribes them by its one-click link; answers when that happened. */
async function unsubscribedByLink(customer: string): Promise<number> {
  const address = `${customer}@example.com`;
  await post('identify', { userId: customer, traits: { email: address } });
  await post('track', { userId: customer, event: 'hello_due' });
  const hello = await until(`the hello mail to ${customer}`, () => smtp.messages.find((m) => m.to === address));
  const link = /<([^>]+)>/.exec(hello.headers['list-unsubscribe'])![1];
  const res = await fetch(link.replace(/^https?:\/\/[^/]+/, system.apiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });
  expect(res.status).toBe(200);
  const [unsubscribe] = (await system.store.consentHistory(customer)).filter((c) => c.source === 'one_click');
  expect(unsubscribe).toMatchObject({ channel: 'email', category: 'marketing', status: 'unsubscribed', applied: true });
  return Date.parse(unsubscribe.happenedAt);
}

/** Sends the promotion and answers whether the mail went out (true) or was skipped as unsubscribed (false). */
async function promoGoesOut(customer: string): Promise<boolean> {
  await post('track', { userId: customer, event: 'promo_due' });
  const [run] = await ended(customer, 'consent-promo');
  const step = run.steps.find((s) => s.step === 'promo');
  if (step?.kind === 'skipped') {
    expect(step.detail).toMatchObject({ reason: 'unsubscribed' });
    expect(subjectsTo(`${customer}@example.com`)).not.toContain('Spring promotion');
    return false;
  }
  await until(`the promotion to ${customer}`, () => (subjectsTo(`${customer}@example.com`).includes('Spring promotion') ? true : undefined));
  return true;
}

describe('an explicit unsubscribe is never undone by a change older than it', () => {
  test('an identify dated an hour before the one-click unsubscribe changes nothing: the next marketing mail is skipped, status says why', async () => {
    const t = await unsubscribedByLink('olga');
    await post('identify', { userId: 'olga', timestamp: iso(t - HOUR), traits: { subscriptions: { email: { marketing: true } } } });
    expect(await system.store.subscription('olga', 'email', 'marketing')).toBe('unsubscribed');
    expect(await promoGoesOut('olga')).toBe(false);
    const text = formatStatus(await customerStatus(system.store, 'olga'));
    expect(text).toContain(`${iso(t - HOUR)}  email.marketing        subscribed   identify  ignored: older than ${iso(t)}`);
    expect(text).toContain(`${iso(t)}  email.marketing        unsubscribed one_click`);
  });

  test('an identify dated after the unsubscribe subscribes again, and the promotion goes out', async () => {
    const t = await unsubscribedByLink('paul');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await post('identify', { userId: 'paul', timestamp: iso(Date.now()), traits: { subscriptions: { email: { marketing: true } } } });
    expect((await system.store.consentHistory('paul')).at(-1)).toMatchObject({ status: 'subscribed', source: 'identify', applied: true });
    expect(Date.parse((await system.store.consentHistory('paul')).at(-1)!.happenedAt)).toBeGreaterThan(t);
    expect(await promoGoesOut('paul')).toBe(true);
  });

  test('an identify dated the very instant of the unsubscribe loses the tie', async () => {
    const t = await unsubscribedByLink('quinn');
    await post('identify', { userId: 'quinn', timestamp: iso(t), traits: { subscriptions: { email: { marketing: true } } } });
    expect((await system.store.consentHistory('quinn')).map((c) => [c.source, c.status, c.applied])).toEqual([
      ['one_click', 'unsubscribed', true],
      ['identify', 'subscribed', false],
    ]);
    expect(await promoGoesOut('quinn')).toBe(false);
  });

  test('an identify without a timestamp happened when it arrived, after the unsubscribe', async () => {
    await unsubscribedByLink('rosa');
    await post('identify', { userId: 'rosa', traits: { subscriptions: { email: { marketing: true } } } });
    expect(await system.store.subscription('rosa', 'email', 'marketing')).toBe('subscribed');
    expect(await promoGoesOut('rosa')).toBe(true);
  });

  test('an identify dated in the future counts as arriving now: a later unsubscribe by link still wins', async () => {
    await post('identify', { userId: 'sven', traits: { email: 'sven@example.com' } });
    await post('identify', { userId: 'sven', timestamp: '9999-12-31T23:59:59.000Z', traits: { subscriptions: { email: { marketing: true } } } });
    const [stated] = await system.store.consentHistory('sven');
    expect(Date.parse(stated.happenedAt)).toBeLessThanOrEqual(Date.now());
    await unsubscribedByLink('sven');
    expect(await promoGoesOut('sven')).toBe(false);
  });

  test('a batch whose statements arrive out of order ends with the one that happened last', async () => {
    const t = await unsubscribedByLink('tara');
    await post('batch', {
      batch: [
        { type: 'identify', userId: 'tara', timestamp: iso(t + 1), traits: { subscriptions: { email: { marketing: false, news: true } } } },
        { type: 'identify', userId: 'tara', timestamp: iso(t - DAY), traits: { subscriptions: { email: { marketing: true, news: false } } } },
        { type: 'identify', userId: 'tara', timestamp: iso(t - 2 * DAY), traits: { subscriptions: { email: { marketing: true } } } },
      ],
    });
    expect(await system.store.subscription('tara', 'email', 'marketing')).toBe('unsubscribed');
    expect(await system.store.subscription('tara', 'email', 'news')).toBe('subscribed');
    const ignored = (await system.store.consentHistory('tara')).filter((c) => !c.applied).map((c) => `${c.category}=${c.status}`);
    expect(ignored.sort()).toEqual(['marketing=subscribed', 'marketing=subscribed', 'news=unsubscribed']);
    expect(await promoGoesOut('tara')).toBe(false);
  });

  test('an anonymous visitor subscribed before the unsubscribe: merging them into the user does not resubscribe', async () => {
    const t = await unsubscribedByLink('uma');
    await post('identify', { anonymousId: 'anon-uma', timestamp: iso(t - HOUR), traits: { subscriptions: { email: { marketing: true } } } });
    await post('identify', { userId: 'uma', anonymousId: 'anon-uma', traits: { plan: 'pro' } });
    expect(await system.store.subscription('uma', 'email', 'marketing')).toBe('unsubscribed');
    expect((await system.store.consentHistory('uma')).map((c) => c.source)).toEqual(['identify', 'one_click']);
    expect(await promoGoesOut('uma')).toBe(false);
  });
});

describe('a running journey hears consent as the store holds it', () => {
  async function watching(customer: string): Promise<void> {
    await post('track', { userId: customer, event: 'watch_started' });
    await until(`${customer} inside consent-watch`, async () =>
      (await customerStatus(system.store, customer)).journeys.some((j) => j.journey === 'consent-watch' && !j.outcome) ? true : undefined,
    );
  }

  test('an identify dated before the unsubscribe does not satisfy an exit_when on consent: the run goes on and skips the promotion', async () => {
    const t = await unsubscribedByLink('abel');
    await watching('abel');
    await post('identify', { userId: 'abel', timestamp: iso(t - HOUR), traits: { subscriptions: { email: { marketing: true } } } });
    await post('track', { userId: 'abel', event: 'preferences_saved' });
    const [run] = await ended('abel', 'consent-watch');
    expect(run.outcome).toBe('completed');
    expect(run.steps.find((s) => s.step === 'promo')).toMatchObject({ kind: 'skipped', detail: expect.objectContaining({ reason: 'unsubscribed' }) });
    expect(subjectsTo('abel@example.com')).toEqual(['Hello']);
  });

  test('an identify dated after the unsubscribe does: the run exits', async () => {
    await unsubscribedByLink('bea');
    await watching('bea');
    await post('identify', { userId: 'bea', traits: { subscriptions: { email: { marketing: true } } } });
    await post('track', { userId: 'bea', event: 'preferences_saved' });
    const [run] = await ended('bea', 'consent-watch');
    expect(run.outcome).toBe('exited');
  });
});

describe('client clocks cannot steer entry and re-entry', () => {
  /** Stores a call the way the event API does, with the arrival time given, and waits for the router loop to route it. */
  async function deliver(customer: string, messageId: string, timestamp: string, receivedAt: string): Promise<void> {
    const event: StoredEvent = { messageId, type: 'track', customerId: customer, userId: customer, event: 'offer_seen', timestamp, receivedAt };
    expect(await system.store.recordEvent(event)).toEqual({ status: 'new' });
    await live.routed();
  }

  test('an event dated 9999 enters at its arrival, so a month later the customer enters again', async () => {
    await post('identify', { userId: 'vera', traits: { email: 'vera@example.com' } });
    // Accepted 31 days ago while journeys could not be reached, routed now by the router loop.
    const arrived = Date.now() - 31 * DAY;
    await deliver('vera', 'vera-9999', '9999-12-31T00:00:00.000Z', iso(arrived));
    const [first] = await ended('vera', 'consent-offer');
    expect(first.entered_at).toBe(iso(arrived));
    await post('track', { userId: 'vera', event: 'offer_seen' });
    const runs = await ended('vera', 'consent-offer', 2);
    expect(runs.map((r) => r.entry).sort()).toEqual([1, 2]);
    expect(subjectsTo('vera@example.com')).toEqual(['An offer', 'An offer']);
  });

  test('an event dated 9999 arriving now starts the cool-down now, not in 9999', async () => {
    await post('identify', { userId: 'wim', traits: { email: 'wim@example.com' } });
    const before = Date.now();
    await post('track', { userId: 'wim', event: 'offer_seen', timestamp: '9999-12-31T00:00:00.000Z' });
    const [run] = await ended('wim', 'consent-offer');
    expect(Date.parse(run.entered_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(run.entered_at)).toBeLessThanOrEqual(Date.now());
    const refused = await system.store.tryEnrol({
      journeyId: 'consent-offer',
      customerId: 'wim',
      version: (await system.store.deployedJourneys()).find((j) => j.journeyId === 'consent-offer')!.version,
      reEntry: { mode: 'cooldown', ms: 30 * DAY },
      at: iso(Date.now()),
      workflowIdPrefix: 'unused',
      input: null,
    });
    expect(refused).toMatchObject({ enrolled: false, reason: 're_entry_cooldown' });
    expect(Date.parse((refused as { until: string }).until)).toBeLessThan(Date.now() + 31 * DAY);
  });

  test('events dated months apart, all arriving now, enter once within the 30-day cool-down', async () => {
    // Without the clamp each of these would be a month past the one before and enter again.
    const dated = { xena: [100, 65, 31], yuri: [40, 5, 0.5], zoe: [60, 45, 31] };
    for (const [customer, ages] of Object.entries(dated)) {
      await post('identify', { userId: customer, traits: { email: `${customer}@example.com` } });
      for (const days of ages) {
        await post('track', { userId: customer, event: 'offer_seen', timestamp: iso(Date.now() - days * DAY) });
        await ended(customer, 'consent-offer');
      }
    }
    // The later offers, whose runs the cool-down refused, are routed too.
    await live.routed();
    for (const customer of Object.keys(dated)) {
      const runs = (await customerStatus(system.store, customer)).journeys.filter((j) => j.journey === 'consent-offer');
      expect(runs).toHaveLength(1);
      // It entered at the earliest time entry accepts: a day before it arrived.
      expect(Date.now() - Date.parse(runs[0].entered_at)).toBeGreaterThanOrEqual(DAY);
      expect(Date.now() - Date.parse(runs[0].entered_at)).toBeLessThan(DAY + 60_000);
      expect(subjectsTo(`${customer}@example.com`)).toEqual(['An offer']);
    }
  });
});
