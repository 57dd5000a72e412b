/**
 * Consent, suppression, frequency caps and the SMS/webhook channels of `sendMessage`, on a real
 * SQLite store and a real SMTP server. Caps are evaluated at `input.now` (the journey's clock),
 * so every test moves time by passing a later `now`, never by waiting.
 */
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import Database from 'better-sqlite3';
import { SMTPServer } from 'smtp-server';
import { createActivities } from '../../activities';
import { captureMailer, smtpMailer } from '../../activities/mailer';
import { createSendMessage, messageIdFor } from '../../activities/send-message';
import type { ActivityDeps, DeliveryPolicy, SendMessageInput, SmsProvider, WebhookSender } from '../../activities/types';
import type { TemplatePlan } from '../../compiler/plan';
import { shortUnsubscribeLinks, SHORT_CODE_LENGTH } from '../../delivery/short-links';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import type { UnsubscribeCode } from '../../profiles/store';
import { parseFrequencyCaps, DEFAULT_FREQUENCY_CAPS } from '../../worker/config';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { cartReminder, sendInput, tempStore } from './helpers';

const T0 = '2024-05-01T11:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

/** A delivery policy with the default caps and an unsubscribe URL a test can recognise. */
function policy(overrides: Partial<DeliveryPolicy> = {}): DeliveryPolicy {
  return {
    caps: parseFrequencyCaps(DEFAULT_FREQUENCY_CAPS).caps,
    unsubscribeUrl: (customerId, channel, category) => `https://mail.example.com/u/${customerId}/${channel}/${category}?t=signed`,
    shortUnsubscribe: shortUnsubscribeLinks('https://sms.example.com', 60 * DAY, () => new Date(T0)),
    ...overrides,
  };
}

/** A send of `template` for step `step`, at T0 + offset on the journey clock. */
function send(template: TemplatePlan, step: string, offsetMs = 0, extra: Partial<SendMessageInput> = {}): SendMessageInput {
  return sendInput(template, step, { now: at(offsetMs), ...extra });
}

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
const servers: { stop(): Promise<void> }[] = [];

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  await store.identify('c1', { email: 'ada@example.com', phone: '+15550001111', first_name: 'Ada' });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await cleanup();
});

async function smtp(opts: Parameters<typeof startSmtpServer>[0] = {}): Promise<TestSmtpServer> {
  const server = await startSmtpServer(opts);
  servers.push(server);
  return server;
}

