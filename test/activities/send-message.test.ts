import { ApplicationFailure } from '@temporalio/common';
import { captureMailer, smtpMailer } from '../../activities/mailer';
import { createSendMessage, htmlToText, messageIdFor } from '../../activities/send-message';
import type { ActivityDeps } from '../../activities/types';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { cartReminder, sendInput, tempStore } from './helpers';

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let smtp: TestSmtpServer | undefined;

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  await store.identify('c1', { email: 'ada@example.com', first_name: 'Ada' });
});

afterEach(async () => {
  await smtp?.stop();
  smtp = undefined;
  await cleanup();
});

async function withSmtp(opts: Parameters<typeof startSmtpServer>[0] = {}) {
  smtp = await startSmtpServer(opts);
  const deps: ActivityDeps = { store, mailer: smtpMailer(smtp.url), mailFrom: 'Shop <shop@example.com>' };
  return { smtp, sendMessage: createSendMessage(deps) };
}

describe('sendMessage over real SMTP', () => {
  it('sends one mail with the rendered subject and body and a Message-ID derived from the key', async () => {
    const { smtp, sendMessage } = await withSmtp();
    const input = sendInput(cartReminder());
    const result = await sendMessage(input);

    expect(result).toEqual({
      status: 'sent',
      channel: 'email',
      template: 'cart-reminder',
      to: 'ada@example.com',
      subject: 'Ada, you left something in your cart',
      body: 'Your cart: Socks Hat ',
      messageId: messageIdFor(input.idempotencyKey),
    });
    expect(result.status === 'sent' && result.messageId).toMatch(/^<[0-9a-f]{32}@unbroken>$/);
    const [mail] = await smtp.waitFor(1);
    expect(mail).toMatchObject({
      messageId: messageIdFor(input.idempotencyKey),
      from: 'Shop <shop@example.com>',
      to: 'ada@example.com',
      subject: 'Ada, you left something in your cart',
      html: '<p>Hi Ada,</p>',
      envelope: { from: 'shop@example.com', to: ['ada@example.com'] },
    });
    expect(mail?.text?.trim()).toBe('Your cart: Socks Hat');
    expect(mail?.headers['x-unbroken-journey']).toBe('abandoned-cart');
    expect(await store.messagesFor('c1')).toEqual([
      expect.objectContaining({ idempotencyKey: input.idempotencyKey, status: 'sent', result }),
    ]);
  });

  it('HTML-escapes a trait in the html part but leaves the subject and text as written', async () => {
    await store.identify('c1', { first_name: '<script>x</script>' });
    const { smtp, sendMessage } = await withSmtp();
    await sendMessage(sendInput(cartReminder({ text: 'Hi {{ profile.first_name }}' })));
    const [mail] = await smtp.waitFor(1);
    expect(mail?.html).toBe('<p>Hi &lt;script&gt;x&lt;/script&gt;,</p>');
    expect(mail?.subject).toBe('<script>x</script>, you left something in your cart');
    expect(mail?.text?.trim()).toBe('Hi <script>x</script>');
  });

  it('skips with template_error and sends nothing when a variable is missing', async () => {
    const { smtp, sendMessage } = await withSmtp();
    const result = await sendMessage(sendInput(cartReminder({ subject: 'Hi {{ profile.last_name }}' })));
    expect(result).toEqual({
      status: 'skipped',
      channel: 'email',
      template: 'cart-reminder',
      reason: 'template_error',
      error:
        'missing variable "profile.last_name" in subject of template cart-reminder (add | default: "..." right after the name, or set the trait)',
    });
    expect(smtp.attempts()).toBe(0);
  });

  it('uses the default filter when the trait is missing', async () => {
    await store.identify('c1', { first_name: null });
    const { smtp, sendMessage } = await withSmtp();
    const result = await sendMessage(sendInput(cartReminder()));
    expect(result).toMatchObject({ status: 'sent', subject: 'Hi, you left something in your cart' });
    const [mail] = await smtp.waitFor(1);
    expect(mail?.html).toBe('<p>Hi there,</p>');
  });

  it('renders data strings first and lets the template read them', async () => {
    const { smtp, sendMessage } = await withSmtp();
    const result = await sendMessage(
      sendInput(cartReminder({ text: 'Use {{ data.code }} on cart {{ data.cart }}' }), 'reminder', {
        data: { code: 'SAVE10', cart: '{{ trigger.properties.cart_id }}' },
      }),
    );
    expect(result).toMatchObject({ status: 'sent', body: 'Use SAVE10 on cart cart-9' });
    await smtp.waitFor(1);
  });

  it('skips with no_address when the profile has no email and no to is given', async () => {
    await store.identify('c1', { email: null });
    const { smtp, sendMessage } = await withSmtp();
    expect(await sendMessage(sendInput(cartReminder()))).toMatchObject({ status: 'skipped', reason: 'no_address' });
    expect(smtp.attempts()).toBe(0);
  });

  it('sends to a rendered to: override instead of the profile email', async () => {
    await store.identify('c1', { manager_email: 'boss@example.com' });
    const { smtp, sendMessage } = await withSmtp();
    await sendMessage(sendInput(cartReminder(), 'reminder', { to: '{{ profile.manager_email }}' }));
    const [mail] = await smtp.waitFor(1);
    expect(mail?.to).toBe('boss@example.com');
  });

  it('skips marketing mail to an unsubscribed customer but still sends transactional mail', async () => {
    await store.identify('c1', { unsubscribed: true });
    const { smtp, sendMessage } = await withSmtp();
    expect(await sendMessage(sendInput(cartReminder(), 'm'))).toMatchObject({ status: 'skipped', reason: 'unsubscribed' });
    expect(await sendMessage(sendInput(cartReminder({ category: 'transactional' }), 't'))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(sendInput(cartReminder(), 'o', { category: 'transactional' }))).toMatchObject({ status: 'sent' });
    await smtp.waitFor(2);
    expect(smtp.messages).toHaveLength(2);
  });

  it('sends nothing more on a second call with the same key and returns the stored result', async () => {
    const { smtp, sendMessage } = await withSmtp();
    const input = sendInput(cartReminder());
    const first = await sendMessage(input);
    await store.identify('c1', { first_name: 'Changed' });
    const second = await sendMessage(input);
    expect(second).toEqual(first);
    await smtp.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(smtp.attempts()).toBe(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('returns the stored skip on a second call instead of deciding again', async () => {
    await store.identify('c1', { email: null });
    const { smtp, sendMessage } = await withSmtp();
    const input = sendInput(cartReminder());
    await sendMessage(input);
    await store.identify('c1', { email: 'ada@example.com' });
    expect(await sendMessage(input)).toMatchObject({ status: 'skipped', reason: 'no_address' });
    expect(smtp.attempts()).toBe(0);
  });

  it('throws a retryable error on a 451 and sends exactly once on the retry', async () => {
    const { smtp, sendMessage } = await withSmtp({ failFirst: 1 });
    const input = sendInput(cartReminder());
    const error = await sendMessage(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect((error as Error).message).toMatch(/451/);
    expect(smtp.messages).toHaveLength(0);

    const result = await sendMessage(input);
    expect(result.status).toBe('sent');
    const [mail] = await smtp.waitFor(1);
    expect(mail?.messageId).toBe(messageIdFor(input.idempotencyKey));
    await sendMessage(input);
    expect(smtp.attempts()).toBe(2);
    expect(smtp.messages).toHaveLength(1);
  });

  it('throws a non-retryable PermanentDeliveryError on a 550', async () => {
    const { smtp, sendMessage } = await withSmtp({ rejectWith: 550 });
    const error = await sendMessage(sendInput(cartReminder())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
    expect((error as Error).message).toMatch(/550/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('resends a message left in sending by a crashed attempt, under the same Message-ID', async () => {
    const { smtp, sendMessage } = await withSmtp();
    const input = sendInput(cartReminder());
    await store.claimMessage({
      idempotencyKey: input.idempotencyKey,
      customerId: 'c1',
      journeyId: 'abandoned-cart',
      stepId: 'reminder',
      channel: 'email',
      template: 'cart-reminder',
      status: 'sending',
    });
    expect(await sendMessage(input)).toMatchObject({ status: 'sent', messageId: messageIdFor(input.idempotencyKey) });
    const [mail] = await smtp.waitFor(1);
    expect(mail?.messageId).toBe(messageIdFor(input.idempotencyKey));
  });

  it('classifies a refused connection as transient', async () => {
    const { smtp, sendMessage } = await withSmtp();
    await smtp.stop();
    const error = await sendMessage(sendInput(cartReminder())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    // The claim was released, so the next attempt may send.
    expect(await store.messagesFor('c1')).toEqual([]);
  });
});

describe('sendMessage without SMTP', () => {
  it('skips sms and webhook templates with channel_unavailable instead of pretending to send', async () => {
    const mailer = captureMailer();
    const sendMessage = createSendMessage({ store, mailer, mailFrom: 'shop@example.com' });
    const result = await sendMessage(sendInput(cartReminder({ channel: 'sms', html: undefined })));
    expect(result).toEqual({ status: 'skipped', channel: 'sms', template: 'cart-reminder', reason: 'channel_unavailable' });
    expect(mailer.sent).toHaveLength(0);
  });

  it('uses the html part stripped to text as the body when a template has no text part', async () => {
    const mailer = captureMailer();
    const sendMessage = createSendMessage({ store, mailer, mailFrom: 'shop@example.com' });
    const result = await sendMessage(
      sendInput(cartReminder({ text: undefined, html: '<h1>Hi {{ profile.first_name }}</h1><p>A &amp; B<br>C</p>' })),
    );
    expect(result).toMatchObject({ status: 'sent', body: 'Hi Ada\nA & B\nC' });
    expect(mailer.sent[0]).toMatchObject({ from: 'shop@example.com', to: 'ada@example.com' });
  });

  it('strips scripts and styles when turning html into text', () => {
    expect(htmlToText('<style>p{}</style><p>One</p><script>x()</script><p>Two&nbsp;&lt;3</p>')).toBe('One\nTwo <3');
  });
});
