/**
 * Issue 10's scale, the audience sweep: N customers and 10 × N events over a year
 * (bench/lib/sweep-seed.ts) in SQLite and, with DATABASE_URL, PostgreSQL; then one full pass of
 * the sweep's store side over win-back's lapsed-customers audience (definitions/), page by page
 * as enrolAudience reads it, each customer decided by the same function, nobody entered. Reports
 * the pass's time, customers read per second and its slowest page; and ingestion (accepted
 * events/s through the store's write path, in a process of its own as an API beside the worker)
 * alone and during a pass, so a sweep that held the store up would show as a ratio below 1.
 */
import path from 'node:path';
import { outsideRule } from '../../activities/audience-sweep';
import { deploy } from '../../cli/live';
import { isAudienceTrigger, type JourneyPlan } from '../../compiler/plan';
import { audienceTriggerMatches } from '../../core/audiences';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';
import { audienceEnteredTrigger } from '../../routing/audiences';
import type { BenchContext } from '../lib/context';
import { startIngestChild, type IngestRound } from '../lib/ingest-child';
import { postgresStore, postgresUrl, sqliteStore, type StoreTarget } from '../lib/infra';
import { progress, round } from '../lib/report';
import { EVENTS_PER_CUSTOMER, seedSweepStore } from '../lib/sweep-seed';

const DEFINITIONS = path.join(__dirname, '..', '..', 'definitions');
/** The journey whose audience is swept: lapsed customers, a time-dependent audience. */
const JOURNEY = 'win-back';
/** Customers per page, as enrolAudience reads them (its default). */
const PAGE_SIZE = 100;
/** Calls in flight in the ingestion child (the ingestion benchmark's autocannon connections). */
const INGEST_LANES = 10;

/** One full pass: customers the pages read, how many matched, and its time. */
export interface SweepPass {
  pages: number;
  read: number;
  matched: number;
  seconds: number;
  slowestPageMs: number;
}

/** Goes through the journey's audience to the end, as activities/audience-sweep.ts does, entering nobody. */
export async function sweepPass(store: LiveStore, plan: JourneyPlan, nowMs: number): Promise<SweepPass> {
  if (!isAudienceTrigger(plan.trigger)) throw new Error(`journey ${plan.journey} does not start from an audience`);
  const trigger = plan.trigger;
  const event = audienceEnteredTrigger(trigger.audience, new Date(nowMs).toISOString());
  const pass: SweepPass = { pages: 0, read: 0, matched: 0, seconds: 0, slowestPageMs: 0 };
  const t0 = performance.now();
  let after: string | undefined = '';
  while (after !== undefined) {
    const p0 = performance.now();
    const page = await store.audiencePage(trigger.members, { nowMs, after, limit: PAGE_SIZE, alsoReads: [trigger.where], outside: outsideRule(plan, nowMs) });
    pass.slowestPageMs = Math.max(pass.slowestPageMs, performance.now() - p0);
    pass.pages++;
    for (const { facts } of page.candidates) if (audienceTriggerMatches(trigger, event, facts, nowMs)) pass.matched++;
    pass.read += page.candidates.length;
    after = page.next;
  }
  pass.seconds = (performance.now() - t0) / 1000;
  return pass;
}

/** Keeps this process's thread busy for `seconds`, yielding every 10 ms as a pass does between statements. */
async function busy(seconds: number): Promise<void> {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const slice = performance.now() + 10;
    while (performance.now() < slice);
    await new Promise(setImmediate);
  }
}

interface StoreResult {
  customers: number;
  events: number;
  seedSeconds: number;
  alone: SweepPass;
  during: SweepPass;
  ingestAlone: IngestRound;
  /** Ingestion while this process only burns CPU (the control). */
  ingestBusy: IngestRound;
  ingestDuring: IngestRound;
}