/** An SMTP server that refuses the recipient itself (RCPT TO) with `code`: a hard bounce. */
async function bouncingSmtp(code: number): Promise<{ url: string; rcptAttempts: () => number }> {
  let rcpt = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      rcpt += 1;
      callback(Object.assign(new Error('No such user here'), { responseCode: code }));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  servers.push({ stop: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, rcptAttempts: () => rcpt };
}

function deps(mailerUrl: string | undefined, extra: Partial<ActivityDeps> = {}): ActivityDeps {
  return {
    store,
    mailer: mailerUrl === undefined ? captureMailer() : smtpMailer(mailerUrl),
    mailFrom: 'Shop <shop@example.com>',
    delivery: policy(),
    ...extra,
  };
}

const transactional = () => cartReminder({ id: 'receipt', category: 'transactional', subject: 'Your receipt' });

describe('consent', () => {
  it('skips marketing mail after an unsubscribe, records it, and still sends transactional mail', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    await store.setSubscription('c1', 'email', 'marketing', 'unsubscribed', 'link', at(0));

    const skipped = await sendMessage(send(cartReminder(), 'm'));
    expect(skipped).toEqual({ status: 'skipped', channel: 'email', template: 'cart-reminder', reason: 'unsubscribed' });
    expect(await sendMessage(send(transactional(), 't'))).toMatchObject({ status: 'sent' });
    // A step that overrides the category to transactional goes out too.
    expect(await sendMessage(send(cartReminder(), 'o', 0, { category: 'transactional' }))).toMatchObject({ status: 'sent' });
    // Another category of the same channel is not affected.
    expect(await sendMessage(send(cartReminder(), 'n', 0, { category: 'newsletter' }))).toMatchObject({ status: 'sent' });

    await server.waitFor(3);
    expect(server.messages.map((m) => m.subject)).toEqual(['Your receipt', 'Ada, you left something in your cart', 'Ada, you left something in your cart']);
    expect((await store.messagesFor('c1')).find((m) => m.stepId === 'm')).toMatchObject({ status: 'skipped', result: skipped });
  });

  it('honours subscriptions set through identify traits', async () => {
    const mailer = captureMailer();
    const sendMessage = createSendMessage({ ...deps(undefined), mailer });
    await store.identify('c1', { subscriptions: { email: { marketing: false } } });
    expect(await sendMessage(send(cartReminder(), 'a'))).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    await store.identify('c1', { subscriptions: { email: { marketing: true } } });
    expect(await sendMessage(send(cartReminder(), 'b'))).toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('skips a suppressed address whatever its spelling, for transactional mail too', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    await store.suppress('email', 'ADA@example.com', 'complaint', at(0));
    expect(await sendMessage(send(cartReminder(), 'm'))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(await sendMessage(send(transactional(), 't'))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    // A to: override to another address is not suppressed.
    expect(await sendMessage(send(cartReminder(), 'x', 0, { to: 'other@example.com' }))).toMatchObject({ status: 'sent' });
    await server.waitFor(1);
    expect(server.attempts()).toBe(1);
  });

  it('suppresses the address on a hard bounce, gives the slot back and fails without retry', async () => {
    const bouncing = await bouncingSmtp(550);
    const sendMessage = createSendMessage(deps(bouncing.url, { delivery: policy({ caps: [{ channel: 'email', category: 'marketing', max: 1, windowMs: DAY }] }) }));
    const error = await sendMessage(send(cartReminder(), 'm')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
    expect(await store.suppression('email', 'ada@example.com')).toBe('hard_bounce');
    // The slot was released (the next send is not capped) and the address is never tried again.
    expect(await sendMessage(send(cartReminder(), 'n', HOUR))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(bouncing.rcptAttempts()).toBe(1);
    expect(await store.reserveSendSlot({ idempotencyKey: 'probe', customerId: 'c1', channel: 'email', category: 'marketing', journeyId: 'x', at: at(HOUR), caps: [{ max: 1, windowMs: DAY }] })).toEqual({ allowed: true });
  });

  it('does not suppress on a refused DATA (content or policy), only on a refused recipient', async () => {
    const server = await smtp({ rejectWith: 550 });
    const sendMessage = createSendMessage(deps(server.url));
    await expect(sendMessage(send(cartReminder(), 'm'))).rejects.toBeInstanceOf(ApplicationFailure);
    expect(await store.suppression('email', 'ada@example.com')).toBeUndefined();
  });
});

describe('unsubscribe links', () => {
  it('adds one-click List-Unsubscribe headers to marketing mail only, with the policy URL', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    await sendMessage(send(cartReminder(), 'm'));
    await sendMessage(send(transactional(), 't'));
    const [marketing, receipt] = await server.waitFor(2).then((all) => [
      all.find((m) => m.subject !== 'Your receipt'),
      all.find((m) => m.subject === 'Your receipt'),
    ]);
    expect(marketing?.headers['list-unsubscribe']).toBe('<https://mail.example.com/u/c1/email/marketing?t=signed>');
    expect(marketing?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(receipt?.headers).not.toHaveProperty('list-unsubscribe');
    expect(receipt?.headers).not.toHaveProperty('list-unsubscribe-post');
  });

  it('adds no headers without a delivery policy', async () => {
    const mailer = captureMailer();
    await createSendMessage({ store, mailer, mailFrom: 'shop@example.com' })(send(cartReminder(), 'm'));
    expect(Object.keys(mailer.sent[0]?.headers ?? {})).toEqual(['X-Unbroken-Journey', 'X-Unbroken-Step']);
  });

  it('renders {{ unsubscribe_url }} in text and html, and fails to render it for transactional mail', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    const template = cartReminder({ text: 'Stop: {{ unsubscribe_url }}', html: '<a href="{{ unsubscribe_url }}">stop</a>' });
    expect(await sendMessage(send(template, 'm', 0, { category: 'newsletter' }))).toMatchObject({
      status: 'sent',
      body: 'Stop: https://mail.example.com/u/c1/email/newsletter?t=signed',
    });
    const [mail] = await server.waitFor(1);
    expect(mail?.html).toBe('<a href="https://mail.example.com/u/c1/email/newsletter?t=signed">stop</a>');
    // Transactional mail has no unsubscribe link, so a template asking for one is an error …
    expect(await sendMessage(send(template, 't', 0, { category: 'transactional' }))).toMatchObject({
      status: 'skipped',
      reason: 'template_error',
    });
    // … unless it says what to show instead.
    const optional = cartReminder({ text: 'x{{ unsubscribe_url | default: "" }}', html: undefined });
    expect(await sendMessage(send(optional, 'u', 0, { category: 'transactional' }))).toMatchObject({ status: 'sent', body: 'x' });
  });
});

describe('frequency caps', () => {
  it('skips the third marketing mail within 24 hours with frequency_cap and sends nothing', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    expect(await sendMessage(send(cartReminder(), 'a', 0))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'b', HOUR))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'c', 2 * HOUR))).toEqual({
      status: 'skipped',
      channel: 'email',
      template: 'cart-reminder',
      reason: 'frequency_cap',
    });
    // Transactional mail has no cap configured.
    expect(await sendMessage(send(transactional(), 't', 3 * HOUR))).toMatchObject({ status: 'sent' });
    await server.waitFor(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.attempts()).toBe(3);
  });

  it('with on_cap defer answers deferred with the time a slot frees, and the retry then sends', async () => {
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url));
    await sendMessage(send(cartReminder(), 'a', 0));
    await sendMessage(send(cartReminder(), 'b', HOUR));
    const deferred = send(cartReminder(), 'c', 2 * HOUR, { onCap: 'defer' });
    expect(await sendMessage(deferred)).toEqual({
      status: 'deferred',
      channel: 'email',
      template: 'cart-reminder',
      reason: 'frequency_cap',
      retryAt: at(DAY),
    });
    await server.waitFor(2);
    expect(server.attempts()).toBe(2);
    // Nothing recorded for the deferred key, so the retry can claim it.
    expect((await store.messagesFor('c1')).map((m) => m.stepId)).toEqual(['a', 'b']);

    const retried = await sendMessage({ ...deferred, now: at(DAY) });
    expect(retried).toMatchObject({ status: 'sent', messageId: messageIdFor(deferred.idempotencyKey) });
    await server.waitFor(3);
    expect(await sendMessage({ ...deferred, now: at(DAY + HOUR) })).toEqual(retried);
    expect(server.attempts()).toBe(3);
  });

  it('defers until the weekly cap frees when it is the one that binds', async () => {
    const sendMessage = createSendMessage(deps(undefined));
    for (const [i, day] of [0, 1, 2, 3, 4].entries()) {
      expect(await sendMessage(send(cartReminder(), `d${i}`, day * DAY))).toMatchObject({ status: 'sent' });
    }
    expect(await sendMessage(send(cartReminder(), 'd5', 5 * DAY, { onCap: 'defer' }))).toMatchObject({
      status: 'deferred',
      retryAt: at(7 * DAY),
    });
  });

  it('takes one slot per key however often the send is retried', async () => {
    const server = await smtp({ failFirst: 1 });
    const sendMessage = createSendMessage(deps(server.url));
    const first = send(cartReminder(), 'a', 0);
    await expect(sendMessage(first)).rejects.toThrow(/451/);
    expect(await sendMessage({ ...first, now: at(HOUR) })).toMatchObject({ status: 'sent' });
    // If the retry had taken a second slot, this one would be capped.
    expect(await sendMessage(send(cartReminder(), 'b', 2 * HOUR))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'c', 3 * HOUR))).toMatchObject({ status: 'skipped', reason: 'frequency_cap' });
    await server.waitFor(2);
  });

  it('gives the slot back when a send fails for good', async () => {
    const refusing = await smtp({ rejectWith: 554 });
    const one = policy({ caps: [{ channel: 'email', category: 'marketing', max: 1, windowMs: DAY }] });
    await expect(createSendMessage(deps(refusing.url, { delivery: one }))(send(cartReminder(), 'a', 0))).rejects.toBeInstanceOf(
      ApplicationFailure,
    );
    const accepting = await smtp();
    expect(await createSendMessage(deps(accepting.url, { delivery: one }))(send(cartReminder(), 'b', HOUR))).toMatchObject({
      status: 'sent',
    });
  });

  it('applies the journey cap to this journey only, on top of the global caps', async () => {
    const sendMessage = createSendMessage(deps(undefined, { delivery: policy({ caps: [] }) }));
    const journeyCap = { max: 1, windowMs: DAY };
    expect(await sendMessage(send(cartReminder(), 'a', 0, { journeyCap }))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'b', HOUR, { journeyCap, onCap: 'defer' }))).toMatchObject({
      status: 'deferred',
      retryAt: at(DAY),
    });
    const elsewhere = send(cartReminder(), 'w', HOUR, { journeyCap });
    elsewhere.context = { ...elsewhere.context, journeyId: 'welcome', workflowId: 'journey:welcome:c1' };
    elsewhere.idempotencyKey = 'journey:welcome:c1/v1/w';
    expect(await sendMessage(elsewhere)).toMatchObject({ status: 'sent' });
  });
});

