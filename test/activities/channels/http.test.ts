import { createHmac } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { ApplicationFailure } from '@temporalio/common';
import { deniedRange, parseAllowList, postJson, type AllowList, type Resolver } from '../../../activities/channels';
import { DeliveryError } from '../../../activities/mailer';
import { rejection, startReceiver, type Receiver } from './receiver';

let receiver: Receiver;
let port: string;

beforeEach(async () => {
  receiver = await startReceiver();
  port = new URL(receiver.base).port;
});

afterEach(async () => {
  await receiver.close();
});

/** What these tests allow: the receiver runs on loopback, which is refused by default. */
const LOOPBACK: AllowList = parseAllowList('127.0.0.1').entries;

const base = { body: '{"a":1}', timeoutMs: 1000, idempotencyKey: 'k1', label: 'test', destinations: { allow: LOOPBACK } };

/** A resolver answering every name with `addresses`, counting how often it is asked. */
function fakeDns(...addresses: string[]): Resolver & { calls: number } {
  const resolver = Object.assign(
    ((_host, _family, callback) => {
      resolver.calls += 1;
      callback(null, addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
    }) as Resolver,
    { calls: 0 },
  );
  return resolver;
}

/** The failure postJson gives for `url` with `allow` and `resolve`, asserting it is permanent. */
async function refused(url: string, allow: AllowList = [], resolve?: Resolver): Promise<ApplicationFailure> {
  const error = await rejection(postJson({ ...base, url, destinations: { allow, resolve } }));
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).nonRetryable).toBe(true);
  expect((error as ApplicationFailure).type).toBe('PermanentDeliveryError');
  return error as ApplicationFailure;
}

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

  it.each([
    [404, 'permanent'],
    [500, 'retryable'],
    [429, 'retryable'],
  ])('keeps no byte of a %i answer body, only its size (%s)', async (status) => {
    receiver.respond = () => ({ status, body: 'session=abc123; card 4111 1111 1111 1111' });
    const error = await rejection(postJson({ ...base, url: `${receiver.base}/x` }));
    expect(error.message).toBe(`test to ${receiver.base}/x answered ${status} (40 bytes not kept)`);
    expect(JSON.stringify(error)).not.toContain('abc123');
    expect(JSON.stringify((error as ApplicationFailure).details ?? [])).not.toContain('abc123');
  });
});

