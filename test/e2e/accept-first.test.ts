/**
 * Accept first, route next, on real parts: a Temporal dev server that is stopped and started
 * again, a real SMTP server, SQLite files. The event API answers once an event is stored; the
 * router loop routes it, in order per customer, whenever Temporal is there; a backlog at its
 * limit is refused with 503; a router that dies mid-batch loses and duplicates nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { smtpMailer } from '../../activities/mailer';
import { deploy } from '../../cli/live';
import { SqliteProfileStore } from '../../profiles/sqlite';
import type { StoredEvent } from '../../profiles/store';
import { RoutingLoop } from '../../routing/loop';
import { JourneyRouter } from '../../routing/router';
import { startDevServer, type DevServer } from '../../worker/dev-server';
import { createJourneyWorker } from '../../worker/worker';
import { freePort } from '../support/ports';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { startTestSystem, until, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

jest.setTimeout(180_000);

let tmp: string;
let smtp: TestSmtpServer;

/** A journey that only finishes when its events come in order: signed_up enters, two pings follow. */
function writeDefinitions(dir: string): void {
  fs.mkdirSync(path.join(dir, 'journeys'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
  const template = (id: string, subject: string) => `template: ${id}\nchannel: email\ncategory: transactional\nsubject: "${subject}"\ntext: "{{ profile.id }}"\n`;
  fs.writeFileSync(path.join(dir, 'templates', 'two-pings.yaml'), template('two-pings', 'two pings'));
  fs.writeFileSync(path.join(dir, 'templates', 'one-ping.yaml'), template('one-ping', 'one ping'));
  fs.writeFileSync(
    path.join(dir, 'journeys', 'pings.yaml'),
    [
      'journey: pings',
      'trigger: { event: signed_up }',
      'steps:',
      '  - id: first-ping',
      // Events that come before a wait starts count too: they come in quick succession here.
      '    wait_for: { event: ping, within: 1h, since: entry }',
      '    on_event:',
      '      - id: second-ping',
      '        wait_for: { event: ping, within: 6s, since: entry }',
      '        on_event:',
      '          - send: two-pings',
      '        on_timeout:',
      '          - send: one-ping',
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-accept-first-'));
  writeDefinitions(path.join(tmp, 'definitions'));
  smtp = await startSmtpServer();
});

afterAll(async () => {
  await smtp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const mailsTo = (to: string) => smtp.messages.filter((m) => m.to === to).map((m) => m.subject);

describe('while Temporal is stopped', () => {
  let server: DevServer | undefined;
  let live: TestSystem | undefined;
  afterAll(async () => {
    await live?.stop();
    await server?.stop();
  });

  test('events are accepted up to the backlog limit, then refused with 503; once Temporal is back they are routed in order', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const dataDir = path.join(tmp, 'temporal');
    server = await startDevServer({ dataDir, port, uiPort });
    live = await startTestSystem(path.join(tmp, 'definitions'), {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: 'accept-first',
      SMTP_URL: smtp.url,
      UNBROKEN_ROUTING_BACKLOG_LIMIT: '6',
    });
    await server.stop();

    // Two customers, each signs up and pings twice: six events, all stored and answered 200.
    for (const id of ['ada', 'bo']) {
      expect((await live.post('identify', { userId: id, traits: { email: `${id}@example.com` }, messageId: `${id}-identify` })).status).toBe(200);
    }
    // An identify that finds no journey to tell needs no Temporal: routed at once, even now.
    await until('the identifies to be routed', async () => ((await live!.system.store.routingBacklog()).events === 0 ? true : undefined), 10_000);
    for (const id of ['ada', 'bo']) {
      const events = ['signed_up', 'ping', 'ping'].map((event, i) => ({ type: 'track', userId: id, event, messageId: `${id}-${i}`, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
      const res = await live.post('batch', { batch: events });
      expect({ status: res.status, body: res.status === 200 ? {} : res.body }).toEqual({ status: 200, body: {} });
    }
    const store = live.system.store;
    expect((await store.routingBacklog()).events).toBe(6);

    // At the limit: refused whole, nothing stored, and the client is told when to come back.
    const res = await fetch(`${live.system.apiUrl}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('test-write-key-0123456789:').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'cy', event: 'signed_up', messageId: 'cy-0' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await res.json()).toMatchObject({ error: 'backlog_full', waiting: 6, limit: 6 });
    expect(await store.eventsFor('cy')).toEqual([]);

    server = await startDevServer({ dataDir, port, uiPort });
    // Only a run that got signed_up before both pings sends "two pings".
    await until('both customers to finish', () => (mailsTo('ada@example.com').length && mailsTo('bo@example.com').length ? true : undefined), 90_000);
    expect(mailsTo('ada@example.com')).toEqual(['two pings']);
    expect(mailsTo('bo@example.com')).toEqual(['two pings']);
    expect((await store.routingBacklog()).events).toBe(0);
    // The backlog drained: the refused client's retry is taken.
    await until('the refused event to be accepted on retry', async () => ((await live!.post('track', { userId: 'cy', event: 'signed_up', messageId: 'cy-0' })).status === 200 ? true : undefined), 10_000);
  });
});

describe('a router loop that dies mid-batch', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let stores: SqliteProfileStore[] = [];
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    for (const store of stores) await store.close();
    await env?.teardown();
  });

  test('leaves its claimed events to another loop, which routes them again; the repeated signal changes nothing', async () => {
    const file = path.join(tmp, 'crash.sqlite');
    stores = [new SqliteProfileStore(file), new SqliteProfileStore(file)];
    const [store, other] = stores;
    await deploy(store, path.join(tmp, 'definitions'));
    const taskQueue = 'accept-first-crash';
    worker = await createJourneyWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, deps: { store, mailer: smtpMailer(smtp.url), mailFrom: 'shop@example.com' } });
    running = worker.run();
    await store.identify('dee', { email: 'dee@example.com' });
    const event = (n: number, name: string): StoredEvent => ({
      messageId: `dee-${n}`,
      type: 'track',
      customerId: 'dee',
      userId: 'dee',
      event: name,
      timestamp: new Date(Date.now() + n).toISOString(),
      receivedAt: new Date().toISOString(),
    });
    await store.recordEvent(event(0, 'signed_up'));
    await store.recordEvent(event(1, 'ping'));
    const router = (s: SqliteProfileStore) => new JourneyRouter({ store: s, client: env.client, taskQueue, defaultTimezone: 'UTC', warn: () => undefined });

    // The first loop routes signed_up and the ping, then hangs before marking the ping routed:
    // as far as anyone can tell, a process that died with the ping signalled and still leased.
    let signalled = false;
    const dying = new RoutingLoop({
      store: Object.assign(Object.create(store) as SqliteProfileStore, {
        markEventRouted: async (messageId: string) => {
          if (messageId !== 'dee-1') return store.markEventRouted(messageId);
          signalled = true;
          return new Promise<void>(() => undefined);
        },
      }),
      router: router(store),
      leaseMs: 2000,
      warn: () => undefined,
    });
    void dying.sweep();
    await until('the ping to be signalled by the dying loop', () => (signalled ? true : undefined));

    // Another process's loop takes over once the lease has run out and routes the ping again.
    const survivor = new RoutingLoop({ store: other, router: router(other), intervalMs: 200, warn: () => undefined });
    survivor.start();
    try {
      await until('the ping to be routed by the second loop', async () => ((await other.eventsFor('dee')).every((e) => e.routedAt !== undefined) ? true : undefined), 30_000);
      // Had the repeat counted as a second ping, "two pings" would go out; the run heard one.
      await until('the journey to send', () => (mailsTo('dee@example.com').length ? true : undefined), 30_000);
    } finally {
      await survivor.stop();
    }
    expect(mailsTo('dee@example.com')).toEqual(['one ping']);
    const [enrolment] = await store.enrolmentsFor('dee');
    const steps = await store.stepsFor(enrolment.workflowId);
    expect(steps.filter((s) => s.kind === 'event_received')).toHaveLength(1);
  });
});

describe('routing apart from accepting', () => {
  let env: TestWorkflowEnvironment;
  let live: TestSystem | undefined;
  let router: ChildProcess | undefined;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    if (router && router.exitCode === null) router.kill('SIGKILL');
    await live?.stop();
    await env?.teardown();
  });

  test('with UNBROKEN_START_ROUTES=false start only accepts, and an `unbroken router` process routes what it accepted', async () => {
    const database = `sqlite:${path.join(tmp, 'split.sqlite')}`;
    const common = { TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: 'accept-first-split', DATABASE_URL: database };
    live = await startTestSystem(path.join(tmp, 'definitions'), { ...common, SMTP_URL: smtp.url, UNBROKEN_START_ROUTES: 'false' });
    await live.post('identify', { userId: 'eve', traits: { email: 'eve@example.com' } });
    for (const [i, event] of ['signed_up', 'ping', 'ping'].entries()) {
      expect((await live.post('track', { userId: 'eve', event, messageId: `eve-${i}` })).status).toBe(200);
    }
    // Nobody routes yet: the start process has no loop of its own.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await live.system.store.routingBacklog()).events).toBe(4);

    router = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'unbroken.js'), 'router'], {
      cwd: tmp,
      env: { ...process.env, ...common, UNBROKEN_DATA_DIR: path.join(tmp, 'router-data') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    router.stderr!.on('data', (chunk) => (log += chunk));
    await until('the router process to route the four events', async () => ((await live!.system.store.routingBacklog()).events === 0 ? true : undefined), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
    await until('the journey to send', () => (mailsTo('eve@example.com').length ? true : undefined), 30_000);
    expect(mailsTo('eve@example.com')).toEqual(['two pings']);
    expect(log).toContain('unbroken router: routing stored events into journeys');

    // SIGTERM: the router finishes its sweep and exits 0.
    const exited = new Promise<number | null>((resolve) => router!.once('exit', (code) => resolve(code)));
    router.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