/** Every stored short unsubscribe code, oldest first. */
async function rows(): Promise<UnsubscribeCode[]> {
  const db = new Database(store.file, { readonly: true });
  try {
    const codes = db.prepare('SELECT code FROM unsubscribe_codes ORDER BY rowid').all() as { code: string }[];
    const found = await Promise.all(codes.map(({ code }) => store.unsubscribeCode(code)));
    return found.filter((row): row is UnsubscribeCode => row !== undefined);
  } finally {
    db.close();
  }
}

/** An SMS provider that records what it was asked to send. */
function fakeSms(fail?: Error): SmsProvider & { sent: Parameters<SmsProvider['send']>[0][] } {
  const sent: Parameters<SmsProvider['send']>[0][] = [];
  return {
    name: 'fake',
    sent,
    async send(message) {
      if (fail) throw fail;
      sent.push({ ...message });
      return { providerId: `SM${sent.length}` };
    },
  };
}

/** A webhook sender that records what it was asked to send. */
function fakeWebhook(): WebhookSender & { sent: Parameters<WebhookSender['send']>[0][] } {
  const sent: Parameters<WebhookSender['send']>[0][] = [];
  return {
    sent,
    async send(message) {
      sent.push({ ...message });
      return { status: 200 };
    },
  };
}

