/** Commands that work on the live system's store: deploy, pause, resume, status, stats. */
import fs from 'node:fs';
import { Client, type Connection } from '@temporalio/client';
import { activityCatalog } from '../activities/index';
import { compileDefinitions, formatError } from '../compiler/index';
import type { JourneyPlan } from '../compiler/plan';
import { openProfileStore, type OpenOptions } from '../profiles/index';
import type { BroadcastProgress, ConsentChange, DeployResult, JourneyStats, LiveStore } from '../profiles/store';
import { conversionRate } from '../core/statistics';
import type { SplitReport } from '../core/splits';
import type { Config } from '../worker/config';
import { connectClient } from '../worker/connection';
import { stateQuery } from '../workflows/definitions';

/** Raised when the definitions are invalid: nothing was published (exit code 1). */
export class InvalidDefinitionsError extends Error {
  constructor(readonly lines: string[]) {
    super(`${lines.length} problem${lines.length === 1 ? '' : 's'} in the definitions; nothing was deployed`);
  }
}

/** The plans a deploy of `definitionsDir` publishes; invalid definitions throw InvalidDefinitionsError. */
export function compileForDeploy(definitionsDir: string): JourneyPlan[] {
  if (!fs.existsSync(definitionsDir)) throw new InvalidDefinitionsError([`definitions folder "${definitionsDir}" does not exist`]);
  const compiled = compileDefinitions(definitionsDir, { ...activityCatalog, cwd: process.cwd() });
  if (compiled.errors.length) throw new InvalidDefinitionsError(compiled.errors.map(formatError));
  return [...compiled.plans.values()];
}

/**
 * Compiles every definition and publishes the changed journeys in one transaction. The folder is
 * the whole set: a live journey whose file is gone is withdrawn (nobody new enters; customers
 * inside finish on the version they entered with). A folder without any journey withdraws
 * nothing and publishes nothing: that is a wrong folder far more often than a wish to stop all.
 */
export async function deploy(store: LiveStore, definitionsDir: string, at: Date = new Date()): Promise<DeployResult & { plans: JourneyPlan[] }> {
  const plans = compileForDeploy(definitionsDir);
  if (plans.length === 0 && (await store.deployedJourneys()).length > 0) {
    throw new InvalidDefinitionsError([
      `${definitionsDir} holds no journeys; deploying it would withdraw every live journey (stop one with \`unbroken pause <journey-id>\`, or remove its file while others remain)`,
    ]);
  }
  const result = await store.deployJourneys(
    plans.map((p) => ({ journeyId: p.journey, version: p.version, plan: p })),
    at.toISOString(),
    { withdrawAbsent: true },
  );
  return { ...result, plans };
}

/** One line per published, unchanged or withdrawn journey, for people. */
export function formatDeploy(r: DeployResult): string {
  const lines = r.published.map((p) => `published ${p.journeyId} ${p.previous ? `${p.previous} -> ` : ''}${p.version}`);
  if (r.unchanged.length) lines.push(`unchanged ${r.unchanged.join(', ')}`);
  for (const w of r.withdrawn ?? []) lines.push(`withdrawn ${w.journeyId} ${w.version}: its file is gone; nobody new enters, customers inside finish on their version`);
  return lines.join('\n') || 'nothing to deploy';
}

/**
 * Opens the configured store, runs `fn`, and closes the store again. With `migrate: false` the
 * store is not migrated, and a schema behind this Unbroken fails with "run unbroken migrate".
 */