async function benchStore(ctx: BenchContext, target: StoreTarget): Promise<StoreResult> {
  const customers = ctx.sizes.sweepProfiles;
  const now = new Date();
  const setUp = await openProfileStore(target.url, ctx.tmp);
  try {
    await deploy(setUp, DEFINITIONS, new Date(now.getTime() - 100 * 86_400_000));
  } finally {
    await setUp.close();
  }
  progress(`sweep ${target.kind}: seeding ${customers.toLocaleString('en-US')} customers and ${(customers * EVENTS_PER_CUSTOMER).toLocaleString('en-US')} events`);
  const seeded = await seedSweepStore(target.url, customers, now);
  progress(`sweep ${target.kind}: seeded in ${round(seeded.ms / 1000)} s`);
  const store = await openProfileStore(target.url, ctx.tmp, { migrate: false });
  const ingest = await startIngestChild({ databaseUrl: target.url, prefix: `ing-${ctx.runId}-${target.kind}`, lanes: INGEST_LANES });
  try {
    const plan = (await store.deployedJourneys()).find((d) => d.journeyId === JOURNEY)?.plan as JourneyPlan;
    const alone = await sweepPass(store, plan, now.getTime());
    progress(`sweep ${target.kind}: pass alone ${round(alone.seconds)} s, ${alone.read.toLocaleString('en-US')} read, ${alone.matched.toLocaleString('en-US')} matched, slowest page ${round(alone.slowestPageMs)} ms`);
    // Ingestion alone for as long as a pass takes (3–20 s), then again during passes for as long.
    const seconds = Math.min(20, Math.max(3, alone.seconds));
    const { ingest: ingestAlone } = await ingest.round(() => new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
    // The control: this process as busy as a pass keeps it, without touching the store. On two
    // cores ingestion slows down for the CPU alone; only a drop beyond this is the store's.
    const { ingest: ingestBusy } = await ingest.round(() => busy(seconds));
    const { ingest: ingestDuring, result: during } = await ingest.round(async () => {
      const t0 = performance.now();
      let last = await sweepPass(store, plan, now.getTime());
      while ((performance.now() - t0) / 1000 < seconds) last = await sweepPass(store, plan, now.getTime());
      return last;
    });
    progress(
      `sweep ${target.kind}: ingestion alone ${Math.round(ingestAlone.events / ingestAlone.seconds)}/s, beside a busy process ${Math.round(ingestBusy.events / ingestBusy.seconds)}/s, during passes ${Math.round(ingestDuring.events / ingestDuring.seconds)}/s; ` +
        `pass during ingestion ${round(during.seconds)} s, slowest page ${round(during.slowestPageMs)} ms`,
    );
    return { customers, events: seeded.counts.events, seedSeconds: seeded.ms / 1000, alone, during, ingestAlone, ingestBusy, ingestDuring };
  } finally {
    await ingest.stop();
    await store.close();
  }
}

export async function sweepBenchmark(ctx: BenchContext): Promise<void> {
  const pg = postgresUrl();
  const targets: StoreTarget[] = [sqliteStore(ctx.tmp, 'sweep')];
  if (pg) targets.push(await postgresStore(pg));
  const results: Record<string, StoreResult> = {};
  for (const target of targets) {
    try {
      const r = await benchStore(ctx, target);
      results[target.kind] = r;
      const B = `8 sweep ${target.kind} (${r.customers.toLocaleString('en-US')} customers)`;
      const perS = (x: IngestRound) => x.events / x.seconds;
      ctx.rows.push(
        { benchmark: B, metric: 'seeding (s)', unbroken: r.seedSeconds, note: `${r.customers.toLocaleString('en-US')} customers, ${r.events.toLocaleString('en-US')} events, set-based` },
        {
          benchmark: B,
          metric: 'sweep pass (s) / profiles swept per s',
          unbroken: `${round(r.alone.seconds)} / ${Math.round(r.customers / r.alone.seconds).toLocaleString('en-US')}`,
          note: `${JOURNEY}: ${r.alone.matched.toLocaleString('en-US')} match (${r.alone.read.toLocaleString('en-US')} candidates read, ${r.alone.pages} pages of ≤ ${PAGE_SIZE}), slowest page ${round(r.alone.slowestPageMs)} ms`,
        },
        {
          benchmark: B,
          metric: 'ingestion accepted events/s: during a pass vs alone',
          unbroken: perS(r.ingestDuring),
          baseline: perS(r.ingestAlone),
          ratio: perS(r.ingestDuring) / perS(r.ingestAlone),
          note: `store write path in its own process, ${INGEST_LANES} in flight; p99 ${round(r.ingestDuring.p99Ms)} vs ${round(r.ingestAlone.p99Ms)} ms, max ${round(r.ingestDuring.maxMs)} vs ${round(r.ingestAlone.maxMs)} ms; a pass meanwhile ${round(r.during.seconds)} s, slowest page ${round(r.during.slowestPageMs)} ms`,
        },
        {
          benchmark: B,
          metric: 'ingestion accepted events/s: during a pass vs beside a busy process',
          unbroken: perS(r.ingestDuring),
          baseline: perS(r.ingestBusy),
          ratio: perS(r.ingestDuring) / perS(r.ingestBusy),
          note: `the control: the sweep's process burning CPU without the store; p99 ${round(r.ingestDuring.p99Ms)} vs ${round(r.ingestBusy.p99Ms)} ms`,
        },
      );
    } finally {
      await target.drop();
    }
  }
  ctx.results.sweep = results;
}
