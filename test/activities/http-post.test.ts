import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { httpPost, input as httpPostInput, signBody } from '../../activities/http-post';
import { captureMailer } from '../../activities/mailer';
import type { ActivityDeps, DoInput } from '../../activities/types';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import type { HttpPostWith } from '../../activities/http-post';
import { journeyContext, tempStore } from './helpers';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let server: http.Server;
let base: string;
let received: Received[];
let respond: (req: http.IncomingMessage) => number;

beforeEach(async () => {
  ({ store, cleanup } = tempStore());
  await store.identify('c1', { email: 'ada@example.com', first_name: 'Ada' });
  received = [];
  respond = () => 204;
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.statusCode = respond(req);
      res.end(res.statusCode >= 400 ? 'nope' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

function deps(extra: Partial<ActivityDeps> = {}): ActivityDeps {
  return { store, mailer: captureMailer(), mailFrom: 'shop@example.com', ...extra };
}

function call(withBlock: HttpPostWith): DoInput<HttpPostWith> {
  return {
    with: withBlock,
    context: journeyContext(),
    stepId: 'notify-crm',
    idempotencyKey: 'journey:abandoned-cart:c1/v1abc/notify-crm',
    now: '2024-05-01T11:00:00.000Z',
  };
}

describe('http_post', () => {
  it('POSTs the with body as JSON, unrendered, with the Idempotency-Key and an HMAC signature of the exact body', async () => {
    const run = httpPost.create(deps({ webhookSecret: 'shh' }));
    const result = await run(
      call({
        url: `${base}/hooks/cart?token=abc`,
        body: { customer: 'c1', name: 'Ada {{ not rendered again }}', total: 42 },
        headers: { 'X-Team': 'growth' },
      }),
    );
    expect(result).toEqual({ status: 204 });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/hooks/cart?token=abc');
    expect(JSON.parse(request?.body ?? '')).toEqual({ customer: 'c1', name: 'Ada {{ not rendered again }}', total: 42 });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-team']).toBe('growth');
    expect(request?.headers['idempotency-key']).toBe('journey:abandoned-cart:c1/v1abc/notify-crm');
    expect(request?.headers['x-unbroken-signature']).toBe(signBody('shh', request?.body ?? ''));
    expect(request?.headers['x-unbroken-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('sends no signature header when no webhook secret is configured', async () => {
    await httpPost.create(deps())(call({ url: `${base}/x` }));
    expect(received[0]?.headers['x-unbroken-signature']).toBeUndefined();
    expect(received[0]?.body).toBe('{}');
  });

  it('fails without retry on a 4xx answer', async () => {
    respond = () => 422;
    const error = await httpPost.create(deps())(call({ url: `${base}/x` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
    expect((error as Error).message).toBe(`http_post to ${base}/x answered 422: nope`);
  });

  it.each([500, 503, 408, 429])('throws a retryable error on %i', async (status) => {
    respond = () => status;
    const error = await httpPost.create(deps())(call({ url: `${base}/x` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect((error as Error).message).toMatch(String(status));
  });

  it('throws a retryable error when nothing listens', async () => {
    const url = base;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const error = await httpPost.create(deps())(call({ url: `${url}/x` })).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('http_post input schema', () => {
  it('accepts an https URL with body and headers', () => {
    expect(httpPostInput.safeParse({ url: 'https://hooks.example.com/a', body: { a: 1 }, headers: { A: 'b' } }).success).toBe(true);
  });

  it('rejects other protocols, unknown keys and non-string headers', () => {
    expect(httpPostInput.safeParse({ url: 'file:///etc/passwd' }).success).toBe(false);
    expect(httpPostInput.safeParse({ url: 'ftp://example.com' }).success).toBe(false);
    expect(httpPostInput.safeParse({ url: 'https://example.com', method: 'GET' }).success).toBe(false);
    expect(httpPostInput.safeParse({ url: 'https://example.com', headers: { A: 1 } }).success).toBe(false);
    expect(httpPostInput.safeParse({}).success).toBe(false);
  });
});