const smsTemplate = (overrides: Partial<TemplatePlan> = {}): TemplatePlan => ({
  id: 'cart-sms',
  channel: 'sms',
  category: 'marketing',
  body: 'Hi {{ profile.first_name }}, your cart is waiting. Stop: {{ unsubscribe_url }}',
  file: 'templates/cart-sms.yaml',
  ...overrides,
});

const webhookTemplate = (overrides: Partial<TemplatePlan> = {}): TemplatePlan => ({
  id: 'crm-note',
  channel: 'webhook',
  category: 'transactional',
  url: 'https://crm.example.com/hooks/{{ journey.id }}',
  body: '{"customer": {{ profile.id | json }}, "cart": {{ trigger.properties.cart_id | json }}}',
  file: 'templates/crm-note.yaml',
  ...overrides,
});

describe('sms channel', () => {
  // Marketing SMS are opt-in: these customers said yes, as anyone who gets one must have.
  const subscribeToSms = () => store.setSubscription('c1', 'sms', 'marketing', 'subscribed', 'identify', at(0));

  it('sends the rendered body to the profile phone once per key, with the idempotency key', async () => {
    await subscribeToSms();
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    const input = send(smsTemplate({ from: 'Shop' }), 's');
    const result = await sendMessage(input);
    const body = 'Hi Ada, your cart is waiting. Stop: https://mail.example.com/u/c1/sms/marketing?t=signed';
    expect(result).toEqual({ status: 'sent', channel: 'sms', template: 'cart-sms', to: '+15550001111', subject: '', body, messageId: 'SM1' });
    expect(sms.sent).toEqual([{ to: '+15550001111', body, from: 'Shop', idempotencyKey: input.idempotencyKey }]);
    expect(await sendMessage(input)).toEqual(result);
    expect(sms.sent).toHaveLength(1);
  });

  it('skips without a phone, for a suppressed number and for an unsubscribed customer', async () => {
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    await store.setSubscription('c1', 'sms', 'marketing', 'unsubscribed', 'api', at(0));
    expect(await sendMessage(send(smsTemplate(), 'a'))).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    // Email consent is separate from SMS consent.
    expect(await sendMessage(send(cartReminder(), 'e'))).toMatchObject({ status: 'sent' });
    await store.suppress('sms', ' +15550001111 ', 'carrier_block', at(0));
    expect(await sendMessage(send(smsTemplate(), 'b', 0, { category: 'transactional' }))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    await store.identify('c1', { phone: null });
    expect(await sendMessage(send(smsTemplate(), 'c', 0, { category: 'transactional' }))).toMatchObject({ status: 'skipped', reason: 'no_address' });
    expect(sms.sent).toEqual([]);
  });

  it('renders {{ unsubscribe_short_url }} as <public url>/u/<code>, and a retry of the same key renders the same code', async () => {
    await subscribeToSms();
    const flaky = fakeSms(new Error('provider timed out'));
    const template = smsTemplate({ body: 'Cart waiting. Stop: {{ unsubscribe_short_url }}' });
    const input = send(template, 's');
    await expect(createSendMessage(deps(undefined, { sms: flaky }))(input)).rejects.toThrow('provider timed out');
    const [code] = (await rows()).map((row) => row.code);
    expect(code).toMatch(new RegExp(`^[0-9A-Za-z]{${SHORT_CODE_LENGTH}}$`));

    const sms = fakeSms();
    const result = await createSendMessage(deps(undefined, { sms }))(input);
    expect(result).toMatchObject({ status: 'sent', body: `Cart waiting. Stop: https://sms.example.com/u/${code}` });
    expect(sms.sent.map((m) => m.body)).toEqual([`Cart waiting. Stop: https://sms.example.com/u/${code}`]);
    // One row for the key, acting on this customer's sms marketing, living as long as the signed link.
    expect(await rows()).toEqual([
      { code, idempotencyKey: input.idempotencyKey, customerId: 'c1', channel: 'sms', category: 'marketing', createdAt: T0, expiresAt: at(60 * DAY) },
    ]);
    expect(await store.unsubscribeCode(code ?? '')).toMatchObject({ customerId: 'c1', channel: 'sms', category: 'marketing' });

    // Another send is another code.
    const other = await createSendMessage(deps(undefined, { sms }))(send(template, 't'));
    expect(other).toMatchObject({ status: 'sent' });
    expect((await rows()).map((row) => row.code)).toHaveLength(2);
    expect(other.status === 'sent' && other.body).not.toContain(String(code));
  });

  it('draws no code for a send whose template does not read the short link, nor for transactional messages', async () => {
    await subscribeToSms();
    const server = await smtp();
    const sendMessage = createSendMessage(deps(server.url, { sms: fakeSms() }));
    expect(await sendMessage(send(smsTemplate(), 'long'))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder({ text: 'Stop: {{ unsubscribe_url }}' }), 'mail'))).toMatchObject({ status: 'sent' });
    // Transactional: no link at all, so reading it is a template error, as for unsubscribe_url.
    const receipt = smsTemplate({ body: 'Stop: {{ unsubscribe_short_url }}', category: 'transactional' });
    expect(await sendMessage(send(receipt, 'receipt'))).toMatchObject({ status: 'skipped', reason: 'template_error' });
    expect(await rows()).toEqual([]);
    // In email it works too (and is harmless), stored for the email channel.
    const mail = await sendMessage(send(cartReminder({ text: 'Stop: {{ unsubscribe_short_url }}', html: undefined }), 'short-mail'));
    expect(mail).toMatchObject({ status: 'sent', body: expect.stringMatching(/^Stop: https:\/\/sms\.example\.com\/u\/[0-9A-Za-z]{10}$/) });
    expect((await rows()).map((row) => row.channel)).toEqual(['email']);
  });

  it('fails without retry and gives the slot back when the provider refuses for good', async () => {
    await subscribeToSms();
    const sms = fakeSms(ApplicationFailure.nonRetryable('invalid number', 'PermanentDeliveryError'));
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    await expect(sendMessage(send(smsTemplate(), 'a'))).rejects.toMatchObject({ nonRetryable: true, message: 'invalid number' });
    expect(await store.reserveSendSlot({ idempotencyKey: 'probe', customerId: 'c1', channel: 'sms', category: 'marketing', journeyId: 'x', at: at(0), caps: [{ max: 1, windowMs: DAY }] })).toEqual({ allowed: true });
    expect(await store.messagesFor('c1')).toEqual([]);
  });
});