export async function withStore<T>(config: Config, fn: (store: LiveStore) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const store = await openProfileStore(config.databaseUrl, config.dataDir, { database: config.database, ...options });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export interface CustomerStatus {
  customer: string;
  journeys: {
    journey: string;
    /** The run's trigger key, for journeys with `trigger.key` (one entry per run, so per key). */
    key?: string;
    workflow_id: string;
    version: string;
    entry: number;
    entered_at: string;
    current_step?: string;
    outcome?: string;
    ended_at?: string;
    steps: { at: string; step: string; kind: string; detail?: Record<string, unknown> }[];
  }[];
  /** Every consent statement, in the order it happened; an ignored one names the newer statement it lost to. */
  consent: ConsentLine[];
}

/** One consent statement as `status` shows it. */
export interface ConsentLine {
  /** When the customer said it. */
  at: string;
  channel: string;
  category: string;
  status: string;
  source: string;
  recorded_at: string;
  applied: boolean;
  /** For an ignored statement: when the statement held then had happened (it was newer, or an unsubscribe of the same instant). */
  ignored_older_than?: string;
}

/**
 * The history as lines. A statement was ignored because one held when it arrived had happened
 * later (or at the same instant): the latest applied statement of the same channel and category
 * recorded before it. None is found for a statement held since before the history was kept.
 */
export function consentLines(history: readonly ConsentChange[]): ConsentLine[] {
  return history.map((c) => {
    const line: ConsentLine = { at: c.happenedAt, channel: c.channel, category: c.category, status: c.status, source: c.source, recorded_at: c.recordedAt, applied: c.applied };
    if (c.applied) return line;
    const held = history
      .filter((h) => h.applied && h.channel === c.channel && h.category === c.category && h.recordedAt <= c.recordedAt && h.happenedAt >= c.happenedAt)
      .sort((a, b) => Date.parse(a.happenedAt) - Date.parse(b.happenedAt))
      .at(-1);
    return held ? { ...line, ignored_older_than: held.happenedAt } : line;
  });
}

/** Where a customer is or was in every journey, from the store. */
export async function customerStatus(store: LiveStore, customerId: string): Promise<CustomerStatus> {
  const canonical = await store.resolveCustomer({ userId: customerId });
  const enrolments = await store.enrolmentsFor(canonical);
  const journeys = [];
  for (const e of enrolments) {
    const steps = (await store.stepsFor(e.workflowId)).map((s) => ({ at: s.at, step: s.stepId, kind: s.kind, ...(s.detail && Object.keys(s.detail).length ? { detail: s.detail } : {}) }));
    journeys.push({
      journey: e.journeyId,
      ...(e.instanceKey !== undefined ? { key: e.instanceKey } : {}),
      workflow_id: e.workflowId,
      version: e.version,
      entry: e.entry,
      entered_at: e.enteredAt,
      current_step: e.endedAt ? undefined : e.currentStep,
      outcome: e.outcome,
      ended_at: e.endedAt,
      steps,
    });
  }
  return { customer: canonical, journeys, consent: consentLines(await store.consentHistory(canonical)) };
}

/**
 * Replaces the store's "last step passed" by the step each running journey is in right now, by
 * asking the workflows themselves. Best effort: with Temporal or the workers unreachable within
 * `timeoutMs`, the store's answer stands (and `live` stays false).
 */
export async function addLiveSteps(status: CustomerStatus, temporal: Config['temporal'], timeoutMs = 2000): Promise<CustomerStatus & { live: boolean }> {
  const running = status.journeys.filter((j) => !j.outcome);
  if (running.length === 0) return { ...status, live: false };
  let connection: Connection | undefined;
  try {
    connection = await connectClient(temporal, { connectTimeoutMs: timeoutMs });
    const client = new Client({ connection, namespace: temporal.namespace });
    const states = await client.withDeadline(Date.now() + timeoutMs, () =>
      Promise.all(running.map((j) => client.workflow.getHandle(j.workflow_id).query(stateQuery))),
    );
    running.forEach((j, i) => (j.current_step = states[i].currentStep ?? j.current_step));
    return { ...status, live: true };
  } catch {
    return { ...status, live: false };
  } finally {
    await connection?.close();
  }
}

/** The status as text. */
export function formatStatus(s: CustomerStatus & { live?: boolean }): string {
  const where = s.live ? 'now at step' : 'last step passed:';
  const out: string[] = s.journeys.length === 0 ? [`customer ${s.customer} has not entered any journey`] : [];
  for (const j of s.journeys) {
    const state = j.outcome ? `${j.outcome} at ${j.ended_at}` : `inside; ${where} ${j.current_step ?? 'entry'}`;
    const key = j.key !== undefined ? `key ${JSON.stringify(j.key)}, ` : '';
    out.push(`${j.journey} (${key}version ${j.version}, entry ${j.entry}, entered ${j.entered_at}): ${state}`);
    for (const st of j.steps) {
      const reason = st.detail && typeof st.detail.reason === 'string' ? ` (${st.detail.reason})` : '';
      out.push(`  ${st.at}  ${st.kind.padEnd(15)} ${st.step}${reason}`);
    }
  }
  if (s.consent.length > 0) {
    out.push('consent (in the order it happened):');
    for (const c of s.consent) {
      const ignored = c.applied
        ? ''
        : c.ignored_older_than === c.at
          ? '  ignored: an unsubscribe of the same instant wins'
          : `  ignored: older than ${c.ignored_older_than ?? 'the statement held'}`;
      out.push(`  ${c.at}  ${`${c.channel}.${c.category}`.padEnd(22)} ${c.status.padEnd(12)} ${c.source}${ignored}`);
    }
  }
  return out.join('\n');
}

/** Per-step counts as a table. */
export function formatStats(s: JourneyStats): string {
  const out = [`${s.journeyId}: entered ${s.entered}, inside now ${s.active}, conversion ${pct(conversionRate(s.entered, s.outcomes))}`];
  const outcomes = Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push(`outcomes: ${outcomes || 'none yet'}`);
  out.push('');
  out.push(`${'step'.padEnd(36)} ${'kind'.padEnd(16)} count`);
  for (const st of s.steps) {
    out.push(`${st.stepId.padEnd(36)} ${st.kind.padEnd(16)} ${st.count}`);
    for (const [reason, n] of Object.entries(st.reasons ?? {})) out.push(`${''.padEnd(36)}   ${reason.padEnd(14)} ${n}`);
  }
  return out.join('\n');
}

/** The latest broadcast of an audience or schedule journey, in one line (`null`: none yet). */
export function formatBroadcast(b: BroadcastProgress | null): string {
  if (b === null) return 'latest broadcast: none yet (unbroken trigger <journey-id> runs one)';
  const of = b.occurrence ? ` (occurrence ${b.occurrence})` : '';
  const state = b.stopped ? `stopped at ${b.finishedAt ?? '?'}: the journey was ${b.stopped}` : b.finishedAt ? `done at ${b.finishedAt}` : 'running';
  return `latest broadcast: began ${b.beganAt}${of}, matched ${b.matched}, entered ${b.entered}, ${state}`;
}

/** A rate as a percentage with one decimal. */
function pct(r: number | null | undefined): string {
  return r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`;
}

/** Each split's arms with rate, 95 % interval and lift against the baseline, then the verdict. */
export function formatSplits(reports: readonly SplitReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    out.push(`split ${r.step} (compared with ${r.baseline}): ${r.verdict}`);
    out.push(`  ${'arm'.padEnd(20)} ${'entered'.padStart(8)} ${'converted'.padStart(9)}  ${'rate'.padStart(6)}  ${'95% interval'.padEnd(15)} lift`);
    for (const a of [...r.variants, ...(r.holdout ? [r.holdout] : [])]) {
      const interval = a.interval ? `${pct(a.interval[0])}–${pct(a.interval[1])}` : '—';
      const lift = a.lift === undefined ? '' : a.lift === null ? '—' : `${a.lift >= 0 ? '+' : ''}${(a.lift * 100).toFixed(1)}%`;
      out.push(`  ${a.name.padEnd(20)} ${String(a.entered).padStart(8)} ${String(a.converted).padStart(9)}  ${pct(a.conversion_rate).padStart(6)}  ${interval.padEnd(15)} ${lift}`.trimEnd());
    }
  }
  return out.join('\n');
}

/** What is live in the store, and where the local definitions folder differs from it. */
export interface LiveJourneys {
  journeys: { journeyId: string; version: string; paused: boolean }[];
  /** Local journeys whose version is not the live one (`live` absent: never deployed). */
  differs: { journeyId: string; local?: string; live?: string }[];
  /** Why the local folder could not be compared (missing, or invalid definitions). */
  localProblem?: string;
}

/** Reads the live journeys and compares them with the definitions folder, publishing nothing. */
export async function liveJourneys(store: LiveStore, definitionsDir: string): Promise<LiveJourneys> {
  const journeys = (await store.deployedJourneys())
    .map(({ journeyId, version, paused }) => ({ journeyId, version, paused }))
    .sort((a, b) => a.journeyId.localeCompare(b.journeyId));
  if (!fs.existsSync(definitionsDir)) return { journeys, differs: [], localProblem: `definitions folder "${definitionsDir}" does not exist` };
  const compiled = compileDefinitions(definitionsDir, { ...activityCatalog, cwd: process.cwd() });
  if (compiled.errors.length) return { journeys, differs: [], localProblem: `${compiled.errors.length} problem(s) in ${definitionsDir} (see \`unbroken validate\`)` };
  const live = new Map(journeys.map((j) => [j.journeyId, j.version]));
  // A journey only live is a difference too: a deploy of this folder would withdraw it.
  const differs = [...new Set([...compiled.plans.keys(), ...live.keys()])]
    .sort()
    .map((journeyId) => ({ journeyId, local: compiled.plans.get(journeyId)?.version, live: live.get(journeyId) }))
    .filter((d) => d.local !== d.live);
  return { journeys, differs };
}

/** The live journeys and their differences from the local folder, as lines for the start banner. */
export function formatLiveJourneys(l: LiveJourneys, definitionsDir: string): string[] {
  const list = l.journeys.map((j) => `${j.journeyId} ${j.version}${j.paused ? ' (paused)' : ''}`).join(', ');
  const lines = [list || 'none live: publish the definitions with `unbroken deploy`'];
  if (l.localProblem) lines.push(`not compared with ${definitionsDir}: ${l.localProblem}`);
  if (l.differs.length) {
    const what = l.differs.map((d) => `${d.journeyId} (here ${d.local ?? 'none'}, live ${d.live ?? 'none'})`).join(', ');
    lines.push(`${definitionsDir} differs from what is live: ${what}; left as is. Publish with \`unbroken deploy --definitions ${definitionsDir}\``);
  }
  return lines;
}
