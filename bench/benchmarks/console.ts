/**
 * Benchmark 6, console: every console page against a large store — 100,000 customers and about
 * 1,000,000 step records with their runs, messages, events and consent (quick: a tenth) — on
 * SQLite and, with DATABASE_URL, PostgreSQL. The journeys are the shipped definitions/ (one has a
 * split); the history is written set-based (bench/lib/console-seed.ts). Each page is asked N
 * times after a warm-up through `app.inject` on the console's own fastify routes with the Bearer
 * key (no network: the time is Unbroken's and the database's). A page that answers 404 is
 * reported as missing, not as a failure.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { httpServer } from '../../api/server';
import { deploy } from '../../cli/live';
import { consoleDeps } from '../../cli/start';
import type { JourneyPlan } from '../../compiler/plan';
import { consoleRoutes } from '../../console/routes';
import { openProfileStore } from '../../profiles/index';
import type { DeployedJourney } from '../../profiles/store';
import { loadConfig } from '../../worker/config';
import type { BenchContext } from '../lib/context';
import { seedConsoleHistory } from '../lib/console-seed';
import { postgresStore, postgresUrl, sqliteStore, type StoreTarget } from '../lib/infra';
import { percentile, progress, round } from '../lib/report';

/** The issue's bar for every page, at p95. */
const TARGET_P95_MS = 300;
const WARM_UP = 3;
const DEFINITIONS = path.join(__dirname, '..', '..', 'definitions');

/** A page as asked: its name in the table and the URL of its k-th request (customers rotate). */
interface Page {
  name: string;
  url: (k: number) => string;
}

interface PageResult {
  page: string;
  status: 'ok' | 'missing' | 'error';
  /** The status code of the first answer that was neither 2xx nor 3xx. */
  httpStatus?: number;
  p50?: number;
  p95?: number;
  max?: number;
  requests: number;
  /** Size of the first answer, and its status (a search that finds one person answers 303). */
  bytes?: number;
  firstStatus?: number;
}

function pagesFor(journeys: readonly DeployedJourney[], customers: number, busiest: readonly string[]): Page[] {
  const plans = journeys.map((j) => j.plan as JourneyPlan);
  const split = plans.find((p) => p.steps.some((s) => s.kind === 'split')) ?? plans[0];
  const email = plans.find((p) => Object.values(p.templates).some((t) => t.channel === 'email')) ?? plans[0];
  const template = Object.keys(split.templates)[0];
  // Ordinary customers spread over the whole id range, so each request reads other pages of the database.
  const someone = (k: number) => `c${((k * 7919) % customers) + 1}`;
  const enc = encodeURIComponent;
  return [
    { name: 'journeys list', url: () => '/console/journeys' },
    { name: `journey page (${split.journey})`, url: () => `/console/journeys/${enc(split.journey)}` },
    { name: 'customer search by email', url: (k) => `/console/customers?q=${enc(`${someone(k).replace('c', 'customer')}@example.com`)}` },
    { name: 'customer page', url: (k) => `/console/customers/${someone(k)}` },
    { name: 'customer page, busiest customers', url: (k) => `/console/customers/${busiest[k % busiest.length]}` },
    { name: 'messages', url: () => '/console/messages' },
    { name: 'messages by journey and channel', url: () => `/console/messages?journey=${enc(email.journey)}&channel=email` },
    { name: `template preview (${split.journey}/${template})`, url: (k) => `/console/templates/${enc(split.journey)}/${enc(template)}?customer=${someone(k)}` },
  ];
}

async function timePage(app: FastifyInstance, key: string, page: Page, n: number): Promise<PageResult> {
  const ask = (k: number) => app.inject({ method: 'GET', url: page.url(k), headers: { authorization: `Bearer ${key}`, accept: 'text/html' } });
  const first = await ask(0);
  if (first.statusCode === 404) return { page: page.name, status: 'missing', httpStatus: 404, requests: 1 };
  if (first.statusCode >= 400) return { page: page.name, status: 'error', httpStatus: first.statusCode, requests: 1 };
  for (let k = 1; k < WARM_UP; k++) await ask(k);
  const ms: number[] = [];
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    const res = await ask(WARM_UP + k);
    ms.push(performance.now() - t0);
    if (res.statusCode >= 400) return { page: page.name, status: 'error', httpStatus: res.statusCode, requests: k + 1 };
  }
  return { page: page.name, status: 'ok', p50: percentile(ms, 50), p95: percentile(ms, 95), max: Math.max(...ms), requests: n, bytes: first.rawPayload.length, firstStatus: first.statusCode };
}