describe('consent defaults per channel', () => {
  it('sends no marketing sms to a customer who never subscribed, but transactional sms and opt-out email go', async () => {
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    expect(await sendMessage(send(smsTemplate(), 'm'))).toEqual({ status: 'skipped', channel: 'sms', template: 'cart-sms', reason: 'unsubscribed' });
    expect(await sendMessage(send(smsTemplate({ body: 'Your code is 1234' }), 't', 0, { category: 'transactional' }))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'e'))).toMatchObject({ status: 'sent' });
    await store.identify('c1', { subscriptions: { sms: { marketing: true } } });
    expect(await sendMessage(send(smsTemplate(), 'm2'))).toMatchObject({ status: 'sent', channel: 'sms' });
    expect(sms.sent).toHaveLength(2);
  });

  it('follows the configured modes: sms opt-out sends without a statement, email opt-in does not', async () => {
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms, delivery: policy({ consentModes: { sms: 'opt-out', email: 'opt-in' } }) }));
    expect(await sendMessage(send(smsTemplate(), 's'))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(send(cartReminder(), 'e'))).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    // An explicit statement always decides, whatever the mode.
    await store.setSubscription('c1', 'sms', 'marketing', 'unsubscribed', 'link', at(0));
    expect(await sendMessage(send(smsTemplate(), 's2'))).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
  });
});