describe('postJson refuses destinations inside the network', () => {
  // Every spelling of this machine's loopback; the receiver listens there, so a request that
  // slipped through would arrive.
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.1', 'a loopback address'],
    ['2130706433', 'a loopback address'],
    ['0x7f.1', 'a loopback address'],
    ['0x7f000001', 'a loopback address'],
    ['017700000001', 'a loopback address'],
    ['0177.0.0.1', 'a loopback address'],
    ['[::ffff:127.0.0.1]', 'a loopback address'],
    ['[::ffff:7f00:1]', 'a loopback address'],
    ['[::127.0.0.1]', 'a loopback address'],
    ['[::ffff:0:127.0.0.1]', 'a loopback address'],
    ['[0:0:0:0:0:ffff:7f00:1]', 'a loopback address'],
    ['[::1]', 'a loopback address'],
    ['0.0.0.0', 'an unspecified ("this network") address'],
    ['0', 'an unspecified ("this network") address'],
    ['[::]', 'an unspecified address'],
  ])('%s (%s) without sending', async (host, range) => {
    const error = await refused(`http://${host}:${port}/hook?token=secret`);
    expect(error.message).toMatch(new RegExp(`^test to http://[^/]+:${port}/hook refused: .* is ${range.replace(/[()]/g, '\\$&')}; `));
    expect(error.message).toContain('UNBROKEN_HTTP_ALLOW_PRIVATE');
    expect(error.message).not.toContain('secret');
    expect(receiver.received).toHaveLength(0);
  });

  it.each([
    ['10.1.2.3', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.254', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['169.254.169.254', 'a link-local address'],
    ['100.64.0.1', 'a shared (CGNAT) address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a reserved or broadcast address'],
    ['198.18.0.1', 'a reserved (benchmarking) address'],
    ['[fe80::1]', 'a link-local address'],
    ['[fc00::1]', 'a private (unique local) address'],
    ['[fd12:3456::1]', 'a private (unique local) address'],
    ['[ff02::1]', 'a multicast address'],
    ['[::ffff:169.254.169.254]', 'a link-local address'],
    ['[::ffff:a9fe:a9fe]', 'a link-local address'],
    ['[::ffff:10.0.0.1]', 'a private address'],
    ['[64:ff9b::a00:1]', 'a private address'],
    ['[2002:c0a8:101::1]', 'a private address'],
  ])('%s (%s)', async (host, range) => {
    const error = await refused(`https://${host}/hook`);
    expect(error.message).toContain(` is ${range}; `);
  });

  it.each([['http://localhost'], ['http://LocalHost']])('%s: a host name whose addresses are loopback', async (origin) => {
    const error = await refused(`${origin}:${port}/x`);
    expect(error.message).toMatch(/refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/i);
    expect(receiver.received).toHaveLength(0);
  });

  it('a public-looking host name that resolves to loopback, metadata or private addresses', async () => {
    for (const address of ['127.0.0.1', '169.254.169.254', '10.0.0.7', '::1', '::ffff:127.0.0.1']) {
      const error = await refused(`http://hooks.example.com:${port}/x`, [], fakeDns(address));
      expect(error.message).toContain(`hooks.example.com resolves to ${address}, which is`);
      expect(error.details).toEqual([{ host: 'hooks.example.com', address }]);
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('a host name with one private address among public ones', async () => {
    const error = await refused(`http://hooks.example.com:${port}/x`, [], fakeDns('93.184.215.14', '127.0.0.1'));
    expect(error.message).toContain('hooks.example.com resolves to 127.0.0.1, which is a loopback address');
    expect(receiver.received).toHaveLength(0);
  });

  it('connects to the address it checked, resolving the name once (no DNS rebinding between check and connect)', async () => {
    const dns = fakeDns('127.0.0.1');
    const allow = parseAllowList('127.0.0.0/8').entries;
    await postJson({ ...base, url: `http://hooks.example.com:${port}/x`, destinations: { allow, resolve: dns } });
    expect(dns.calls).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.headers.host).toBe(`hooks.example.com:${port}`);
  });

  it('reaches what ops allow: an address, a network, an IPv4-mapped spelling of it, a host name', async () => {
    await postJson({ ...base, url: `http://127.0.0.1:${port}/a`, destinations: { allow: parseAllowList('127.0.0.1').entries } });
    await postJson({ ...base, url: `http://2130706433:${port}/b`, destinations: { allow: parseAllowList('127.0.0.0/8').entries } });
    await postJson({ ...base, url: `http://hooks.internal:${port}/c`, destinations: { allow: parseAllowList('hooks.internal').entries, resolve: fakeDns('127.0.0.1') } });
    await postJson({ ...base, url: `http://localhost:${port}/d`, destinations: { allow: parseAllowList('localhost').entries } });
    expect(receiver.received.map((r) => r.url)).toEqual(['/a', '/b', '/c', '/d']);
  });

  it('allows only what is listed: another private network stays refused', async () => {
    await refused(`http://127.0.0.1:${port}/x`, parseAllowList('10.0.0.0/8,hooks.internal').entries);
    await refused(`http://other.internal:${port}/x`, parseAllowList('hooks.internal').entries, fakeDns('127.0.0.1'));
    expect(receiver.received).toHaveLength(0);
  });

  it('treats an unknown host name as a network failure to retry, not as refused', async () => {
    const failing: Resolver = (host, _family, callback) => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    const error = await rejection(postJson({ ...base, url: 'https://hooks.example.com/x', destinations: { allow: [], resolve: failing } }));
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).code).toBe('ENOTFOUND');
  });
});

describe('postJson does not follow redirects', () => {
  let target: Receiver;

  beforeEach(async () => {
    target = await startReceiver();
  });

  afterEach(async () => {
    await target.close();
  });

  it.each([301, 302, 303, 307, 308])('a %i is a permanent failure; the redirect target gets no request and never sees the signature', async (status) => {
    receiver.respond = () => ({ status, headers: { Location: `${target.base}/stolen` }, body: 'moved' });
    const error = await rejection(postJson({ ...base, url: `${receiver.base}/hook`, secret: 'shh' }));
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect(error.message).toBe(`test to ${receiver.base}/hook answered ${status} (5 bytes not kept); redirects are not followed, point the URL at the final address`);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.headers['x-unbroken-signature']).toMatch(/^sha256=/);
    expect(target.received).toHaveLength(0);
  });
});

describe('deniedRange', () => {
  it('lets public addresses through, including the neighbours of private ranges', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '169.253.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect([address, deniedRange(address)]).toEqual([address, undefined]);
    }
  });
});

describe('parseAllowList', () => {
  it('reads networks, addresses and host names, and names every bad entry', () => {
    const { entries, problems } = parseAllowList(' 10.0.0.0/8, 127.0.0.1 ,[::1], fd00::/8, Hooks.Internal.,, 10.0.0.0/33, not a host, 1.2.3.4/x');
    expect(entries).toEqual([
      { kind: 'net', address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { kind: 'net', address: '127.0.0.1', prefix: 32, family: 'ipv4' },
      { kind: 'net', address: '::1', prefix: 128, family: 'ipv6' },
      { kind: 'net', address: 'fd00::', prefix: 8, family: 'ipv6' },
      { kind: 'host', host: 'hooks.internal' },
    ]);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^UNBROKEN_HTTP_ALLOW_PRIVATE: entry "10.0.0.0\/33" has a prefix length that is not 0 to 32;/);
    expect(problems[1]).toMatch(/entry "not a host" is neither an IP address, a network nor a host name/);
    expect(problems[2]).toMatch(/entry "1.2.3.4\/x"/);
  });
});