/** Seeds one store, serves the console on it, and times every page. */
async function benchStore(ctx: BenchContext, target: StoreTarget): Promise<{ seeded: Awaited<ReturnType<typeof seedConsoleHistory>>; pages: PageResult[] }> {
  const { consoleCustomers: customers, consoleStepRecords: stepRecords, consoleRequests: n } = ctx.sizes;
  const now = new Date();
  const setUp = await openProfileStore(target.url, ctx.tmp);
  let journeys: DeployedJourney[];
  try {
    await deploy(setUp, DEFINITIONS, new Date(now.getTime() - 100 * 86_400_000));
    journeys = await setUp.deployedJourneys();
  } finally {
    await setUp.close();
  }
  progress(`console ${target.kind}: seeding ${customers.toLocaleString('en-US')} customers and ~${stepRecords.toLocaleString('en-US')} step records`);
  const seeded = await seedConsoleHistory(target.url, journeys, { customers, stepRecords }, now);
  progress(`console ${target.kind}: seeded in ${round(seeded.ms / 1000)} s: ${Object.entries(seeded.counts).map(([t, c]) => `${t} ${c.toLocaleString('en-US')}`).join(', ')}`);
  const store = await openProfileStore(target.url, ctx.tmp, { migrate: false });
  const key = randomBytes(24).toString('base64url');
  const app = httpServer(undefined);
  try {
    await app.register(consoleRoutes(consoleDeps(loadConfig({}), key, store)), { prefix: '/console' });
    await app.ready();
    const pages: PageResult[] = [];
    for (const page of pagesFor(journeys, customers, seeded.busiest)) {
      const result = await timePage(app, key, page, n);
      const shown = result.status === 'ok' ? `p50 ${round(result.p50!)} ms, p95 ${round(result.p95!)} ms` : `${result.status} (HTTP ${result.httpStatus})`;
      progress(`console ${target.kind}: ${page.name}: ${shown}`);
      pages.push(result);
    }
    return { seeded, pages };
  } finally {
    await app.close();
    await store.close();
  }
}

export async function consoleBenchmark(ctx: BenchContext): Promise<void> {
  const pg = postgresUrl();
  const targets: StoreTarget[] = [sqliteStore(ctx.tmp, 'console')];
  if (pg) targets.push(await postgresStore(pg));
  const results: Record<string, unknown> = {};
  for (const target of targets) {
    try {
      const { seeded, pages } = await benchStore(ctx, target);
      results[target.kind] = { seeded, pages, requestsPerPage: ctx.sizes.consoleRequests };
      const B = `6 console ${target.kind}`;
      ctx.rows.push({
        benchmark: B,
        metric: 'seeding (s)',
        unbroken: seeded.ms / 1000,
        note: `${seeded.counts.customers.toLocaleString('en-US')} customers, ${seeded.counts.step_records.toLocaleString('en-US')} step records, ${seeded.counts.enrolments.toLocaleString('en-US')} runs, ${seeded.counts.messages.toLocaleString('en-US')} messages, ${seeded.counts.events.toLocaleString('en-US')} events`,
      });
      for (const p of pages) {
        if (p.status !== 'ok') {
          ctx.rows.push({ benchmark: B, metric: `${p.page} p50 / p95 (ms)`, unbroken: p.status, note: `HTTP ${p.httpStatus}` });
          continue;
        }
        const verdict = p.p95! < TARGET_P95_MS ? `under ${TARGET_P95_MS} ms` : `OVER ${TARGET_P95_MS} ms`;
        const answer = `HTTP ${p.firstStatus}, ${round(p.bytes! / 1024)} KiB`;
        ctx.rows.push({ benchmark: B, metric: `${p.page} p50 / p95 (ms)`, unbroken: `${round(p.p50!)} / ${round(p.p95!)}`, note: `${verdict}; ${p.requests} requests; ${answer}` });
      }
    } finally {
      await target.drop();
    }
  }
  ctx.results.console = results;
}