describe('channel fallback', () => {
  /** One message, as an sms (its own channel) with an email section, in the order the step lists them. */
  const nudge = (channels: ('sms' | 'email')[]): SendMessageInput => {
    const template = smsTemplate({ id: 'nudge', body: 'Hi {{ profile.first_name }}, finish setting up', alternatives: { email: { subject: 'Finish setting up', text: 'Hi {{ profile.first_name }}' } } });
    const email: TemplatePlan = { id: 'nudge', channel: 'email', category: 'marketing', subject: 'Finish setting up', text: 'Hi {{ profile.first_name }}', file: template.file };
    const { alternatives: _alternatives, ...sms } = template;
    const [first, ...fallbacks] = channels.map((c) => (c === 'sms' ? sms : email));
    return send(first, 'nudge', 0, { fallbacks });
  };

  it('takes the next channel when the customer may not get the first, and says why', async () => {
    const sms = fakeSms();
    const mailer = captureMailer();
    const sendMessage = createSendMessage({ ...deps(undefined, { sms }), mailer });
    const result = await sendMessage(nudge(['sms', 'email']));
    expect(result).toMatchObject({ status: 'sent', channel: 'email', to: 'ada@example.com', subject: 'Finish setting up', passedOver: [{ channel: 'sms', reason: 'unsubscribed' }] });
    expect(mailer.sent).toHaveLength(1);
    expect(sms.sent).toHaveLength(0);
    // One key, one message: a second call returns the stored result and sends nothing.
    expect(await sendMessage(nudge(['sms', 'email']))).toEqual(result);
    expect(mailer.sent).toHaveLength(1);
  });

  it('takes the first channel when the customer can and may get it', async () => {
    await store.setSubscription('c1', 'sms', 'marketing', 'subscribed', 'identify', at(0));
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    const result = await sendMessage(nudge(['sms', 'email']));
    expect(result).toMatchObject({ status: 'sent', channel: 'sms', to: '+15550001111' });
    expect(result).not.toHaveProperty('passedOver');
  });

  it('passes over a channel without an address or a suppressed one, and skips with no_channel when none is left', async () => {
    const sms = fakeSms();
    const sendMessage = createSendMessage(deps(undefined, { sms }));
    await store.identify('c1', { phone: null });
    await store.suppress('email', 'ada@example.com', 'complaint', at(0));
    expect(await sendMessage(nudge(['sms', 'email']))).toEqual({
      status: 'skipped',
      channel: 'sms',
      template: 'nudge',
      reason: 'no_channel',
      passedOver: [
        { channel: 'sms', reason: 'no_address' },
        { channel: 'email', reason: 'suppressed' },
      ],
    });
    expect(sms.sent).toEqual([]);
  });
});

