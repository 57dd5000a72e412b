/**
 * Addresses at the send: whatever a profile holds (an identify, an older row written before the
 * API checked addresses, a rendered `to:`), `sendMessage` parses it again into one canonical
 * address; suppression compares that form, the SMTP envelope carries exactly that one
 * recipient, and text that is not one address is skipped as `invalid_address` with nothing sent.
 * On a real SQLite store and a real SMTP server.
 */
import Database from 'better-sqlite3';
import { DeliveryError, smtpMailer } from '../../activities/mailer';
import { createSendMessage } from '../../activities/send-message';
import type { ActivityDeps, SmsProvider } from '../../activities/types';
import type { TemplatePlan } from '../../compiler/plan';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { cartReminder, sendInput, tempStore } from './helpers';

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let smtp: TestSmtpServer;
const texts: Parameters<SmsProvider['send']>[0][] = [];

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  smtp = await startSmtpServer();
  texts.length = 0;
});

afterEach(async () => {
  await smtp.stop();
  await cleanup();
});

const sms: SmsProvider = {
  name: 'capture',
  async send(message) {
    texts.push(message);
    return { providerId: `sms-${texts.length}` };
  },
};

function deps(): ActivityDeps {
  return { store, mailer: smtpMailer(smtp.url), sms, mailFrom: 'Shop <shop@example.com>' };
}

const smsReminder = (): TemplatePlan => ({ id: 'cart-sms', channel: 'sms', category: 'marketing', body: 'Your cart is waiting', file: 'templates/cart-sms.yaml' });

/** Writes `column` of customer c1 as raw text, as a row from before addresses were checked would hold it. */
function writeRaw(column: 'email' | 'phone', value: string): void {
  const db = new Database(store.file);
  try {
    db.prepare(`UPDATE customers SET ${column} = ? WHERE id = ?`).run(value, 'c1');
  } finally {
    db.close();
  }
}

/** Every recipient the SMTP server was handed, envelope and headers. */
const everyRecipient = () => smtp.messages.flatMap((m) => [...m.envelope.to, m.to]);

