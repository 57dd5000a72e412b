/**
 * `GET /readyz` of `unbroken start` on real parts: a Temporal dev server that is stopped and
 * started again on the same port, a real SMTP server, SQLite. It answers from the cached probes
 * within a second, naming each part and its state; while Temporal is down, events are still
 * accepted (stored), and the router loop routes them once Temporal is back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../worker/dev-server';
import { JOURNEY_WORKFLOW } from '../../workflows/definitions';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { startTestSystem, until, type TestSystem } from '../support/system';
import { freePort } from '../support/ports';

jest.setTimeout(120_000);

let tmp: string;
let port: number;
let temporal: DevServer | undefined;
let smtp: TestSmtpServer;
let live: TestSystem;


function startTemporal(): Promise<DevServer> {
  return startDevServer({ dataDir: path.join(tmp, 'temporal'), port, host: '127.0.0.1' });
}

/** One GET /readyz: its status, body and how long it took. */
async function readyz(): Promise<{ status: number; body: { status: string; parts: Record<string, { state: string; detail?: string; checkedAt?: string }>; checks: Record<string, string> }; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${live.system.apiUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as never, ms: Date.now() - started };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-ready-'));
  port = await freePort();
  [temporal, smtp] = await Promise.all([startTemporal(), startSmtpServer()]);
  live = await startTestSystem('definitions', { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: 'ready-test', SMTP_URL: smtp.url });
});

afterAll(async () => {
  await live?.stop();
  await temporal?.stop();
  await smtp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

it('answers 200 naming store, temporal, smtp and worker as ok when everything is up', async () => {
  const { status, body, ms } = await readyz();
  expect(status).toBe(200);
  expect(body.status).toBe('ready');
  expect(Object.keys(body.parts).sort()).toEqual(['routing', 'smtp', 'store', 'temporal', 'worker']);
  for (const part of ['smtp', 'store', 'temporal']) expect(body.parts[part]).toEqual({ state: 'ok', checkedAt: expect.any(String) });
  expect(body.parts.worker).toEqual({ state: 'ok' });
  // Informational: the routing backlog and the dead letters, which never decide readiness.
  expect(body.parts.routing).toEqual({ state: 'ok', detail: 'no events waiting; none dead-lettered', checkedAt: expect.any(String) });
  expect(body.checks).toEqual({ routing: 'ok', smtp: 'ok', store: 'ok', temporal: 'ok', worker: 'ok' });
  expect(ms).toBeLessThan(1000);
});

it('with Temporal stopped answers 503 within a second naming temporal, yet accepts events; once Temporal is back it is ready again and the event enters its customer without a retry', async () => {
  await temporal?.stop();
  temporal = undefined;
  const down = await until('readyz to report Temporal down', async () => {
    const answer = await readyz();
    return answer.status === 503 ? answer : undefined;
  }, 30_000);
  expect(down.ms).toBeLessThan(1000);
  expect(down.body.status).toBe('unavailable');
  expect(down.body.parts.temporal).toMatchObject({ state: 'down', detail: expect.any(String) });
  expect(down.body.checks.temporal).not.toBe('ok');
  expect(down.body.parts.store.state).toBe('ok');
  expect(down.body.parts.smtp.state).toBe('ok');

  // Accept first, route next: the event is stored and answered; it waits for Temporal, unrouted.
  const event = await live.post('track', { userId: 'ready-u1', event: 'signed_up', messageId: 'ready-m1' });
  expect(event.status).toBe(200);
  const [stored] = await live.system.store.eventsFor('ready-u1');
  expect(stored).toMatchObject({ messageId: 'ready-m1', event: 'signed_up' });
  expect(stored.routedAt).toBeUndefined();
  // /readyz shows it waiting to be routed (informational: it decides nothing).
  await until('/readyz to show the event waiting', async () => (/^1 event\(s\) waiting, the oldest received /.test((await readyz()).body.parts.routing?.detail ?? '') || undefined), 15_000);
  expect((await readyz()).body.parts.temporal.state).toBe('down');

  temporal = await startTemporal();
  await until('readyz to report ready again', async () => ((await readyz()).status === 200 ? true : undefined), 30_000);

  // The router loop of start routes it, and the customer enters the journey though the client
  // never retried.
  const routed = await until('the router loop to route the accepted event', async () => {
    const [stored] = await live.system.store.eventsFor('ready-u1');
    return stored?.routedAt;
  }, 60_000);
  expect(routed).toEqual(expect.any(String));
  const [enrolment] = await live.system.store.enrolmentsFor('ready-u1');
  expect(enrolment.journeyId).toBe('welcome-series');
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const run = await new Client({ connection }).workflow.getHandle(enrolment.workflowId).describe();
    expect(run.type).toBe(JOURNEY_WORKFLOW);
  } finally {
    await connection.close();
  }
});

it('names a mail relay that is down but stays ready: events are still accepted, sends wait and retry', async () => {
  const closedPort = await freePort();
  const relayDown = await startTestSystem('definitions', {
    TEMPORAL_ADDRESS: temporal!.address,
    TEMPORAL_TASK_QUEUE: 'ready-test-relay-down',
    SMTP_URL: `smtp://user:relay-secret@127.0.0.1:${closedPort}`,
  });
  try {
    const res = await fetch(`${relayDown.system.apiUrl}/readyz`);
    const body = (await res.json()) as { status: string; parts: Record<string, { state: string; detail?: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.parts.smtp).toMatchObject({ state: 'down', detail: expect.stringContaining('ECONNREFUSED') });
    expect(body.parts.smtp.detail).not.toContain('relay-secret');
    expect((await relayDown.post('track', { userId: 'ready-u2', event: 'signed_up' })).status).toBe(200);
  } finally {
    await relayDown.stop();
  }
});
