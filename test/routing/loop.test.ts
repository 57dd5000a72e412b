/**
 * The router loop on real parts: a real Temporal dev server, a SQLite file shared by two
 * "processes", the event API over HTTP. The API accepts events while its loop routes through a
 * Temporal that is not there (a dead address), so they stay stored; then loops on the real server
 * route them without the client retrying.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server';
import type { EventRouter } from '../../api/types';
import { deploy } from '../../cli/live';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { StoredEvent } from '../../profiles/store';
import { RoutingLoop } from '../../routing/loop';
import { JourneyRouter } from '../../routing/router';
import { settle } from '../api/fakes';
import { until } from '../support/system';
import { devServerEnv } from '../support/temporal';

jest.setTimeout(120_000);

const WRITE_KEY = 'routing-loop-test-write-key-0123';
const TASK_QUEUE = 'routing-loop-test';

let env: TestWorkflowEnvironment;
let dir: string;
let stores: SqliteProfileStore[];
let dead: Connection;
/** The API's own loop, routing into the dead Temporal. */
let deadLoop: RoutingLoop;
let api: FastifyInstance;
let apiUrl: string;

/** A router on the real dev server that counts the events it is handed. */
function countingRouter(store: SqliteProfileStore, routed: StoredEvent[]): EventRouter {
  const router = new JourneyRouter({ store, client: env.client, taskQueue: TASK_QUEUE, defaultTimezone: 'UTC', warn: () => undefined });
  return {
    route: async (event) => {
      routed.push(event);
      await router.route(event);
    },
  };
}