describe('webhook channel', () => {
  it('posts the rendered JSON body to the rendered URL, needing no customer address', async () => {
    await store.identify('c1', { email: null, phone: null });
    const webhook = fakeWebhook();
    const sendMessage = createSendMessage(deps(undefined, { webhook }));
    const input = send(webhookTemplate(), 'w');
    const body = '{"customer": "c1", "cart": "cart-9"}';
    expect(await sendMessage(input)).toEqual({
      status: 'sent',
      channel: 'webhook',
      template: 'crm-note',
      to: 'https://crm.example.com/hooks/abandoned-cart',
      subject: '',
      body,
      messageId: messageIdFor(input.idempotencyKey),
    });
    expect(webhook.sent).toEqual([{ url: 'https://crm.example.com/hooks/abandoned-cart', body, idempotencyKey: input.idempotencyKey }]);
  });

  it.each([
    ['../admin', 'https://crm.example.com/teams/..%2Fadmin/hook?ref=r1'],
    ['a/b', 'https://crm.example.com/teams/a%2Fb/hook?ref=r1'],
    ['x?admin=1#frag', 'https://crm.example.com/teams/x%3Fadmin%3D1%23frag/hook?ref=r1'],
    ['sales team', 'https://crm.example.com/teams/sales%20team/hook?ref=r1'],
  ])('percent-encodes a value inserted into the URL (%s), so it cannot change the path or query', async (team, url) => {
    await store.identify('c1', { team, ref: 'r1' });
    const webhook = fakeWebhook();
    const sendMessage = createSendMessage(deps(undefined, { webhook }));
    await sendMessage(send(webhookTemplate({ url: 'https://crm.example.com/teams/{{ profile.team }}/hook?ref={{ profile.ref }}' }), `u-${team}`));
    expect(webhook.sent.map((m) => m.url)).toEqual([url]);
  });

  it('takes a URL that is one expression as it is, and | raw opts a value out of encoding', async () => {
    await store.identify('c1', { hook: 'https://hooks.example.com/in?key=k', section: 'a/b' });
    const webhook = fakeWebhook();
    const sendMessage = createSendMessage(deps(undefined, { webhook }));
    await sendMessage(send(webhookTemplate({ url: '{{ profile.hook }}' }), 'whole'));
    await sendMessage(send(webhookTemplate({ url: 'https://crm.example.com/{{ profile.section | raw }}' }), 'raw'));
    expect(webhook.sent.map((m) => m.url)).toEqual(['https://hooks.example.com/in?key=k', 'https://crm.example.com/a/b']);
  });

  it('skips with template_error when the body is not JSON once rendered', async () => {
    const webhook = fakeWebhook();
    const sendMessage = createSendMessage(deps(undefined, { webhook }));
    await store.identify('c1', { first_name: 'Ada "the" Countess' });
    const result = await sendMessage(send(webhookTemplate({ body: '{"name": "{{ profile.first_name }}"}' }), 'w'));
    expect(result).toMatchObject({ status: 'skipped', reason: 'template_error' });
    expect(result.status === 'skipped' && result.error).toMatch(/body of template crm-note is not JSON once rendered/);
    expect(webhook.sent).toEqual([]);
  });

  it('skips with no_address when the template has no URL', async () => {
    const webhook = fakeWebhook();
    const sendMessage = createSendMessage(deps(undefined, { webhook }));
    expect(await sendMessage(send(webhookTemplate({ url: undefined }), 'w'))).toMatchObject({ status: 'skipped', reason: 'no_address' });
  });
});

describe('channels without a provider', () => {
  it('skip with channel_unavailable and take no cap slot', async () => {
    const sendMessage = createSendMessage(deps(undefined));
    for (const [step, template] of [['s', smsTemplate()], ['w', webhookTemplate()]] as const) {
      expect(await sendMessage(send(template, step))).toEqual({
        status: 'skipped',
        channel: template.channel,
        template: template.id,
        reason: 'channel_unavailable',
      });
    }
    expect(await store.reserveSendSlot({ idempotencyKey: 'probe', customerId: 'c1', channel: 'sms', category: 'marketing', journeyId: 'x', at: at(0), caps: [{ max: 1, windowMs: DAY }] })).toEqual({ allowed: true });
  });

  it('createActivities hands the sms and webhook providers to sendMessage', async () => {
    await store.setSubscription('c1', 'sms', 'marketing', 'subscribed', 'identify', at(0));
    const sms = fakeSms();
    const webhook = fakeWebhook();
    const activities = createActivities(deps(undefined, { sms, webhook }));
    await activities.sendMessage!(send(smsTemplate(), 's'));
    await activities.sendMessage!(send(webhookTemplate(), 'w'));
    expect(sms.sent).toHaveLength(1);
    expect(webhook.sent).toHaveLength(1);
  });
});
