/**
 * `unbroken doctor`: checks, one by one, what a node needs before it can run journeys —
 * configuration, Temporal and its namespace, the store and its schema, SMTP (EHLO only), the
 * clock and the time-zone database — and says for each what is wrong and how to fix it.
 * Read-only: it migrates nothing and sends nothing.
 */
import { Client } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { redactUrl } from '../core/redact';
import { reasonOf, runProbe, smtpProbe, workerProbe } from '../health/probes';
import { isPostgresUrl, profileStoreSchema, storeLocation } from '../profiles/index';
import { ConfigError, loadConfig, type Config } from '../worker/config';
import { connectClient } from '../worker/connection';

/** How long one check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 8000;

/** Clock skew beyond which doctor warns: timers, send windows and link expiry read the local clock. */
export const MAX_CLOCK_SKEW_MS = 5000;

/** The outcome of one check: `warn` is reported but does not fail the run. */
export interface DoctorCheck {
  name: string;
  state: 'ok' | 'warn' | 'failed' | 'skipped';
  /** What was found (on ok: what was checked). */
  detail: string;
  /** How to fix it, on warn and failed. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** Thrown inside a check: its message is the detail, `fix` says what to do. */
class CheckFailed extends Error {
  constructor(
    message: string,
    readonly fix: string,
    readonly state: 'failed' | 'warn' = 'failed',
  ) {
    super(message);
  }
}

/** Runs every check against `env` (process.env by default); the report is ok when none failed. */
export async function doctor(env: Record<string, string | undefined> = process.env): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env);
    checks.push({ name: 'configuration', state: 'ok', detail: 'every setting is valid' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push({ name: 'configuration', state: 'failed', detail: err.problems.join('; '), fix: 'correct the settings listed (see .env.example)' });
  }
  checks.push(await check('time zones', ICU_FIX, timeZoneCheck));
  if (!config) {
    for (const name of ['temporal', 'store', 'smtp', 'clock']) checks.push({ name, state: 'skipped', detail: 'configuration is invalid' });
    return { ok: false, checks };
  }
  const c = config;
  const parts = await Promise.all([
    temporalChecks(c),
    check('store', STORE_FIX, () => storeCheck(c)),
    check('smtp', smtpFix(c), () => smtpCheck(c)),
    check('clock', STORE_FIX, () => clockCheck(c)),
  ]);
  checks.push(...parts.flat());
  return { ok: checks.every((k) => k.state !== 'failed'), checks };
}

/**
 * Runs one check with a deadline. A CheckFailed says what to do itself; any other error, or no
 * answer in time, is a failure fixed by `fix`.
 */
async function check(name: string, fix: string, run: () => Promise<string>): Promise<DoctorCheck> {
  let detail = '';
  let failure: unknown;
  const health = await runProbe(async () => {
    try {
      detail = await run();
    } catch (err) {
      failure = err;
      throw err;
    }
  }, CHECK_TIMEOUT_MS);
  if (health.state === 'ok') return { name, state: 'ok', detail };
  if (failure instanceof CheckFailed) return { name, state: failure.state, detail: failure.message, fix: failure.fix };
  return { name, state: 'failed', detail: health.detail ?? 'failed', fix };
}

