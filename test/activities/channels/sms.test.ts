import { ApplicationFailure } from '@temporalio/common';
import { createSmsProvider, logSmsProvider, normalizePhoneNumber, twilioSmsProvider } from '../../../activities/channels';
import { DeliveryError } from '../../../activities/mailer';
import { rejection, startReceiver, type Receiver } from './receiver';

const KEY = 'journey:abandoned-cart:c1/v1abc/sms';
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'secret-token';

let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
  receiver.respond = () => ({ status: 201, body: JSON.stringify({ sid: 'SM42', status: 'queued' }) });
});

afterEach(async () => {
  await receiver.close();
});

function twilio() {
  return twilioSmsProvider({ accountSid: SID, authToken: TOKEN, from: '+15005550006', baseUrl: `${receiver.base}/` });
}

describe('twilio SMS provider', () => {
  it('POSTs To, From and Body form-encoded with Basic auth and the idempotency token, and returns the message sid', async () => {
    const result = await twilio().send({ to: '+49 151 1234-5678', body: 'Hi Ada & co: 50% off', idempotencyKey: KEY });
    expect(result).toEqual({ providerId: 'SM42' });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(request?.headers['i-twilio-idempotency-token']).toBe(KEY);
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      To: '+4915112345678',
      From: '+15005550006',
      Body: 'Hi Ada & co: 50% off',
    });
  });

  it('uses the message sender over the default, and MessagingServiceSid for a Messaging Service', async () => {
    await twilio().send({ to: '+15551234567', body: 'a', from: 'ShopCo', idempotencyKey: KEY });
    const service = 'MG0123456789abcdef0123456789abcdef';
    await twilio().send({ to: '+15551234567', body: 'b', from: service, idempotencyKey: `${KEY}-2` });
    const [first, second] = receiver.received.map((r) => Object.fromEntries(new URLSearchParams(r.body)));
    expect(first?.From).toBe('ShopCo');
    expect(second).toEqual({ To: '+15551234567', Body: 'b', MessagingServiceSid: service });
  });

  it('fails without retry as PermanentDeliveryError when Twilio answers 400 (invalid number)', async () => {
    const answer = { code: 21211, message: "The 'To' number +15005550001 is not a valid phone number.", status: 400 };
    receiver.respond = () => ({ status: 400, body: JSON.stringify(answer) });
    const error = await rejection(twilio().send({ to: '+15005550001', body: 'x', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
    expect(error.message).toContain('answered 400');
    expect(error.message).toContain('Twilio error 21211');
    // Twilio's message echoes the number; only the code is kept in the failure.
    expect(error.message).not.toContain('+15005550001');
  });

  it.each([429, 500, 503, 401])('fails retryably on %i', async (status) => {
    receiver.respond = () => ({ status, body: '{"code":20429}' });
    const error = await rejection(twilio().send({ to: '+15551234567', body: 'x', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(false);
    expect((error as DeliveryError).status).toBe(status);
  });

  it('retries after the delay Twilio asks for on 429', async () => {
    receiver.respond = () => ({ status: 429, headers: { 'Retry-After': '2' } });
    const error = await rejection(twilio().send({ to: '+15551234567', body: 'x', idempotencyKey: KEY }));
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).nextRetryDelay).toBe(2000);
  });

  it.each(['', '12345', '015112345678', '+0151123456', 'call me', '+49 151 1234 5678 9999 9', 'tel:+4915112345678'])(
    'refuses the invalid number %p before any request',
    async (to) => {
      const error = await rejection(twilio().send({ to, body: 'x', idempotencyKey: KEY }));
      expect((error as ApplicationFailure).nonRetryable).toBe(true);
      expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
      expect(error.message).toMatch(/^invalid phone number/);
      expect(receiver.received).toHaveLength(0);
    },
  );

  it('refuses incomplete settings when built', () => {
    expect(() => twilioSmsProvider({ accountSid: '', authToken: '', from: '+15005550006' })).toThrow(
      'twilio SMS provider: accountSid is empty; authToken is empty',
    );
    expect(() => twilioSmsProvider({ accountSid: SID, authToken: TOKEN, from: '+1', baseUrl: 'ftp://x' })).toThrow(/not an http\(s\) URL/);
  });
});

describe('log SMS provider', () => {
  it('writes one line per SMS and returns an id derived from the idempotency key', async () => {
    const lines: string[] = [];
    const sms = logSmsProvider({ write: (line) => lines.push(line) });
    const first = await sms.send({ to: '+1 (555) 123-4567', body: 'Hi Ada,\nyour cart', idempotencyKey: KEY });
    const again = await sms.send({ to: '+15551234567', body: 'Hi Ada,\nyour cart', idempotencyKey: KEY });
    expect(first.providerId).toMatch(/^log-[0-9a-f]{16}$/);
    expect(again).toEqual(first);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`sms ${first.providerId} to=+15551234567 body="Hi Ada,\\nyour cart"`);
  });

  it('refuses an invalid number like the real provider does', async () => {
    const error = await rejection(logSmsProvider({ write: () => undefined }).send({ to: 'nope', body: 'x', idempotencyKey: KEY }));
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
  });
});

describe('createSmsProvider', () => {
  it('builds the configured provider', () => {
    expect(createSmsProvider({ provider: 'log' }).name).toBe('log');
    expect(createSmsProvider({ provider: 'twilio', twilio: { accountSid: SID, authToken: TOKEN, from: '+15005550006' } }).name).toBe('twilio');
  });

  it('refuses twilio without its settings', () => {
    expect(() => createSmsProvider({ provider: 'twilio' })).toThrow('SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM');
  });
});

describe('normalizePhoneNumber', () => {
  it('drops separators and keeps E.164', () => {
    expect(normalizePhoneNumber(' +44 20 7946.0958 ')).toBe('+442079460958');
  });
});
