/**
 * No stored event may wedge routing: an event whose routing keeps failing for a reason of its own
 * is set aside after its attempts, visibly, and the customer's next events flow; an outage
 * (Temporal or the store unavailable) never counts against anyone. On a real SQLite store and the
 * real event API, with a router that fails on purpose.
 */
import type { AddressInfo } from 'node:net';
import { ServiceError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server';
import type { EventRouter } from '../../api/types';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { StoredEvent } from '../../profiles/store';
import { deadReason, RoutingLoop } from '../../routing/loop';
import { isUnavailable, TemporalUnavailableError } from '../../routing/router';
import { settle } from '../api/fakes';

const received = () => new Date(Date.now() - 60_000).toISOString();

function event(messageId: string, customerId: string, second: number, at = received()): StoredEvent {
  return {
    messageId,
    type: 'track',
    customerId,
    userId: customerId,
    event: 'page_viewed',
    timestamp: new Date(Date.parse(at) + second * 1000).toISOString(),
    receivedAt: at,
  };
}

/** A gRPC error as the Temporal client throws it (details and metadata mark it). */
function grpcError(code: number, text: string): Error {
  return Object.assign(new Error(`${code} ${text}`), { code, details: text, metadata: {} });
}

/** A router that records what it is handed and throws `failure()` for one messageId while it returns an error. */
function failingRouter(messageId: string, failure: () => unknown): { router: EventRouter; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    router: {
      route: async (e) => {
        seen.push(e.messageId);
        const error = e.messageId === messageId ? failure() : undefined;
        if (error !== undefined) throw error;
      },
    },
  };
}

let store: SqliteProfileStore;

beforeEach(() => {
  store = new SqliteProfileStore(':memory:');
});

afterEach(async () => {
  await store.close();
});

const POISONS: [string, () => Error][] = [
  ['a bug in routing (TypeError)', () => new TypeError("Cannot read properties of undefined (reading 'plan')")],
  ['a journey version missing from the store', () => new Error('journey cart version v9 is not in the store; was the store reset?')],
  ['Temporal refusing the request (INVALID_ARGUMENT)', () => grpcError(3, 'INVALID_ARGUMENT: Blob data size exceeds limit.')],
  // A code decides, whatever the text quotes: a sender's id must not make an event unkillable.
  ['Temporal refusing an id that quotes outage words', () => grpcError(3, 'INVALID_ARGUMENT: WorkflowId "cart:UNAVAILABLE connection refused timed out" is not valid')],
  ['a store refusal with its own code', () => Object.assign(new Error('customer "db timed out": invalid change'), { code: 'invalid_change' })],
];

describe.each(POISONS)('an event that always fails routing: %s', (_name, failure) => {
  it('is tried UNBROKEN_ROUTE_ATTEMPTS times, then set aside with the reason; the customer’s next events flow in order and other customers never wait', async () => {
    for (const e of [event('ann-1', 'ann', 1), event('poison', 'ann', 2), event('ann-3', 'ann', 3), event('ann-4', 'ann', 4), event('bob-1', 'bob', 1)]) {
      await store.recordEvent(e);
    }
    const { router, seen } = failingRouter('poison', failure);
    const warnings: string[] = [];
    const loop = new RoutingLoop({ store, router, maxAttempts: 3, retryAfterMs: -1, warn: (message) => warnings.push(message) });

    expect(await loop.sweep()).toEqual({ routed: 4, failed: 0, retrying: 2, deadLettered: 1 });
    // Three attempts (the customer held back between them), then the rest of her events in order.
    expect(seen.filter((id) => id.startsWith('ann') || id === 'poison')).toEqual(['ann-1', 'poison', 'poison', 'poison', 'ann-3', 'ann-4']);
    expect(seen).toContain('bob-1');
    expect(warnings.filter((w) => w.includes('(attempt'))).toHaveLength(2);
    expect(warnings.filter((w) => w.includes('failed 3 times; it is set aside'))).toHaveLength(1);
    expect(await store.routingBacklog()).toEqual({ events: 0 });
    const dead = await store.deadLetters();
    expect(dead.total).toBe(1);
    expect(dead.events[0]).toMatchObject({ event: { messageId: 'poison', customerId: 'ann' }, attempts: 3, reason: deadReason(failure()) });
    expect(dead.events[0].reason).toContain(failure().message.split('\n')[0]);
    expect((await store.eventsFor('ann')).filter((e) => e.routedAt === undefined).map((e) => e.messageId)).toEqual(['poison']);
  });

  it('waits the retry time between attempts, holding only that customer back', async () => {
    await store.recordEvent(event('poison', 'ann', 1));
    await store.recordEvent(event('ann-2', 'ann', 2));
    await store.recordEvent(event('bob-1', 'bob', 1));
    const { router, seen } = failingRouter('poison', failure);
    const loop = new RoutingLoop({ store, router, maxAttempts: 3, retryAfterMs: 60_000, warn: () => undefined });
    expect(await loop.sweep()).toEqual({ routed: 1, failed: 0, retrying: 1, deadLettered: 0 });
    expect(await loop.sweep()).toEqual({ routed: 0, failed: 0, retrying: 0, deadLettered: 0 });
    expect(seen.sort()).toEqual(['bob-1', 'poison']);
    expect(await store.deadLetters()).toEqual({ total: 0, events: [] });
  });
});