describe('a suppressed address written another way', () => {
  it.each([['Ann <ANN@Example.com>'], ['"Smith, Ann" <ann@example.com>'], ['ann@example.com,'], ['ann@example.com;'], ['ANN@EXAMPLE.COM'], [' Ann@example.COM ']])(
    'identify %j: never mailed',
    async (email) => {
      await store.suppress('email', 'ann@example.com', 'complaint', '2024-05-01T00:00:00.000Z');
      await store.identify('c1', { email });
      const result = await createSendMessage(deps())(sendInput(cartReminder(), 'a'));
      expect(result).toMatchObject({ status: 'skipped', reason: 'suppressed' });
      expect(smtp.attempts()).toBe(0);
    },
  );

  it.each([['Ann <ANN@Example.com>'], ['ann@example.com;'], ['ANN@EXAMPLE.COM']])('an older row holding %j: never mailed', async (email) => {
    await store.identify('c1', { first_name: 'Ann' });
    writeRaw('email', email);
    await store.suppress('email', 'ANN@example.com', 'hard_bounce', '2024-05-01T00:00:00.000Z');
    expect(await createSendMessage(deps())(sendInput(cartReminder(), 'a'))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(smtp.attempts()).toBe(0);
  });

  it('a rendered to: override holding the suppressed address another way: never mailed', async () => {
    await store.identify('c1', { email: 'other@example.com', work: 'Ann <ANN@Example.com>;' });
    await store.suppress('email', 'ann@example.com', 'manual', '2024-05-01T00:00:00.000Z');
    expect(await createSendMessage(deps())(sendInput(cartReminder(), 'a', { to: '{{ profile.work }}' }))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(smtp.attempts()).toBe(0);
  });

  it.each([['+1 (555) 010-0000'], ['+1 555.010.0000'], [' +15550100000 ']])('a suppressed phone number written %j: never texted', async (phone) => {
    await store.suppress('sms', '+15550100000', 'manual', '2024-05-01T00:00:00.000Z');
    await store.identify('c1', { first_name: 'Ann' });
    writeRaw('phone', phone);
    expect(await createSendMessage(deps())(sendInput(smsReminder(), 's'))).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(texts).toEqual([]);
  });
});

describe('a stored value that is not exactly one address', () => {
  it.each([
    ['a@x.com, b@y.com'],
    ['a@x.com;b@y.com'],
    ['a@x.com\r\nBcc: evil@z.com'],
    ['Ann <a@x.com>\nBcc: evil@z.com'],
    ['team: a@x.com, b@y.com;'],
    ['not an address'],
    ['@example.com'],
  ])('%j is skipped as invalid_address and nothing reaches the SMTP server', async (email) => {
    await store.identify('c1', { first_name: 'Ann' });
    writeRaw('email', email);
    const result = await createSendMessage(deps())(sendInput(cartReminder(), 'a'));
    expect(result).toMatchObject({ status: 'skipped', reason: 'invalid_address', error: expect.stringMatching(/^the email address /) });
    // The explanation never repeats the address itself.
    expect(JSON.stringify(result)).not.toContain('x.com');
    expect(smtp.attempts()).toBe(0);
    // The skip is final: the same key answers the same without trying again.
    expect(await createSendMessage(deps())(sendInput(cartReminder(), 'a'))).toEqual(result);
    expect((await store.messagesFor('c1'))[0]).toMatchObject({ status: 'skipped' });
  });

  it('a journey profile change that stores two addresses is skipped the same way', async () => {
    await store.identify('c1', { first_name: 'Ann' });
    await store.applyChanges('change-1', 'c1', { set: { email: 'a@x.com, b@y.com' } });
    expect(await createSendMessage(deps())(sendInput(cartReminder(), 'a'))).toMatchObject({ status: 'skipped', reason: 'invalid_address' });
    expect(smtp.attempts()).toBe(0);
  });

  it.each([['+1 555 CALL NOW'], ['0044 20 7946 0958'], ['+15550100000, +15550100001']])('the phone number %j is skipped as invalid_address', async (phone) => {
    await store.identify('c1', { first_name: 'Ann' });
    writeRaw('phone', phone);
    expect(await createSendMessage(deps())(sendInput(smsReminder(), 's'))).toMatchObject({
      status: 'skipped',
      reason: 'invalid_address',
      error: expect.stringMatching(/^the phone number /),
    });
    expect(texts).toEqual([]);
  });

  it('with a fallback channel, the bad email address is passed over and the SMS goes', async () => {
    // SMS is opt-in: this customer said yes.
    await store.identify('c1', { phone: '+15550100000', subscriptions: { sms: { marketing: true } } });
    writeRaw('email', 'a@x.com, b@y.com');
    const result = await createSendMessage(deps())(sendInput(cartReminder(), 'a', { fallbacks: [smsReminder()] }));
    expect(result).toMatchObject({ status: 'sent', channel: 'sms', to: '+15550100000', passedOver: [{ channel: 'email', reason: 'invalid_address' }] });
    expect(smtp.attempts()).toBe(0);
    expect(texts.map((t) => t.to)).toEqual(['+15550100000']);
  });
});

describe('the envelope', () => {
  it.each([['Ann <ANN@Example.com>'], ['"Smith, Ann" <Ann@Example.com>;'], ['ann@example.com,']])('an older row holding %j is mailed to exactly ann@example.com', async (email) => {
    await store.identify('c1', { first_name: 'Ann' });
    writeRaw('email', email);
    const result = await createSendMessage(deps())(sendInput(cartReminder(), 'a'));
    expect(result).toMatchObject({ status: 'sent', to: 'ann@example.com' });
    const [mail] = await smtp.waitFor(1);
    expect(mail.envelope.to).toEqual(['ann@example.com']);
    expect(mail.to).toBe('ann@example.com');
    expect(mail.envelope.from).toBe('shop@example.com');
    expect(everyRecipient()).toEqual(['ann@example.com', 'ann@example.com']);
  });

  it.each([['a@x.com, b@y.com'], ['a@x.com\r\nBcc: evil@z.com'], ['group: a@x.com;']])('the mailer itself refuses %j, permanently, before connecting', async (to) => {
    const mailer = smtpMailer(smtp.url);
    const error = await mailer.send({ from: 'shop@example.com', to, subject: 's', text: 't', messageId: '<m@unbroken>' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ permanent: true, code: 'EADDRESS' });
    expect(smtp.attempts()).toBe(0);
  });

  it('the mailer refuses a From that is not one address', async () => {
    const error = await smtpMailer(smtp.url)
      .send({ from: 'shop@example.com\r\nBcc: evil@z.com', to: 'ann@example.com', subject: 's', text: 't', messageId: '<m@unbroken>' })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ permanent: true, code: 'EADDRESS' });
    expect(smtp.attempts()).toBe(0);
  });
});