async function post(endpoint: string, body: unknown): Promise<number> {
  const res = await fetch(`${apiUrl}/v1/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.status;
}

beforeAll(async () => {
  env = await devServerEnv();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-routing-loop-'));
  const file = path.join(dir, 'profiles.sqlite');
  stores = [new SqliteProfileStore(file), new SqliteProfileStore(file)];
  await deploy(stores[0], 'definitions');
  // Nothing listens on port 1: every start and signal fails as when Temporal is down.
  dead = Connection.lazy({ address: '127.0.0.1:1' });
  const deadRouter = new JourneyRouter({
    store: stores[0],
    client: new Client({ connection: dead }),
    taskQueue: TASK_QUEUE,
    defaultTimezone: 'UTC',
    temporalTimeoutMs: 500,
  });
  deadLoop = new RoutingLoop({ store: stores[0], router: deadRouter, warn: () => undefined });
  api = await buildApi({ store: stores[0], accepted: () => deadLoop.wake(), writeKey: WRITE_KEY, ready: async () => ({ ok: true, checks: {} }) });
  await api.listen({ port: 0, host: '127.0.0.1' });
  apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await api?.close();
  await deadLoop?.stop();
  await dead?.close();
  for (const store of stores ?? []) await store.close();
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('an event accepted while Temporal was down enters its customer once Temporal answers, without a retry, once though two loops run', async () => {
  expect(await post('identify', { userId: 'ann', traits: { email: 'ann@example.com' } })).toBe(200);
  const signup = { userId: 'ann', event: 'signed_up', messageId: 'signup-ann', properties: { plan: 'starter' } };
  expect(await post('track', signup)).toBe(200);
  // The API's loop routed the identify (no journey to signal) and found Temporal down for the signup.
  expect(await settle(deadLoop)).toEqual({ routed: 0, failed: 1, retrying: 0, deadLettered: 0 });
  expect((await stores[0].eventsFor('ann')).map((e) => [e.type, e.routedAt !== undefined])).toEqual([
    ['identify', true],
    ['track', false],
  ]);
  // The store decided the entry before the start failed: she looks inside, with no workflow.
  const [enrolment] = await stores[0].enrolmentsFor('ann');
  expect(enrolment.journeyId).toBe('welcome-series');
  expect(enrolment.endedAt).toBeUndefined();
  await expect(env.client.workflow.getHandle(enrolment.workflowId).describe()).rejects.toThrow(/not found/i);

  const routed: StoredEvent[] = [];
  const loops = stores.map((store) => new RoutingLoop({ store, router: countingRouter(store, routed), intervalMs: 100, warn: () => undefined }));
  for (const loop of loops) loop.start();
  try {
    await until('the loops to route her event', async () => ((await stores[1].eventsFor('ann')).every((e) => e.routedAt !== undefined) || undefined), 30_000);
  } finally {
    await Promise.all(loops.map((l) => l.stop()));
  }

  expect(routed.map((e) => e.messageId)).toEqual(['signup-ann']);
  const description = await env.client.workflow.getHandle(enrolment.workflowId).describe();
  expect(description.status.name).toBe('RUNNING');
  expect(await stores[0].enrolmentsFor('ann')).toHaveLength(1);
  // The client's late retry is now a duplicate: acknowledged, routed nowhere again.
  expect(await post('track', signup)).toBe(200);
  expect(routed).toHaveLength(1);
});

it('keeps a customer’s events in order and stops at the first failure, releasing the rest for a later sweep', async () => {
  const store = new SqliteProfileStore(':memory:');
  const received = new Date(Date.now() - 60_000).toISOString();
  const event = (messageId: string, second: number): StoredEvent => ({
    messageId,
    type: 'track',
    customerId: 'bob',
    userId: 'bob',
    event: 'page_viewed',
    timestamp: new Date(Date.parse(received) + second * 1000).toISOString(),
    receivedAt: received,
  });
  await store.recordEvent(event('bob-2', 2));
  await store.recordEvent(event('bob-1', 1));
  await store.recordEvent(event('bob-3', 3));
  const seen: string[] = [];
  let failOn: string | undefined = 'bob-2';
  const router: EventRouter = {
    route: async (e) => {
      seen.push(e.messageId);
      if (e.messageId === failOn) throw new Error('14 UNAVAILABLE: Temporal is down');
    },
  };
  const warnings: { message: string; detail: Record<string, unknown> }[] = [];
  const loop = new RoutingLoop({ store, router, warn: (message, detail) => warnings.push({ message, detail }) });
  expect(await loop.sweep()).toEqual({ routed: 1, failed: 1, retrying: 0, deadLettered: 0 });
  expect(seen).toEqual(['bob-1', 'bob-2']);
  expect(warnings).toEqual([
    {
      message: expect.stringContaining('failed for 1 customer(s); they stay stored'),
      detail: { messageId: 'bob-2', customerId: 'bob', error: 'Error: 14 UNAVAILABLE: Temporal is down' },
    },
  ]);
  failOn = undefined;
  expect(await loop.sweep()).toEqual({ routed: 2, failed: 0, retrying: 0, deadLettered: 0 });
  expect(seen).toEqual(['bob-1', 'bob-2', 'bob-2', 'bob-3']);
  expect(await loop.sweep()).toEqual({ routed: 0, failed: 0, retrying: 0, deadLettered: 0 });
  expect((await store.eventsFor('bob')).every((e) => e.routedAt !== undefined)).toBe(true);
  await store.close();
});

it('on the real router and Temporal, an event that cannot be routed (its journey version gone from the store) is set aside after its attempts while other customers are routed', async () => {
  const store = stores[0];
  const received = new Date(Date.now() - 60_000).toISOString();
  // A run recorded for a version nobody deployed: every event of this customer fails in the router.
  const stranded = await store.tryEnrol({
    journeyId: 'welcome-series',
    customerId: 'stranded',
    version: 'deleted-by-hand',
    reEntry: { mode: 'never' },
    at: received,
    workflowIdPrefix: 'welcome-series:stranded',
    input: { customerId: 'stranded', trigger: { event: 'signed_up', properties: {}, timestamp: received }, defaultTimezone: 'UTC' },
  });
  expect(stranded.enrolled).toBe(true);
  const track = (messageId: string, customerId: string, event: string): StoredEvent => ({
    messageId,
    type: 'track',
    customerId,
    userId: customerId,
    event,
    properties: {},
    timestamp: received,
    receivedAt: received,
  });
  await store.identify('carla', { email: 'carla@example.com' });
  await store.recordEvent(track('stranded-1', 'stranded', 'order_completed'));
  await store.recordEvent(track('carla-1', 'carla', 'signed_up'));
  const router = new JourneyRouter({ store, client: env.client, taskQueue: TASK_QUEUE, defaultTimezone: 'UTC', warn: () => undefined });
  const warnings: string[] = [];
  const loop = new RoutingLoop({ store, router, maxAttempts: 2, retryAfterMs: -1, warn: (message) => warnings.push(message) });
  const result = await loop.sweep();
  expect(result).toMatchObject({ failed: 0, deadLettered: 1 });
  expect((await store.eventsFor('carla'))[0].routedAt).toEqual(expect.any(String));
  const [carla] = await store.enrolmentsFor('carla');
  expect((await env.client.workflow.getHandle(carla.workflowId).describe()).status.name).toBe('RUNNING');
  const dead = await store.deadLetters();
  expect(dead.events).toMatchObject([
    { event: { messageId: 'stranded-1' }, attempts: 2, reason: 'Error: journey welcome-series version deleted-by-hand is not in the store; was the store reset?' },
  ]);
  expect(warnings).toEqual([expect.stringContaining('(attempt 1)'), expect.stringContaining('failed 2 times; it is set aside')]);
});

it('a wake sweeps at once; after a sweep found Temporal unavailable, wakes wait for the interval, so an outage under load costs one claim per interval, not one per accepted event', async () => {
  const store = new SqliteProfileStore(':memory:');
  let claims = 0;
  const counting = Object.assign(Object.create(store) as SqliteProfileStore, {
    claimUnroutedEvents: (claim: Parameters<SqliteProfileStore['claimUnroutedEvents']>[0]) => (claims++, store.claimUnroutedEvents(claim)),
  });
  const now = new Date().toISOString();
  const track = (messageId: string): StoredEvent => ({ messageId, type: 'track', customerId: 'dora', userId: 'dora', event: 'e', timestamp: now, receivedAt: now });
  let down = false;
  const routed: string[] = [];
  const router: EventRouter = {
    route: async (e) => {
      if (down) throw new Error('14 UNAVAILABLE: Temporal is down');
      routed.push(e.messageId);
    },
  };
  const loop = new RoutingLoop({ store: counting, router, intervalMs: 60_000, warn: () => undefined });
  try {
    await store.recordEvent(track('d1'));
    loop.wake();
    expect(claims).toBe(1);
    await settle(loop);
    expect(routed).toEqual(['d1']);

    down = true;
    await store.recordEvent(track('d2'));
    expect(await loop.sweep()).toMatchObject({ failed: 1 });
    const before = claims;
    for (let i = 0; i < 5; i++) loop.wake();
    expect(claims).toBe(before);
    // An explicit sweep (the interval's) still tries, and routes once Temporal is back.
    down = false;
    expect(await loop.sweep()).toMatchObject({ routed: 1, failed: 0 });
    expect(routed).toEqual(['d1', 'd2']);
  } finally {
    await loop.stop();
    await store.close();
  }
});
