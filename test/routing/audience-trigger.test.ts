/**
 * The router and journeys that start from an audience, on a real Temporal dev server and each
 * store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): no worker runs, so what the
 * router did is read from the store and Temporal's histories.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deploy } from '../../cli/live';
import { openProfileStore } from '../../profiles/index';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { LiveStore, StoredEvent } from '../../profiles/store';
import { JourneyRouter } from '../../routing/router';
import { testDatabases, type TestDatabase } from '../support/databases';
import { devServerEnv } from '../support/temporal';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const FIXTURES = path.join(__dirname, '..', 'fixtures');

let env: TestWorkflowEnvironment;
let store: LiveStore;
let router: JourneyRouter;
let seq = 0;

beforeAll(async () => {
  env = await devServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

/** Stores an event as the API does, and returns it for routing. */
async function accept(customerId: string, fields: Partial<StoredEvent> & Pick<StoredEvent, 'type'>): Promise<StoredEvent> {
  const now = new Date().toISOString();
  const event: StoredEvent = { messageId: `m-${++seq}`, customerId, userId: customerId, timestamp: now, receivedAt: now, ...fields };
  await store.recordEvent(event, event.type === 'identify' ? { traits: event.traits ?? {} } : undefined);
  return event;
}

const order = (customerId: string, daysAgo: number) =>
  accept(customerId, { type: 'track', event: 'order_completed', properties: {}, timestamp: new Date(Date.now() - daysAgo * DAY).toISOString() });

async function signalsTo(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (!signal) return [];
    const payload = signal.input?.payloads?.[0]?.data;
    return [`${signal.signalName}:${payload ? (JSON.parse(Buffer.from(payload).toString()) as { event?: string }).event : ''}`];
  });
}

describe.each(testDatabases('audience-trigger'))('on %s', (name, create) => {
  let db: TestDatabase;
  // Both stores share one Temporal server: customer ids (and so workflow ids) differ per store.
  const ann = `${name}-ann`;
  const bob = `${name}-bob`;
  const cat = `${name}-cat`;
  const dan = `${name}-dan`;

  beforeAll(async () => {
    db = await create();
    store = await openProfileStore(db.url, os.tmpdir());
    await deploy(store, path.join(FIXTURES, 'audience-trigger'));
    router = new JourneyRouter({ store, client: env.client, taskQueue: 'audience-trigger-router', defaultTimezone: 'UTC', journeysTtlMs: 0, warn: () => undefined });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  test('a back-dated order that makes a customer lapsed enters them once, with that order as the trigger, also when it is routed again', async () => {
    await router.route(await accept(ann, { type: 'identify', traits: { email: 'ann@example.com' } }));
    expect(await store.enrolmentsFor(ann)).toEqual([]);
    const old = await order(ann, 90);
    await router.route(old);
    await router.route(old);
    const runs = await store.enrolmentsFor(ann);
    expect(runs.map((r) => [r.journeyId, r.workflowId])).toEqual([['win-back', `journey:win-back:${ann}:1`]]);
    expect((runs[0].input as { trigger: unknown }).trigger).toEqual({ event: 'order_completed', properties: {}, timestamp: old.timestamp, messageId: old.messageId });
    expect((await env.client.workflow.getHandle(`journey:win-back:${ann}:1`).describe()).status.name).toBe('RUNNING');
    // Still lapsed: a later event neither enters her again nor tells the run anything.
    await router.route(await order(ann, 80));
    expect(await store.enrolmentsFor(ann)).toHaveLength(1);
    expect(await signalsTo(`journey:win-back:${ann}:1`)).toEqual([]);
  });

  test('a customer whose last order is recent does not enter; an identify that gives a lapsed buyer an email enters them', async () => {
    await router.route(await accept(bob, { type: 'identify', traits: { email: 'bob@example.com' } }));
    // Routed in the order they arrived: a back-filled old order after a recent one is not a lapse.
    await router.route(await order(bob, 3));
    await router.route(await order(bob, 90));
    expect(await store.enrolmentsFor(bob)).toEqual([]);

    await router.route(await order(cat, 120));
    expect(await store.enrolmentsFor(cat)).toEqual([]);
    const identify = await accept(cat, { type: 'identify', traits: { email: 'cat@example.com' } });
    await router.route(identify);
    const [run] = await store.enrolmentsFor(cat);
    expect((run.input as { trigger: unknown }).trigger).toEqual({ event: 'identify', properties: { email: 'cat@example.com' }, timestamp: identify.timestamp, messageId: identify.messageId });
    // Routed again, the identify starts its run again (a no-op) and is not signalled to it.
    await router.route(identify);
    expect(await store.enrolmentsFor(cat)).toHaveLength(1);
    expect(await signalsTo(run.workflowId)).toEqual([]);
  });

  test('a fresh order tells a run with left_audience that its customer left, once, and an outside event of that name reaches nobody', async () => {
    await router.route(await accept(dan, { type: 'identify', traits: { email: 'dan@example.com' } }));
    await router.route(await order(dan, 90));
    const [run] = await store.enrolmentsFor(dan);
    await router.route(await accept(dan, { type: 'track', event: '$left_audience', properties: {} }));
    expect(await signalsTo(run.workflowId)).toEqual([]);
    const fresh = await order(dan, 0);
    await router.route(fresh);
    await router.route(fresh);
    // Both deliveries carry the same derived messageId: the run drops the second as a repeat.
    expect(await signalsTo(run.workflowId)).toEqual(['journeyEvent:$left_audience', 'journeyEvent:$left_audience']);
    const history = await env.client.workflow.getHandle(run.workflowId).fetchHistory();
    const ids = (history.events ?? []).flatMap((e) => {
      const data = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
      return data ? [(JSON.parse(Buffer.from(data).toString()) as { messageId: string }).messageId] : [];
    });
    expect(ids).toEqual([`${fresh.messageId}:$left_audience`, `${fresh.messageId}:$left_audience`]);
  });
});

test('with no audience journey deployed, an identify of a customer in no journey reads nothing but the deployed list', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-audience-trigger-'));
  const other = new SqliteProfileStore(path.join(dir, 'none.sqlite'));
  try {
    await deploy(other, path.join(FIXTURES, 'audiences'));
    const reads: string[] = [];
    const counted = new Proxy(other, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          reads.push(String(name));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const plain = new JourneyRouter({ store: counted, client: env.client, taskQueue: 'audience-trigger-router', defaultTimezone: 'UTC', warn: () => undefined });
    const event: StoredEvent = { messageId: 'none-1', customerId: 'eve', type: 'identify', traits: { email: 'eve@example.com' }, timestamp: new Date().toISOString(), receivedAt: new Date().toISOString() };
    await other.recordEvent(event, { traits: event.traits ?? {} });
    await plain.route(event);
    expect(reads).toEqual(['activeEnrolments', 'deployedJourneys']);
  } finally {
    await other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
