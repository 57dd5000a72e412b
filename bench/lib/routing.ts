/**
 * Routing as measured apart from acceptance: how fast the router loop works off what the API
 * accepted (from the store's own `received_at` and `routed_at`), against a hand-written client
 * making the same Temporal calls for the same event mix (the substrate's routing speed).
 */
import Database from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import type { Client } from '@temporalio/client';
import type { JourneyPlan } from '../../compiler/plan';
import { eventSignal, JOURNEY_WORKFLOW, journeyWorkflowId, type JourneyInput } from '../../workflows/definitions';
import { sleepMs } from './report';

/** One round's routing: each event's lag and the span from its first acceptance to its last routing. */
export interface RoundRouting {
  events: number;
  /** routed_at − received_at per event, ms. */
  lagsMs: number[];
  /** Seconds from the first event received to the last one routed. */
  spanS: number;
}

/** Waits until the store has no event waiting to be routed (at most `maxMs`). */
export async function awaitRouted(backlog: () => Promise<{ events: number }>, maxMs = 180_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while ((await backlog()).events > 0) {
    if (Date.now() > deadline) throw new Error(`events still waiting to be routed after ${maxMs / 1000} s`);
    await sleepMs(100);
  }
}

/** Reads the routing times of the events of customers whose ids start with `prefix`. */
export async function roundRouting(databaseUrl: string, prefix: string): Promise<RoundRouting> {
  const rows = await routedRows(databaseUrl, `${prefix}%`);
  const lagsMs = rows.map((r) => Date.parse(r.routed) - Date.parse(r.received));
  // A loop, not Math.min(...rows): a round of 150,000 events would overflow the call stack.
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    first = Math.min(first, Date.parse(r.received));
    last = Math.max(last, Date.parse(r.routed));
  }
  return { events: rows.length, lagsMs, spanS: rows.length ? (last - first) / 1000 : 0 };
}

async function routedRows(databaseUrl: string, pattern: string): Promise<{ received: string; routed: string }[]> {
  const query = 'SELECT received_at AS received, routed_at AS routed FROM events WHERE customer_id LIKE $1 AND routed_at IS NOT NULL';
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare(query.replace('$1', '?')).all(pattern) as { received: string; routed: string }[];
    } finally {
      db.close();
    }
  }
  const pg = new PgClient({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query(query, [pattern]);
    return rows.map((r: { received: Date | string; routed: Date | string }) => ({ received: new Date(r.received).toISOString(), routed: new Date(r.routed).toISOString() }));
  } finally {
    await pg.end();
  }
}

/**
 * The substrate's routing: for `customers` customers, start the journey's workflow for the first
 * event and signal it each later one, as the router does, up to `concurrency` customers at once
 * (the router loop's page), each customer's calls in order. Returns events per second.
 */
export async function handWrittenRouting(opts: {
  client: Client;
  taskQueue: string;
  plan: JourneyPlan;
  prefix: string;
  customers: number;
  perCustomer: number;
  concurrency: number;
}): Promise<{ events: number; seconds: number }> {
  const { client, taskQueue, plan, prefix, customers, perCustomer } = opts;
  const event = plan.trigger.event;
  if (event === undefined) throw new Error(`hand-written routing starts event-triggered journeys; ${plan.journey} is not one`);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < customers) {
      const c = next++;
      const customerId = `${prefix}-c${c}`;
      const workflowId = `${journeyWorkflowId(plan.journey, customerId)}:1`;
      const timestamp = new Date().toISOString();
      const input: JourneyInput = { plan, customerId, trigger: { event, properties: {}, timestamp, messageId: `${prefix}-m${c}-0` }, defaultTimezone: 'UTC' };
      await client.workflow.start(JOURNEY_WORKFLOW, { workflowId, taskQueue, args: [input] });
      // As the router signals a running journey: with signal-with-start, so a run that never started would be.
      for (let i = 1; i < perCustomer; i++) {
        const ping = { event: 'bench_ping', properties: { n: i }, timestamp: new Date().toISOString(), messageId: `${prefix}-m${c}-${i}` };
        await client.workflow.signalWithStart(JOURNEY_WORKFLOW, { workflowId, taskQueue, args: [input], signal: eventSignal, signalArgs: [ping] });
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return { events: customers * perCustomer, seconds: (performance.now() - started) / 1000 };
}
