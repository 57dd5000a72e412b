/**
 * `wait_for ... since: entry` on Temporal's time-skipping test server, with the real activities and
 * a real SQLite store; mail is captured. An event that reached the run while no wait listened
 * (here: while a reminder was held back by the send window) is taken by the next such wait.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities/index';
import { captureMailer } from '../../activities/mailer';
import type { JourneyPlan } from '../../compiler/plan';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { eventSignal, JOURNEY_WORKFLOW, stateQuery, type JourneyInput, type JourneyResult } from '../../workflows/definitions';
import { journeyBundle } from '../../worker/worker';
import { compileFiles } from '../support/definitions';
import { timeSkippingEnv } from '../support/temporal';

const HOUR = 3_600_000;

const template = (id: string) => `template: ${id}\nchannel: email\nsubject: ${id}\ntext: "Hi {{ profile.first_name }}"`;

/** Ask, wait an hour, remind (inside the send window), wait again: `since` of the second wait as given. */
const askAndRemind = (journey: string, since: string) =>
  [
    `journey: ${journey}`,
    'trigger: { event: ordered }',
    'send_window: { hours: "09:00-20:00", timezone: customer }',
    'steps:',
    '  - id: ask',
    '    send: question',
    '  - id: first-wait',
    '    wait_for: { event: answered, within: 1h, since: entry }',
    '    on_timeout:',
    '      - id: remind',
    '        send: reminder',
    '      - id: second-wait',
    `        wait_for: { event: answered, within: 1d, since: ${since} }`,
    '        on_timeout:',
    '          - exit: no answer',
    '  - id: thank',
    '    send: thanks',
  ].join('\n');

const answerOnce = (n: number) => [
  `  - id: answer-${n}`,
  '    wait_for: { event: answered, within: 1h, since: entry }',
  '    on_timeout: [ { exit: no more answers } ]',
  `  - update_profile: { set: { answer_${n}: "{{ received.properties.score }}" } }`,
];

const files: Record<string, string> = {
  'templates/question.yaml': template('question'),
  'templates/reminder.yaml': template('reminder'),
  'templates/thanks.yaml': template('thanks'),
  'journeys/gap-entry.yaml': askAndRemind('gap-entry', 'entry'),
  'journeys/gap-start.yaml': askAndRemind('gap-start', 'start'),
  'journeys/answers.yaml': ['journey: answers', 'trigger: { event: ordered }', 'steps:', '  - wait: 1h', ...answerOnce(1), ...answerOnce(2), ...answerOnce(3)].join('\n'),
};

let env: TestWorkflowEnvironment;
let store: SqliteProfileStore;
let plans: Map<string, JourneyPlan>;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-since-entry-'));
  plans = compileFiles(tmp, files);
  store = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  env = await timeSkippingEnv();
  await journeyBundle();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await store?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function run(journeyId: string, startAt: string, during: (handle: WorkflowHandle) => Promise<void>) {
  const customerId = `c-${randomUUID().slice(0, 8)}`;
  await store.identify(customerId, { email: 'ida@example.com', first_name: 'Ida' });
  const mailer = captureMailer();
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: await journeyBundle(),
    activities: createActivities({ store, mailer, mailFrom: 'Shop <shop@example.com>' }),
  });
  const input: JourneyInput = {
    plan: plans.get(journeyId)!,
    customerId,
    trigger: { event: 'ordered', properties: {}, timestamp: startAt },
    defaultTimezone: 'UTC',
    startAt,
  };
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue, workflowId: `journey:${journeyId}:${customerId}:1` });
    await during(handle);
    return (await handle.result()) as JourneyResult;
  });
  return { result, mailer, customerId };
}

const answer = (score: number) => ({ event: 'answered', properties: { score }, timestamp: new Date().toISOString() });
const branches = (r: JourneyResult) => r.timeline.filter((t) => t.kind === 'branched').map((t) => `${t.step}:${String(t.branch)}`);
const at = (r: JourneyResult, kind: string, step: string) => r.timeline.find((t) => t.kind === kind && t.step === step)?.at;

/** Lets the first wait time out (19:30 + 1h is after the window closes), then answers while the reminder is held back. */
async function answerDuringHeldReminder(handle: WorkflowHandle): Promise<void> {
  await env.sleep(HOUR + 5 * 60_000);
  const deadline = Date.now() + 15_000;
  while (!(await handle.query(stateQuery)).timeline.some((t) => t.kind === 'waited' && t.step === 'remind')) {
    if (Date.now() > deadline) throw new Error('the reminder was never held back by the send window');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await handle.signal(eventSignal, answer(9));
}

const evening = '2026-12-01T19:30:00Z';

test('an answer that arrives while the reminder is held back is taken by the next since: entry wait at once', async () => {
  const { result, mailer } = await run('gap-entry', evening, answerDuringHeldReminder);
  expect(result.outcome).toBe('completed');
  expect(branches(result)).toEqual(['first-wait:on_timeout', 'second-wait:on_event']);
  // The reminder still went at 09:00 (the send does not look back), and the wait took the answer then, not a day later.
  expect(at(result, 'sent', 'remind')).toMatch(/^2026-12-02T09:00/);
  expect(at(result, 'branched', 'second-wait')).toMatch(/^2026-12-02T09:00/);
  expect(mailer.sent.map((m) => m.subject)).toEqual(['question', 'reminder', 'thanks']);
});

test('the same journey with since: start does not hear that answer and times out', async () => {
  const { result, mailer } = await run('gap-start', evening, answerDuringHeldReminder);
  expect(result.outcome).toBe('exited');
  expect(result.reason).toBe('no answer');
  expect(branches(result)).toEqual(['first-wait:on_timeout', 'second-wait:on_timeout']);
  expect(mailer.sent.map((m) => m.subject)).toEqual(['question', 'reminder']);
});

test('each earlier event is taken once, the oldest first; a wait with none left times out', async () => {
  const { result, customerId } = await run('answers', evening, async (handle) => {
    await handle.signal(eventSignal, answer(3));
    await handle.signal(eventSignal, answer(7));
  });
  expect(result.outcome).toBe('exited');
  expect(result.reason).toBe('no more answers');
  expect(branches(result)).toEqual(['answer-1:on_event', 'answer-2:on_event', 'answer-3:on_timeout']);
  expect(await store.getProfile(customerId)).toMatchObject({ answer_1: '3', answer_2: '7' });
  // Both were taken as the waits started, an hour after entry; only the third waited its hour.
  expect(at(result, 'branched', 'answer-2')).toMatch(/^2026-12-01T20:30/);
  expect(at(result, 'branched', 'answer-3')).toMatch(/^2026-12-01T21:30/);
});
