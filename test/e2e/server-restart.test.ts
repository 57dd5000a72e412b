/**
 * The Temporal dev server itself is restarted mid-journey (persisting to its SQLite file, as
 * `unbroken start` runs it): the worker reconnects and the journey finishes, each mail sent once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { JOURNEY_WORKFLOW, journeyWorkflowId, type JourneyInput, type JourneyResult } from '../../workflows/definitions';
import { startDevServer, type DevServer } from '../../worker/dev-server';
import { startSmtpServer } from '../support/smtp';
import { freePort } from '../support/ports';

const root = path.resolve(__dirname, '..', '..');
let tmp: string;
let server: DevServer | undefined;
let worker: ChildProcess | undefined;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;


beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-restart-'));
  smtp = await startSmtpServer();
});

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await server?.stop();
  await smtp?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a dev server restarted while a journey waits loses nothing and duplicates nothing', async () => {
  const [port, uiPort] = [await freePort(), await freePort()];
  const dataDir = path.join(tmp, 'temporal');
  server = await startDevServer({ dataDir, port, uiPort });

  const plan = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'restart'), { ...activityCatalog, cwd: root }).plans.get('two-mails')!;
  const db = path.join(tmp, 'profiles.sqlite');
  const store = new SqliteProfileStore(db);
  await store.identify('u-srv', { email: 'sam@example.com', first_name: 'Sam' });

  worker = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'worker'], {
    cwd: tmp,
    env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_TASK_QUEUE: 'srv-restart', SMTP_URL: smtp.url, DATABASE_URL: `sqlite:${db}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  worker.stderr!.on('data', (c) => (log += c));
  const deadline = Date.now() + 60_000;
  while (!log.includes('unbroken worker: task queue')) {
    if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`worker did not start:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  let connection = await Connection.connect({ address: server.address });
  let client = new Client({ connection });
  const input: JourneyInput = { plan, customerId: 'u-srv', trigger: { event: 'signed_up', properties: {}, timestamp: new Date().toISOString() }, defaultTimezone: 'UTC' };
  const workflowId = journeyWorkflowId(plan.journey, 'u-srv');
  await client.workflow.start(JOURNEY_WORKFLOW, { args: [input], taskQueue: 'srv-restart', workflowId });
  while (!(await store.stepsFor(workflowId)).some((s) => s.stepId === 'welcome' && s.kind === 'sent')) {
    if (Date.now() > deadline) throw new Error('the welcome step was never recorded');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await connection.close();

  await server.stop();
  server = await startDevServer({ dataDir, port, uiPort });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  const result = (await client.workflow.getHandle(workflowId).result()) as JourneyResult;
  await connection.close();
  await store.close();

  expect(result.outcome).toBe('completed');
  const mails = smtp.messages.filter((m) => m.to === 'sam@example.com');
  expect(mails.map((m) => m.subject)).toEqual(['Welcome, Sam', 'How is it going?']);
}, 150_000);
