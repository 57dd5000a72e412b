import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { httpPost, input as httpPostInput, signBody } from '../../activities/http-post';
import { parseAllowList, verifySignature } from '../../activities/channels';
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

/** The receiver runs on loopback, which http_post may reach only when ops allow it. */
const LOOPBACK = parseAllowList('127.0.0.1').entries;

function deps(extra: Partial<ActivityDeps> = {}): ActivityDeps {
  return { store, mailer: captureMailer(), mailFrom: 'shop@example.com', httpAllowPrivate: LOOPBACK, ...extra };
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
  it('POSTs the with body as JSON, unrendered, with the Idempotency-Key and an HMAC signature of "<timestamp>.<body>"', async () => {
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
    const timestamp = request?.headers['x-unbroken-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(request?.headers['x-unbroken-signature']).toBe(signBody('shh', `${timestamp}.${request?.body ?? ''}`));
    const signature = request?.headers['x-unbroken-signature'] as string;
    expect(verifySignature({ secret: 'shh', body: request?.body ?? '', timestamp, signature })).toBe(true);
    // A receiver checking the window refuses the same request replayed ten minutes later.
    expect(verifySignature({ secret: 'shh', body: request?.body ?? '', timestamp, signature, nowMs: Date.now() + 600_000 })).toBe(false);
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
    expect((error as Error).message).toBe(`http_post to ${base}/x answered 422 (4 bytes not kept)`);
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

describe('http_post destinations', () => {
  it.each(['http://127.0.0.1', 'http://[::ffff:127.0.0.1]', 'http://0x7f.1', 'http://localhost'])(
    'refuses %s without ops allowing it, as a permanent failure, and sends nothing',
    async (origin) => {
      const port = new URL(base).port;
      const error = await httpPost.create(deps({ httpAllowPrivate: undefined }))(call({ url: `${origin}:${port}/x?key=k` })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).nonRetryable).toBe(true);
      expect((error as Error).message).toMatch(/^http_post to http:\/\/\S+\/x refused: .*loopback address/);
      expect((error as Error).message).not.toContain('key=k');
      expect(received).toHaveLength(0);
    },
  );
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
