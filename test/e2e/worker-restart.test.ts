/**
 * A real `temporal server start-dev`, the real `unbroken worker` process and a real SMTP server:
 * the worker is killed mid-journey and a new one finishes it without sending anything twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { JOURNEY_WORKFLOW, journeyWorkflowId, type JourneyInput, type JourneyResult } from '../../workflows/definitions';
import { startSmtpServer } from '../support/smtp';
import { devServerEnv } from '../support/temporal';

const root = path.resolve(__dirname, '..', '..');
let env: TestWorkflowEnvironment;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let tmp: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-e2e-'));
  [env, smtp] = await Promise.all([devServerEnv(), startSmtpServer()]);
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await env?.teardown();
  await smtp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function startWorker(taskQueue: string): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'worker'], {
    cwd: tmp,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      SMTP_URL: smtp.url,
      DATABASE_URL: `sqlite:${path.join(tmp, 'profiles.sqlite')}`,
      MAIL_FROM: 'Shop <shop@example.com>',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(proc);
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('unbroken worker: task queue')) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`worker exited early (${code}):\n${output}`)));
  });
  return { proc, ready };
}

test('a worker killed mid-journey is replaced and the journey finishes with each mail sent once', async () => {
  const compiled = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'restart'), { ...activityCatalog, cwd: root });
  expect(compiled.errors).toEqual([]);
  const plan = compiled.plans.get('two-mails')!;
  const store = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  await store.identify('u-restart', { email: 'kim@example.com', first_name: 'Kim' });
  await store.close();

  const taskQueue = 'e2e-restart';
  const first = startWorker(taskQueue);
  await first.ready;
  const input: JourneyInput = {
    plan,
    customerId: 'u-restart',
    trigger: { event: 'signed_up', properties: {}, timestamp: new Date().toISOString() },
    defaultTimezone: 'UTC',
  };
  const handle = await env.client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue, workflowId: journeyWorkflowId(plan.journey, 'u-restart') });
  // Kill the worker once the welcome step is recorded, i.e. while the journey sits in its wait.
  // (Killing it while the SMTP server is still accepting the mail is the one documented window
  // where a mail can go out twice; see docs/activities.md.)
  const probe = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  const deadline = Date.now() + 30_000;
  while (!(await probe.stepsFor(handle.workflowId)).some((s) => s.stepId === 'welcome' && s.kind === 'sent')) {
    if (Date.now() > deadline) throw new Error('the welcome step was never recorded');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await probe.close();
  first.proc.kill('SIGKILL');
  await new Promise((resolve) => first.proc.once('exit', resolve));
  // Killed inside the 8 s wait: only the welcome mail is out.
  expect(smtp.messages.filter((m) => m.to === 'kim@example.com')).toHaveLength(1);

  const second = startWorker(taskQueue);
  await second.ready;
  const result = (await handle.result()) as JourneyResult;
  second.proc.kill('SIGTERM');
  const exitCode = await new Promise((resolve) => second.proc.once('exit', (code) => resolve(code)));

  expect(result.outcome).toBe('completed');
  const mails = smtp.messages.filter((m) => m.to === 'kim@example.com');
  expect(mails.map((m) => m.subject)).toEqual(['Welcome, Kim', 'How is it going?']);
  expect(new Set(mails.map((m) => m.messageId)).size).toBe(2);
  // SIGTERM drains the worker and exits cleanly.
  expect(exitCode).toBe(0);
  // What `status` reads from the store is the run's own timeline, entry for entry: the kill and
  // the replay on the second worker neither lost a record nor wrote one twice.
  const reader = new SqliteProfileStore(path.join(tmp, 'profiles.sqlite'));
  const records = await reader.stepsFor(handle.workflowId);
  await reader.close();
  expect(records.map((r) => [r.stepId, r.kind])).toEqual(result.timeline.map((t) => [t.step, t.kind]));
}, 120_000);
