import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { parseAllowList, webhookSender, verifySignature } from '../../../activities/channels';
import { retryAfterMs } from '../../../activities/channels/http';
import { DeliveryError } from '../../../activities/mailer';
import { rejection, startReceiver, type Receiver } from './receiver';

const KEY = 'journey:abandoned-cart:c1/v1abc/notify';
const NOW_MS = Date.UTC(2024, 4, 1, 11, 0, 0);
const BODY = '{"customer":"c1","name":"Ada"}';

let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await receiver.close();
});

/** The receiver runs on loopback, which webhooks may reach only when ops allow it. */
const LOOPBACK = parseAllowList('127.0.0.1').entries;

function sender(options: { secret?: string; timeoutMs?: number } = {}) {
  return webhookSender({ now: () => NOW_MS, allowPrivate: LOOPBACK, ...options });
}

describe('webhook channel', () => {
  it('POSTs the body as JSON with Idempotency-Key and a timestamped HMAC signature of "<timestamp>.<body>"', async () => {
    const result = await sender({ secret: 'shh' }).send({ url: `${receiver.base}/hooks/a?token=t`, body: BODY, idempotencyKey: KEY });
    expect(result).toEqual({ status: 204 });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/hooks/a?token=t');
    expect(request?.body).toBe(BODY);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe(KEY);
    expect(request?.headers['x-unbroken-timestamp']).toBe('1714561200');
    // Computed independently of the code under test, exactly as docs/channels.md tells receivers to.
    const expected = `sha256=${createHmac('sha256', 'shh').update(`1714561200.${BODY}`).digest('hex')}`;
    expect(request?.headers['x-unbroken-signature']).toBe(expected);
    expect(
      verifySignature({
        secret: 'shh',
        body: request?.body ?? '',
        timestamp: request?.headers['x-unbroken-timestamp'] as string,
        signature: request?.headers['x-unbroken-signature'] as string,
        nowMs: NOW_MS + 60_000,
      }),
    ).toBe(true);
  });

  it('rejects a signature that is tampered, for another body, or too old when verifying', () => {
    const signature = `sha256=${createHmac('sha256', 'shh').update(`1714561200.${BODY}`).digest('hex')}`;
    const check = { secret: 'shh', body: BODY, timestamp: '1714561200', signature, nowMs: NOW_MS };
    expect(verifySignature(check)).toBe(true);
    expect(verifySignature({ ...check, body: BODY.replace('Ada', 'Eve') })).toBe(false);
    expect(verifySignature({ ...check, timestamp: '1714561201' })).toBe(false);
    expect(verifySignature({ ...check, secret: 'other' })).toBe(false);
    expect(verifySignature({ ...check, nowMs: NOW_MS + 301_000 })).toBe(false);
    expect(verifySignature({ ...check, signature: undefined })).toBe(false);
  });

  it('sends no signature or timestamp without a secret', async () => {
    await sender().send({ url: `${receiver.base}/x`, body: '{}', idempotencyKey: KEY });
    expect(receiver.received[0]?.headers['x-unbroken-signature']).toBeUndefined();
    expect(receiver.received[0]?.headers['x-unbroken-timestamp']).toBeUndefined();
    expect(receiver.received[0]?.headers['idempotency-key']).toBe(KEY);
  });

  it('fails retryably on a 500 and succeeds when the retry gets a 200, with the same Idempotency-Key', async () => {
    const statuses = [500, 200];
    receiver.respond = () => ({ status: statuses.shift() ?? 200, body: 'oops' });
    const webhook = sender({ secret: 'shh' });
    const message = { url: `${receiver.base}/x`, body: BODY, idempotencyKey: KEY };

    const error = await rejection(webhook.send(message));
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect((error as DeliveryError).permanent).toBe(false);
    expect((error as DeliveryError).status).toBe(500);
    expect(error.message).toBe(`webhook to ${receiver.base}/x answered 500 (4 bytes not kept)`);

    await expect(webhook.send(message)).resolves.toEqual({ status: 200 });
    expect(receiver.received.map((r) => r.headers['idempotency-key'])).toEqual([KEY, KEY]);
  });

  it.each([404, 400, 401, 410, 422])('fails without retry as PermanentDeliveryError on %i', async (status) => {
    receiver.respond = () => ({ status, body: 'no such hook' });
    const error = await rejection(sender().send({ url: `${receiver.base}/gone`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
    expect(error.message).toBe(`webhook to ${receiver.base}/gone answered ${status} (12 bytes not kept)`);
  });

  it.each([408, 429, 502, 503])('fails retryably on %i without Retry-After', async (status) => {
    receiver.respond = () => ({ status });
    const error = await rejection(sender().send({ url: `${receiver.base}/x`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(false);
  });

  it.each([429, 503])('on %i with Retry-After asks Temporal to retry after that delay', async (status) => {
    receiver.respond = () => ({ status, headers: { 'Retry-After': '7' } });
    const error = await rejection(sender().send({ url: `${receiver.base}/x`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).nextRetryDelay).toBe(7000);
    expect((error as ApplicationFailure).type).toBe('DeliveryError');
    expect(error.message).toBe(`webhook to ${receiver.base}/x answered ${status} (retry after 7 s)`);
  });

  it('ignores Retry-After on a 500, where it means nothing', async () => {
    receiver.respond = () => ({ status: 500, headers: { 'Retry-After': '7' } });
    const error = await rejection(sender().send({ url: `${receiver.base}/x`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(DeliveryError);
  });

  it('fails retryably when the receiver does not answer within the timeout', async () => {
    receiver.respond = () => 'hang';
    const error = await rejection(sender({ timeoutMs: 200 }).send({ url: `${receiver.base}/slow`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(false);
    expect((error as DeliveryError).code).toBe('ETIMEDOUT');
    expect(error.message).toBe(`webhook to ${receiver.base}/slow failed: no answer within 0.2 s`);
  });

  it('fails retryably when nothing listens', async () => {
    const { base } = receiver;
    await receiver.close();
    receiver = await startReceiver(); // afterEach closes this one
    const error = await rejection(sender().send({ url: `${base}/x`, body: '{}', idempotencyKey: KEY }));
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).code).toBe('ECONNREFUSED');
  });

  it.each(['ftp://example.com/x', 'file:///etc/passwd', 'not a url', 'https://user:pw@example.com/x'])(
    'refuses %s without sending',
    async (url) => {
      const error = await rejection(sender().send({ url, body: '{}', idempotencyKey: KEY }));
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).nonRetryable).toBe(true);
      expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
      expect(error.message).not.toContain('pw');
    },
  );

  it.each(['http://127.0.0.1:9/x', 'http://[::ffff:7f00:1]:9/x', 'http://2130706433:9/x', 'http://169.254.169.254/latest/meta-data', 'http://localhost:9/x'])(
    'refuses %s without ops allowing it, naming the host and the reason',
    async (url) => {
      const error = await rejection(webhookSender({ secret: 'shh' }).send({ url, body: '{}', idempotencyKey: KEY }));
      expect((error as ApplicationFailure).nonRetryable).toBe(true);
      expect(error.message).toMatch(/^webhook to http:\/\/\S+ refused: .* is a (loopback|link-local) address; /);
    },
  );

  it('refuses a body that is not JSON without sending it', async () => {
    const error = await rejection(sender().send({ url: `${receiver.base}/x`, body: '{"name": "Ada "the" Coder"}', idempotencyKey: KEY }));
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(error.message).toMatch(/^webhook to http:\/\/127\.0\.0\.1:\d+\/x: body is not valid JSON .*\| json/);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, clamps to [0, 1 h] and ignores garbage', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs(new Date(NOW_MS + 30_000).toUTCString(), NOW_MS)).toBe(30_000);
    expect(retryAfterMs(new Date(NOW_MS - 30_000).toUTCString(), NOW_MS)).toBe(0);
    expect(retryAfterMs('86400')).toBe(3_600_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
