/**
 * What `simulate` shows of the side effects it does not perform: each `do:` step and each webhook
 * send is built by the real code and attached to its timeline entry (URL, headers, body), and no
 * request leaves the machine. A developer's activity shows what its `simulate` hook returns, or
 * its resolved `with` when it has none.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { activityCatalog, registry } from '../../activities/index';
import type { ActivityDefinition, DoInput, SimulatedRequest } from '../../activities/types';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';
import { formatReport, simulate, type SimulationReport } from '../../cli/simulate';
import { timeSkippingEnv } from '../support/temporal';

const TOKEN = 'sk_live_0123456789abcdef9f2c';
const start = Date.parse('2026-03-02T10:00:00Z');

/** A developer's activity without a `simulate` hook. */
const crmNote: ActivityDefinition<{ note: string }> = {
  name: 'crm_note',
  description: 'Adds a note to the CRM.',
  input: z.object({ note: z.string() }).strict(),
  policy: { startToCloseTimeout: '5s', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 } },
  create: () => async () => {
    throw new Error('a simulation must never call the real activity');
  },
};

/** One with a hook: it says which record it would create. */
const crmTask: ActivityDefinition<{ title: string }> = {
  name: 'crm_task',
  description: 'Opens a task in the CRM.',
  input: z.object({ title: z.string() }).strict(),
  policy: crmNote.policy,
  create: () => async () => {
    throw new Error('a simulation must never call the real activity');
  },
  simulate: (call: DoInput<{ title: string }>) => ({ effect: { creates: 'task', title: call.with.title, owner: call.context.customerId } }),
};

let env: TestWorkflowEnvironment;
let receiver: http.Server;
let hits = 0;
let plans: Map<string, JourneyPlan>;
let tmp: string;

beforeAll(async () => {
  registry.crm_note = crmNote;
  registry.crm_task = crmTask;
  receiver = http.createServer((req, res) => {
    hits += 1;
    res.end('{}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-calls-'));
  fs.mkdirSync(path.join(tmp, 'journeys'));
  fs.mkdirSync(path.join(tmp, 'templates'));
  fs.writeFileSync(
    path.join(tmp, 'templates', 'order-hook.yaml'),
    ['template: order-hook', 'channel: webhook', 'category: transactional', `url: "http://127.0.0.1:${port}/erp/orders"`, `body: '{"order": {{ trigger.properties.order_id | json }}}'`, ''].join('\n'),
  );
  fs.writeFileSync(
    path.join(tmp, 'journeys', 'order-placed.yaml'),
    [
      'journey: order-placed',
      'trigger: { event: order_placed }',
      'steps:',
      '  - id: notify-crm',
      '    do: http_post',
      '    with:',
      `      url: "http://127.0.0.1:${port}/crm/orders?customer={{ profile.id }}"`,
      `      headers: { Authorization: "Bearer ${TOKEN}", X-Trace: run-1 }`,
      '      body: { customer: "{{ profile.id }}", total: "{{ trigger.properties.total }}" }',
      '  - wait: 1h',
      '  - id: tell-erp',
      '    send: order-hook',
      '  - id: note',
      '    do: crm_note',
      '    with: { note: "ordered {{ trigger.properties.order_id }}" }',
      '  - id: task',
      '    do: crm_task',
      '    with: { title: "call {{ profile.id }}" }',
      '',
    ].join('\n'),
  );
  const compiled = compileDefinitions(tmp, activityCatalog);
  expect(compiled.errors).toEqual([]);
  plans = compiled.plans;
  env = await timeSkippingEnv();
}, 120_000);

afterAll(async () => {
  delete registry.crm_note;
  delete registry.crm_task;
  await env?.teardown();
  await new Promise((resolve) => receiver?.close(resolve));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let report: SimulationReport;
type Shown = { request: SimulatedRequest; effect?: unknown; [detail: string]: unknown };
const entry = (step: string) => report.timeline.find((t) => t.step === step && t.kind === 'sent') as Shown | undefined;

beforeAll(async () => {
  report = await simulate({
    plan: plans.get('order-placed')!,
    profile: { id: 'cus 1', tags: [] },
    events: [{ atMs: start, type: 'track', event: 'order_placed', properties: { order_id: 'o-7', total: 80 } }],
    startMs: start,
    defaultTimezone: 'UTC',
    env,
  });
}, 120_000);

test('nothing reaches the receivers, and the run completes', () => {
  expect(report.outcome).toBe('completed');
  expect(hits).toBe(0);
});

test('an http_post step shows the request as the real activity builds it, signed at journey time', () => {
  const { request } = entry('notify-crm')!;
  // The inserted id is percent-encoded, as the workflow resolves URLs.
  expect(request.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/crm\/orders\?customer=cus%201$/);
  expect(request.method).toBe('POST');
  expect(JSON.parse(request.body)).toEqual({ customer: 'cus 1', total: 80 });
  expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'x-trace': 'run-1', 'x-unbroken-timestamp': String(start / 1000) });
  expect(request.headers['idempotency-key']).toMatch(/notify-crm$/);
  expect(request.headers['x-unbroken-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  // The credential is masked: scheme and its last four characters only.
  expect(request.headers.authorization).toBe('Bearer …9f2c');
  expect(JSON.stringify(report)).not.toContain(TOKEN);
});

test('a webhook send shows its request beside the rendered message', () => {
  const sent = entry('tell-erp')!;
  expect(sent).toMatchObject({ channel: 'webhook', template: 'order-hook' });
  expect(sent.request.url).toMatch(/\/erp\/orders$/);
  expect(JSON.parse(sent.request.body)).toEqual({ order: 'o-7' });
  // Sent an hour in, so its signature is dated an hour after the first one.
  expect(sent.request.headers['x-unbroken-timestamp']).toBe(String(start / 1000 + 3600));
});

test("a developer's activity shows its resolved `with`, or what its simulate hook describes", () => {
  expect(entry('note')).toMatchObject({ channel: 'do', activity: 'crm_note', effect: { with: { note: 'ordered o-7' } } });
  expect(entry('task')).toMatchObject({ channel: 'do', activity: 'crm_task', effect: { creates: 'task', title: 'call cus 1', owner: 'cus 1' } });
});

test('the text timeline prints each request under its step, credentials masked', () => {
  const text = formatReport(report);
  expect(text).toMatch(/sent +notify-crm +do http_post\n +\| POST http:\/\/127\.0\.0\.1:\d+\/crm\/orders\?customer=cus%201\n/);
  expect(text).toContain('| authorization: Bearer …9f2c');
  expect(text).toContain('| {"customer":"cus 1","total":80}');
  expect(text).toContain('| would do: {"creates":"task","title":"call cus 1","owner":"cus 1"}');
  expect(text).not.toContain(TOKEN);
});
