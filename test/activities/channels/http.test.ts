import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { postJson } from '../../../activities/channels';
import { rejection, startReceiver, type Receiver } from './receiver';

let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await receiver.close();
});

const base = { body: '{"a":1}', timeoutMs: 1000, idempotencyKey: 'k1', label: 'test' };

describe('postJson', () => {
  it('lets caller headers replace Content-Type case-insensitively but never the idempotency or signature headers', async () => {
    await postJson({
      ...base,
      url: `${receiver.base}/x`,
      secret: 'shh',
      now: () => 1_000_000,
      headers: { 'content-type': 'application/vnd.api+json', 'idempotency-key': 'forged', 'x-unbroken-signature': 'forged', 'X-Team': 'growth' },
    });
    const headers = receiver.received[0]?.headers;
    expect(headers?.['content-type']).toBe('application/vnd.api+json');
    expect(headers?.['idempotency-key']).toBe('k1');
    expect(headers?.['x-team']).toBe('growth');
    expect(headers?.['x-unbroken-timestamp']).toBe('1000');
    expect(headers?.['x-unbroken-signature']).toBe(`sha256=${createHmac('sha256', 'shh').update('1000.{"a":1}').digest('hex')}`);
  });

  it('signs the body alone and sends no timestamp under the http_post "body" scheme', async () => {
    await postJson({ ...base, url: `${receiver.base}/x`, secret: 'shh', signatureScheme: 'body' });
    const headers = receiver.received[0]?.headers;
    expect(headers?.['x-unbroken-timestamp']).toBeUndefined();
    expect(headers?.['x-unbroken-signature']).toBe(`sha256=${createHmac('sha256', 'shh').update('{"a":1}').digest('hex')}`);
  });

  it('refuses an invalid header name without retry and without sending', async () => {
    const error = await rejection(postJson({ ...base, url: `${receiver.base}/x`, headers: { 'bad header': 'x' } }));
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(error.message).toMatch(/^test: invalid request header/);
    expect(receiver.received).toHaveLength(0);
  });

  it('keeps the query string out of failure messages', async () => {
    receiver.respond = () => ({ status: 404 });
    const error = await rejection(postJson({ ...base, url: `${receiver.base}/x?token=secret` }));
    expect(error.message).toBe(`test to ${receiver.base}/x answered 404`);
  });
});