const OUTAGES: [string, () => unknown][] = [
  ['Temporal known to be down (the router refuses at once)', () => new TemporalUnavailableError('Temporal is unreachable (no answer within 3000 ms); not waiting for it')],
  ['Temporal unreachable (gRPC UNAVAILABLE)', () => grpcError(14, 'UNAVAILABLE: No connection established')],
  ['a Temporal deadline exceeded', () => grpcError(4, 'DEADLINE_EXCEEDED: Deadline exceeded')],
  ['a client error wrapping UNAVAILABLE', () => new ServiceError('Failed to start Workflow', { cause: grpcError(14, 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233') })],
  ['PostgreSQL shutting down (57P01)', () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
  ['the database refusing connections (ECONNREFUSED)', () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
  ['SQLite busy', () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })],
  ['node-postgres losing its connection', () => new Error('Connection terminated unexpectedly')],
  ['node-postgres finding no free connection in time', () => new Error('timeout exceeded when trying to connect')],
];

describe.each(OUTAGES)('an outage: %s', (_name, failure) => {
  it('is classified as unavailability', () => {
    expect(isUnavailable(failure())).toBe(true);
  });

  it('fails routing attempts beyond the limit without setting anyone aside; once it is over, the events are routed in order', async () => {
    await store.recordEvent(event('ann-1', 'ann', 1));
    await store.recordEvent(event('ann-2', 'ann', 2));
    let outage = 3 + 3;
    const { router, seen } = failingRouter('ann-1', () => (outage-- > 0 ? failure() : undefined));
    const loop = new RoutingLoop({ store, router, maxAttempts: 3, retryAfterMs: -1, warn: () => undefined });
    for (let sweep = 0; sweep < 6; sweep++) expect(await loop.sweep()).toEqual({ routed: 0, failed: 1, retrying: 0, deadLettered: 0 });
    expect(await store.deadLetters()).toEqual({ total: 0, events: [] });
    expect(await store.routingBacklog()).toMatchObject({ events: 2 });
    expect(await loop.sweep()).toEqual({ routed: 2, failed: 0, retrying: 0, deadLettered: 0 });
    expect(seen.slice(-2)).toEqual(['ann-1', 'ann-2']);
    expect(await store.routingBacklog()).toEqual({ events: 0 });
  });
});

it('an event’s own failures are not unavailability', () => {
  for (const [, failure] of POISONS) expect(isUnavailable(failure())).toBe(false);
  expect(isUnavailable('a string')).toBe(false);
  expect(isUnavailable(undefined)).toBe(false);
});

it('the reason kept with a dead letter is one line, with the password of any URL in it hidden', () => {
  const err = new Error('could not reach postgres://unbroken:s3cret-pass@db.internal:5432/unbroken\n    at Object.<anonymous> (/srv/app.js:1:1)');
  expect(deadReason(err)).toBe('Error: could not reach postgres://unbroken:***@db.internal:5432/unbroken');
  expect(deadReason(new Error('x'.repeat(2000)))).toHaveLength(500);
});

it('a dead letter re-driven after the cause is fixed is routed by the next sweep', async () => {
  await store.recordEvent(event('poison', 'ann', 1));
  let broken = true;
  const { router, seen } = failingRouter('poison', () => (broken ? new Error('journey cart version v9 is not in the store') : undefined));
  const loop = new RoutingLoop({ store, router, maxAttempts: 1, retryAfterMs: -1, warn: () => undefined });
  expect(await loop.sweep()).toMatchObject({ deadLettered: 1 });
  broken = false;
  expect(await store.retryDeadLetters(['poison'])).toBe(1);
  expect(await loop.sweep()).toEqual({ routed: 1, failed: 0, retrying: 0, deadLettered: 0 });
  expect(seen).toEqual(['poison', 'poison']);
  expect(await store.deadLetters()).toEqual({ total: 0, events: [] });
});

describe('the event API', () => {
  const WRITE_KEY = 'dead-letter-test-write-key';
  let api: FastifyInstance | undefined;
  let loop: RoutingLoop | undefined;

  afterEach(async () => {
    await api?.close();
    await loop?.stop();
    api = undefined;
    loop = undefined;
  });

  /** The API over HTTP, waking a router loop (2 attempts, no wait between them) as `unbroken start` does. */
  async function serve(router: EventRouter): Promise<{ post: (body: unknown) => Promise<number>; loop: RoutingLoop }> {
    const routing = new RoutingLoop({ store, router, maxAttempts: 2, retryAfterMs: -1, warn: () => undefined });
    loop = routing;
    api = await buildApi({ store, accepted: () => routing.wake(), writeKey: WRITE_KEY, ready: async () => ({ ok: true, checks: {} }) });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}/v1/batch`;
    const post = async (body: unknown) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return res.status;
    };
    return { post, loop: routing };
  }

  const call = (messageId: string, userId: string) => ({ type: 'track', event: 'page_viewed', userId, messageId });

  it.each(POISONS)('a call whose routing fails for its own reason (%s) is acknowledged; the loop sets it aside after its attempts, routes the calls behind it in order, and its redelivery is a duplicate', async (_name, failure) => {
    const { router, seen } = failingRouter('poison', failure);
    const { post, loop } = await serve(router);
    expect(await post({ batch: [call('ann-1', 'ann'), call('poison', 'ann'), call('ann-3', 'ann'), call('bob-1', 'bob')] })).toBe(200);
    await settle(loop);
    expect(seen.filter((id) => id !== 'bob-1')).toEqual(['ann-1', 'poison', 'poison', 'ann-3']);
    expect(seen).toContain('bob-1');
    expect((await store.eventsFor('ann')).map((e) => [e.messageId, e.routedAt !== undefined])).toEqual([
      ['ann-1', true],
      ['poison', false],
      ['ann-3', true],
    ]);
    expect(await store.deadLetters()).toMatchObject({ total: 1, events: [{ event: { messageId: 'poison' }, attempts: 2 }] });
    // The client's retry is acknowledged, and routed nowhere again.
    expect(await post({ batch: [call('poison', 'ann')] })).toBe(200);
    await settle(loop);
    expect(seen.filter((id) => id === 'poison')).toHaveLength(2);
  });

  it.each(OUTAGES)('a call accepted during an outage (%s) is answered 200 and kept, counting no attempt, and routed once the outage is over', async (_name, failure) => {
    let outage = true;
    const { router, seen } = failingRouter('down', () => (outage ? failure() : undefined));
    const { post, loop } = await serve(router);
    expect(await post({ batch: [call('down', 'ann')] })).toBe(200);
    for (let sweep = 0; sweep < 3; sweep++) expect(await loop.sweep()).toEqual({ routed: 0, failed: 1, retrying: 0, deadLettered: 0 });
    expect(await store.deadLetters()).toEqual({ total: 0, events: [] });
    expect(await store.routingBacklog()).toMatchObject({ events: 1 });
    outage = false;
    expect(await loop.sweep()).toEqual({ routed: 1, failed: 0, retrying: 0, deadLettered: 0 });
    expect(seen.at(-1)).toBe('down');
    expect(await store.routingBacklog()).toEqual({ events: 0 });
  });
});