/** Temporal reachable, its namespace there, and (a warning only) some worker polling the task queue. */
async function temporalChecks(config: Config): Promise<DoctorCheck[]> {
  const { address, namespace, taskQueue } = config.temporal;
  const reach = config.embeddedTemporal
    ? '`unbroken start` runs the dev server on this address when TEMPORAL_ADDRESS is unset: is it running?'
    : `check TEMPORAL_ADDRESS (${address}), the network and the TLS settings (TEMPORAL_TLS*, TEMPORAL_API_KEY)`;
  let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    const reached = await runProbe(async () => {
      connection = await connectClient(config.temporal, { connectTimeoutMs: CHECK_TIMEOUT_MS - 1000 });
      await connection.workflowService.getSystemInfo({});
    }, CHECK_TIMEOUT_MS);
    if (reached.state !== 'ok') {
      return [
        { name: 'temporal', state: 'failed', detail: `${address}: ${reached.detail}`, fix: reach },
        { name: 'temporal namespace', state: 'skipped', detail: 'Temporal is unreachable' },
      ];
    }
    const conn = connection!;
    const checks: DoctorCheck[] = [{ name: 'temporal', state: 'ok', detail: `${address} answers` }];
    const described = await runProbe(async () => {
      await new Client({ connection: conn, namespace }).workflowService.describeNamespace({ namespace });
    }, CHECK_TIMEOUT_MS);
    checks.push(
      described.state === 'ok'
        ? { name: 'temporal namespace', state: 'ok', detail: `"${namespace}" exists` }
        : {
            name: 'temporal namespace',
            state: 'failed',
            detail: `"${namespace}": ${described.detail}`,
            fix: `create it (\`temporal operator namespace create ${namespace}\`, or in Temporal Cloud's console) or set TEMPORAL_NAMESPACE to an existing one`,
          },
    );
    const polled = await runProbe(workerProbe(conn, namespace, taskQueue), CHECK_TIMEOUT_MS);
    checks.push(
      polled.state === 'ok'
        ? { name: 'workers', state: 'ok', detail: `a worker polls task queue "${taskQueue}"` }
        : { name: 'workers', state: 'warn', detail: polled.detail ?? 'no worker', fix: 'start `unbroken worker` (or `unbroken start`) with the same TEMPORAL_TASK_QUEUE; until then journeys do not run' },
    );
    return checks;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function storeCheck(config: Config): Promise<string> {
  let schema;
  try {
    schema = await profileStoreSchema(config.databaseUrl, config.dataDir, config.database);
  } catch (err) {
    throw new CheckFailed(`${storeLocation(config.databaseUrl, config.dataDir)}: ${reasonOf(err)}`, STORE_FIX);
  }
  if (schema.pending.length) {
    throw new CheckFailed(
      `${schema.where}: ${schema.pending.length} migration(s) pending (${schema.pending.map((m) => m.version).join(', ')})`,
      'run `unbroken migrate` (`unbroken migrate --status` lists them)',
    );
  }
  return `${schema.where}: reachable, schema current (${schema.applied.length} migrations)`;
}

const STORE_FIX = 'check DATABASE_URL, that the database runs, is reachable from this machine and accepts this user';

function smtpFix(config: Config): string {
  return config.embeddedSmtp
    ? '`unbroken start` runs a mail catcher there when SMTP_URL is unset: is it running? In production set SMTP_URL'
    : 'check SMTP_URL (host, port, smtp:// or smtps://, user and password) and that the relay accepts this machine';
}

async function smtpCheck(config: Config): Promise<string> {
  try {
    await smtpProbe(config.smtpUrl)();
  } catch (err) {
    throw new CheckFailed(reasonOf(err), smtpFix(config));
  }
  return `${redactUrl(config.smtpUrl)} answers EHLO`;
}

/** Compares this machine's clock with PostgreSQL's; SQLite lives on this machine, so there is nothing to compare. */
async function clockCheck(config: Config): Promise<string> {
  const url = config.databaseUrl?.trim() ?? '';
  if (!isPostgresUrl(url)) return 'no remote clock to compare (the store is SQLite on this machine); keep NTP on';
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS - 1000 });
  try {
    await client.connect();
    const before = Date.now();
    const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
    const after = Date.now();
    const skew = rows[0].now.getTime() - (before + after) / 2;
    const text = `${Math.abs(Math.round(skew))} ms ${skew > 0 ? 'behind' : 'ahead of'} the database's clock`;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
      throw new CheckFailed(text, 'turn on time synchronisation (NTP, chrony, systemd-timesyncd) on this machine and the database host', 'warn');
    }
    return text;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Zones with unusual offsets, and their offset at a fixed instant, to catch a Node built without full ICU data. */
const ZONE_SAMPLES: [zone: string, offset: string][] = [
  ['Europe/Berlin', 'GMT+01:00'],
  ['America/New_York', 'GMT-05:00'],
  ['Asia/Kathmandu', 'GMT+05:45'],
  ['Pacific/Chatham', 'GMT+13:45'],
];

const ICU_FIX = 'run a Node.js built with full ICU (the official builds are) or point NODE_ICU_DATA at the full ICU data';

async function timeZoneCheck(): Promise<string> {
  const at = new Date('2026-01-15T12:00:00Z');
  const wrong: string[] = [];
  for (const [zone, expected] of ZONE_SAMPLES) {
    try {
      const offset = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
      if (offset !== expected) wrong.push(`${zone} is ${offset} on ${at.toISOString().slice(0, 10)}, expected ${expected}`);
    } catch (err) {
      wrong.push(`${zone}: ${reasonOf(err)}`);
    }
  }
  if (wrong.length) {
    throw new CheckFailed(wrong.join('; '), ICU_FIX);
  }
  return `Intl knows ${ZONE_SAMPLES.map(([z]) => z).join(', ')} (ICU ${process.versions.icu ?? '?'}, tz ${process.versions.tz ?? '?'})`;
}

/** The report as text: one line per check, and how to fix each that is not ok. */
export function formatDoctor(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${c.state.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix && (c.state === 'failed' || c.state === 'warn')) lines.push(`${''.padEnd(7)} ${''.padEnd(width)}  fix: ${c.fix}`);
  }
  const failed = r.checks.filter((c) => c.state === 'failed').length;
  lines.push('', failed ? `${failed} check${failed === 1 ? '' : 's'} failed` : 'all checks passed');
  return lines.join('\n');
}
