/**
 * The live system as `unbroken start` runs it (cli/start.ts `startSystem`: API, router, worker and
 * store in one process) against our Temporal and SMTP sink, plus the baseline HTTP endpoint.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { batchCalls, batchSchema, trackSchema, type Call } from '../../api/schemas';
import { toStoredEvent } from '../../api/ingest';
import { startSystem, type RunningSystem } from '../../cli/start';
import type { LiveStore } from '../../profiles/store';
import { loadConfig } from '../../worker/config';
import type { BenchContext } from './context';
import { sleepMs } from './report';

export const WRITE_KEY = 'bench-write-key-0123456789';
export const AUTHORIZATION = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

/** Starts the whole product on `databaseUrl` with its own task queue. */
export async function startLiveSystem(ctx: BenchContext, databaseUrl: string, taskQueue: string): Promise<RunningSystem> {
  const config = loadConfig({
    TEMPORAL_ADDRESS: ctx.temporal.address,
    TEMPORAL_NAMESPACE: ctx.temporal.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    SMTP_URL: ctx.smtp.url,
    DATABASE_URL: databaseUrl,
    UNBROKEN_DATA_DIR: path.join(ctx.tmp, `data-${taskQueue}`),
    UNBROKEN_WRITE_KEY: WRITE_KEY,
    MAIL_FROM: 'Bench <bench@127.0.0.1>',
    PORT: '0',
  });
  return startSystem(config, { definitionsDir: ctx.definitionsDir });
}

/**
 * The store's write path of accepted calls, without validation or routing, as `ingest` writes a
 * request: each customer resolved, then the calls' events in one `recordEvents`.
 */
export async function acceptCalls(store: LiveStore, calls: readonly Call[]): Promise<void> {
  const receivedAt = new Date().toISOString();
  const customers = await Promise.all(calls.map((call) => store.resolveCustomer({ userId: call.userId, anonymousId: call.anonymousId })));
  await store.recordEvents(calls.map((call, i) => ({ event: toStoredEvent(call, call.messageId ?? randomUUID(), customers[i], receivedAt) })));
}

/**
 * The ingestion baseline: a bare fastify endpoint that validates with the same zod schemas and
 * stores the same rows in the same store (resolveCustomer + recordEvents per request), without routing.
 */
export async function startBareApi(store: LiveStore): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false, bodyLimit: 512 * 1024 });
  const storeCalls = async (calls: Call[]) => {
    await acceptCalls(store, calls);
    return { success: true };
  };
  app.post('/v1/track', async (request, reply) => {
    const parsed = trackSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request' });
    return storeCalls([parsed.data]);
  });
  app.post('/v1/batch', async (request, reply) => {
    const parsed = batchSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: 'invalid_request' });
    return storeCalls(batchCalls(parsed.data));
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app };
}

/**
 * Waits until Temporal holds no backlog for the task queue (workflow and activity tasks), so
 * work queued by one round does not run during the next round's measurement. Sticky queues are
 * not visible here; they drain within a moment, which the final pause covers.
 */
export async function drainTaskQueue(client: Client, namespace: string, taskQueue: string, maxMs = 120_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    let backlog = 0;
    for (const type of [temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
      const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: type, reportStats: true });
      backlog += Number(r.stats?.approximateBacklogCount ?? 0);
    }
    if (backlog === 0 || Date.now() > deadline) break;
    await sleepMs(250);
  }
  await sleepMs(500);
}
