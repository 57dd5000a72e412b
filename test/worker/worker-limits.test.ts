/** The worker concurrency settings reach the Temporal worker that `start` and `worker` create. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { smtpMailer } from '../../activities/mailer';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { loadConfig } from '../../worker/config';
import { activityDeps } from '../../worker/deps';
import { createJourneyWorker } from '../../worker/worker';
import { devServerEnv } from '../support/temporal';

let env: TestWorkflowEnvironment;
const store = new SqliteProfileStore(':memory:');

beforeAll(async () => {
  env = await devServerEnv();
}, 120_000);

afterAll(async () => {
  await store.close();
  await env?.teardown();
});

/** Creates a worker on its own task queue, hands it to `check`, then runs it once so it shuts down and lets go of the connection. */
async function withWorker(taskQueue: string, settings: Record<string, string>, check: (worker: Worker) => void): Promise<void> {
  const config = loadConfig({ ...settings, SMTP_URL: 'smtp://127.0.0.1:1' });
  const worker = await createJourneyWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    limits: config.workerLimits,
    deps: activityDeps(config, store, smtpMailer(config.smtpUrl)),
  });
  try {
    check(worker);
  } finally {
    await worker.runUntil(async () => undefined);
  }
}

test('UNBROKEN_WORKER_MAX_* set the workflow task and activity slots and the workflow cache', async () => {
  const settings = { UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: '4', UNBROKEN_WORKER_MAX_ACTIVITIES: '8', UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: '50' };
  await withWorker('worker-limits-set', settings, (worker) => {
    expect(worker.options.tuner).toMatchObject({
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 4 },
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 8 },
    });
    expect(worker.options.maxCachedWorkflows).toBe(50);
  });
}, 120_000);

test('unset, the SDK defaults apply (40 workflow tasks, 100 activities)', async () => {
  await withWorker('worker-limits-unset', {}, (worker) => {
    expect(worker.options.tuner).toMatchObject({
      workflowTaskSlotSupplier: { numSlots: 40 },
      activityTaskSlotSupplier: { numSlots: 100 },
    });
  });
}, 120_000);
