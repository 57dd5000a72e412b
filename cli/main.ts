/** The `unbroken` command line. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { activityCatalog } from '../activities/index';
import { compileDefinitions, formatError, formatWarning, type CompileError, type CompileResult } from '../compiler/index';
import { ConfigError, loadConfig, type Config } from '../worker/config';
import { shortUnsubscribeLinks } from '../delivery/short-links';
import { DEFAULT_SURVEY_LINK_TTL_MS, surveyLinkBuilder } from '../delivery/survey-tokens';
import { unsubscribePolicyUrl } from '../delivery/tokens';
import { quietHoursWindow } from '../worker/deps';
import { installLogger } from '../observability/log';
import { installRuntime, temporalLevel } from '../worker/logging';
import { runWorker } from '../worker/main';
import { runRouter } from '../routing/main';
import { temporalMetricsAddress } from '../worker/metrics-server';
import { deployPlan, formatDeployPlan } from './deploy-plan';
import { addLiveSteps, customerStatus, deploy, formatBroadcast, formatDeploy, formatSplits, formatStats, formatStatus, InvalidDefinitionsError, withStore } from './live';
import { conversionRate } from '../core/statistics';
import { splitReports, type SplitReport } from '../core/splits';
import { enrolsAudience, type JourneyPlan } from '../compiler/plan';
import { ProfileStoreError, type JourneyStats } from '../profiles/index';
import type { BroadcastProgress } from '../profiles/store';
import { doctor, formatDoctor } from './doctor';
import { formatFeedback, PERIODS, readFeedback, type Period } from './feedback';
import { formatMigrate, migrate } from './migrate';
import { exportFromCli, forgetFromCli, formatForget } from './privacy';
import { InvalidCustomerIdError, RunsNotEndedError } from '../privacy/forget';
import { formatDeadLetters, formatRoutingSummary, routingSummary } from './dead-letters';
import { startBanner, StartError, startSystem } from './start';
import { consoleBanner, startConsole } from './console';
import { formatAllReport, simulateAll } from './simulate-all';
import { formatReport, parseEvents, parseProfile, simulate, SimulationInputError } from './simulate';
import { GRAPH_FORMATS, isGraphFormat, renderGraph } from './graph';
import { DEFAULT_SAMPLE, formatAudience, MAX_SAMPLE, previewAudience } from './audience';
import { NotBroadcastableError, triggerJourney } from './trigger';
import { pauseJourneySchedule, reconcileAfterDeploy } from './journey-schedules';
import { findTestFiles, parseTestFile, type JourneyTest } from './journey-tests/parse';
import { coverage, formatResults, runJourneyTests } from './journey-tests/run';
import { formatPreview, isChannel, parsePreviewContext, preview, PreviewFailure, PreviewInputError } from './preview';

const USAGE = `Usage:
  unbroken validate [--definitions DIR] [--json]
  unbroken simulate <journey-id> --profile FILE --events FILE [--definitions DIR] [--start ISO] [--json]
  unbroken simulate --all --profile FILE --events FILE [--definitions DIR] [--start ISO] [--json]
  unbroken test [name-filter] [--definitions DIR] [--json]
  unbroken graph <journey-id> [--format mermaid|svg] [--out FILE] [--definitions DIR]
  unbroken preview <template-id> --profile FILE [--data JSON] [--channel email|sms|webhook] [--out FILE] [--definitions DIR] [--json]
  unbroken start [--definitions DIR] [--deploy]
  unbroken console
  unbroken deploy [--definitions DIR] [--dry-run] [--json]
  unbroken migrate [--status] [--json]
  unbroken doctor [--json]
  unbroken pause <journey-id>
  unbroken resume <journey-id>
  unbroken status --user ID [--json]
  unbroken forget --user ID [--json]
  unbroken export --user ID
  unbroken stats [<journey-id>] [--json]
  unbroken audience <audience-id> [--sample N] [--definitions DIR] [--json]
  unbroken trigger <journey-id>
  unbroken dead-letters [--retry [--id MESSAGE_ID ...]] [--limit N] [--json]
  unbroken feedback [--survey ID] [--journey ID] [--by day|week|month] [--since ISO] [--json]
  unbroken worker
  unbroken router

DIR defaults to ./definitions (holding journeys/, templates/ and audiences/). start publishes DIR only as the
embedded quick start (neither DATABASE_URL nor TEMPORAL_ADDRESS set) or with --deploy; otherwise
it shows what is live, and deploy publishes. console serves only the web console (HOST:UNBROKEN_CONSOLE_PORT)
against the store of a deployment whose API runs elsewhere, with its admin key (UNBROKEN_ADMIN_KEY or the data folder's).
router routes the events the API accepted into journeys, apart from start (UNBROKEN_START_ROUTES=false there).`;

/** Wrong usage: exit code 2. */
class UsageError extends Error {}

function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function compile(dir: string): CompileResult {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`definitions folder "${dir}" does not exist (pass --definitions DIR)`);
  }
  return compileDefinitions(dir, { ...activityCatalog, cwd: process.cwd() });
}

const problemJson = ({ code, file, line, column, path: p, message, hint }: CompileError) => ({ code, file, line, column, path: p, message, hint });

function printErrors(result: CompileResult, json: boolean): void {
  if (json) {
    write(JSON.stringify({ ok: false, errors: result.errors.map(problemJson), warnings: result.warnings.map(problemJson) }));
  } else {
    for (const w of result.warnings) process.stderr.write(`${formatWarning(w)}\n`);
    for (const e of result.errors) process.stderr.write(`${formatError(e)}\n`);
    process.stderr.write(`${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} found.\n`);
  }
}

function validate(args: string[]): number {
  const { values, positionals } = parseArgs({ args, options: { definitions: { type: 'string', default: 'definitions' }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`validate takes no positional arguments (got "${positionals[0]}")`);
  const result = compile(values.definitions);
  if (result.errors.length) {
    printErrors(result, values.json);
    return 1;
  }
  // Warnings do not fail validate: the definitions work, but probably not as meant.
  if (values.json) write(JSON.stringify({ ok: true, errors: [], warnings: result.warnings.map(problemJson) }));
  else {
    for (const w of result.warnings) process.stderr.write(`${formatWarning(w)}\n`);
    const counted = result.audiences.size > 0 ? `, ${result.templates.size} templates and ${result.audiences.size} audience${result.audiences.size === 1 ? '' : 's'}` : ` and ${result.templates.size} templates`;
    write(`ok: ${result.plans.size} journeys${counted} in ${values.definitions} are valid${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})` : ''}`);
  }
  return 0;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Caps and quiet hours as configured; unsubscribe and survey links are signed with a throw-away
 * secret, and short codes kept in the simulation's own store, so they look like the real ones but work nowhere.
 */
function simulationDelivery(config: Config) {
  const throwAway = randomBytes(32).toString('hex');
  return {
    caps: config.frequencyCaps,
    consentModes: config.consentModes,
    unsubscribeUrl: unsubscribePolicyUrl(config.publicUrl, throwAway, config.unsubscribeTtlMs),
    surveyLink: surveyLinkBuilder(config.publicUrl, throwAway, DEFAULT_SURVEY_LINK_TTL_MS),
    shortUnsubscribe: shortUnsubscribeLinks(config.publicUrl, config.unsubscribeTtlMs),
    surveyFatigueMs: config.surveyFatigueMs,
  };
}

/** `unbroken test`: exit 0 all pass, 1 any fails, 2 invalid definitions or test files. */
async function testCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { definitions: { type: 'string', default: 'definitions' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new UsageError(`test takes at most one name filter (got "${positionals.join('" "')}")`);
  const started = Date.now();
  const compiled = compile(values.definitions);
  if (compiled.errors.length) {
    printErrors(compiled, values.json);
    return 2;
  }
  const files = findTestFiles(values.definitions);
  if (files.length === 0) throw new UsageError(`no test files in ${path.join(values.definitions, 'tests')} (write <name>.test.yaml files there)`);
  const tests: JourneyTest[] = [];
  const errors: CompileError[] = [];
  for (const file of files) {
    const parsed = parseTestFile(file, fs.readFileSync(file, 'utf8'), compiled);
    tests.push(...parsed.tests);
    errors.push(...parsed.errors);
  }
  if (errors.length) {
    if (values.json) write(JSON.stringify({ ok: false, errors: errors.map(problemJson) }));
    else {
      for (const e of errors) process.stderr.write(`${formatError(e)}\n`);
      process.stderr.write(`${errors.length} problem${errors.length === 1 ? '' : 's'} in test files.\n`);
    }
    return 2;
  }
  const filter = positionals[0]?.toLowerCase();
  const chosen = filter === undefined ? tests : tests.filter((t) => t.name.toLowerCase().includes(filter));
  if (chosen.length === 0) throw new UsageError(`no test name contains "${positionals[0]}"`);
  const config = loadConfig();
  installRuntime('ERROR');
  const results = await runJourneyTests(chosen, compiled.plans, {
    defaultTimezone: config.defaultTimezone,
    delivery: simulationDelivery(config),
    quietHours: quietHoursWindow(config),
  });
  // Coverage of a filtered run would only list what the filter left out: shown for full runs.
  const cov = filter === undefined ? coverage([...compiled.plans.keys()].sort(), compiled.plans, results) : undefined;
  const ok = results.every((r) => r.ok);
  if (values.json) {
    const body = results.map((r) => ({ file: r.test.file, line: r.test.line, name: r.test.name, ok: r.ok, failures: r.failures }));
    write(JSON.stringify({ ok, tests: body, ...(cov ? { coverage: cov } : {}) }));
  } else write(formatResults(results, cov, (Date.now() - started) / 1000));
  return ok ? 0 : 1;
}

async function simulateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      definitions: { type: 'string', default: 'definitions' },
      profile: { type: 'string' },
      events: { type: 'string' },
      start: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (values.all && positionals.length > 0) throw new UsageError(`simulate --all runs every journey; leave out the journey id "${positionals[0]}"`);
  if (!values.all && positionals.length !== 1) throw new UsageError('simulate needs exactly one journey id, or --all for every journey');
  if (!values.profile) throw new UsageError('simulate needs --profile FILE');
  if (!values.events) throw new UsageError('simulate needs --events FILE');
  const startMs = values.start === undefined ? Date.now() : Date.parse(values.start);
  if (Number.isNaN(startMs)) throw new UsageError(`--start "${values.start}" is not an ISO time such as 2026-03-28T09:00:00Z`);
  if (!fs.existsSync(values.events)) throw new UsageError(`cannot read ${values.events}`);
  let profile, events;
  try {
    profile = parseProfile(readJson(values.profile), values.profile);
    events = parseEvents(fs.readFileSync(values.events, 'utf8'), values.events, startMs);
  } catch (err) {
    if (err instanceof SimulationInputError) throw new UsageError(err.message);
    throw err;
  }
  const result = compile(values.definitions);
  if (result.errors.length) {
    printErrors(result, values.json);
    return 1;
  }
  const config = loadConfig();
  const run = { profile, events, startMs, defaultTimezone: config.defaultTimezone, delivery: simulationDelivery(config), quietHours: quietHoursWindow(config) };
  if (values.all) {
    installRuntime('ERROR');
    const plans = [...result.plans.keys()].sort().map((id) => result.plans.get(id)!);
    const report = await simulateAll({ ...run, plans });
    write(values.json ? JSON.stringify(report) : formatAllReport(report));
    return 0;
  }
  const plan = result.plans.get(positionals[0]);
  if (!plan) {
    const known = [...result.plans.keys()].sort().join(', ');
    throw new UsageError(`no journey "${positionals[0]}" in ${path.join(values.definitions, 'journeys')} (known: ${known || 'none'})`);
  }
  installRuntime('ERROR');
  const report = await simulate({ ...run, plan });
  write(values.json ? JSON.stringify(report) : formatReport(report));
  return 0;
}

async function previewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      definitions: { type: 'string', default: 'definitions' },
      profile: { type: 'string' },
      data: { type: 'string' },
      channel: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('preview needs exactly one template id');
  if (!values.profile) throw new UsageError('preview needs --profile FILE');
  let profile;
  try {
    profile = parseProfile(readJson(values.profile), values.profile);
  } catch (err) {
    if (err instanceof SimulationInputError) throw new UsageError(err.message);
    throw err;
  }
  const context = values.data === undefined ? undefined : parsePreviewContext(values.data);
  const result = compile(values.definitions);
  const template = result.templates.get(positionals[0]);
  if (!template) {
    const own = result.errors.filter((e) => path.basename(e.file).replace(/\.ya?ml$/, '') === positionals[0]);
    if (own.length) {
      printErrors({ ...result, errors: own, warnings: [] }, values.json);
      return 1;
    }
    const known = [...result.templates.keys()].sort().join(', ');
    throw new UsageError(`no template "${positionals[0]}" in ${path.join(values.definitions, 'templates')} (known: ${known || 'none'})`);
  }
  const channel = values.channel;
  if (channel !== undefined && !isChannel(channel)) throw new UsageError(`--channel "${channel}" is not one of email, sms, webhook`);
  const config = loadConfig();
  const shown = await preview({
    template,
    ...(channel !== undefined ? { channel } : {}),
    definitionsDir: values.definitions,
    profile,
    context,
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    unsubscribeTtlMs: config.unsubscribeTtlMs,
    consentModes: config.consentModes,
  });
  let htmlNote: string | undefined;
  if (values.out !== undefined) {
    if (shown.channel !== 'email' || shown.html === undefined) throw new UsageError(`--out writes the HTML part of an email, and ${template.id}${channel ? ` for ${channel}` : ''} has none`);
    fs.writeFileSync(values.out, shown.html);
    htmlNote = `HTML part written to ${values.out} (${Buffer.byteLength(shown.html)} bytes)`;
  }
  write(values.json ? JSON.stringify(shown) : formatPreview(shown, htmlNote));
  return 0;
}

async function graphCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { definitions: { type: 'string', default: 'definitions' }, format: { type: 'string', default: 'mermaid' }, out: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('graph needs exactly one journey id');
  if (!isGraphFormat(values.format)) throw new UsageError(`--format "${values.format}" is not one of ${GRAPH_FORMATS.join(', ')}`);
  const result = compile(values.definitions);
  if (result.errors.length) {
    printErrors(result, false);
    return 1;
  }
  const plan = result.plans.get(positionals[0]);
  if (!plan) {
    const known = [...result.plans.keys()].sort().join(', ');
    throw new UsageError(`no journey "${positionals[0]}" in ${path.join(values.definitions, 'journeys')} (known: ${known || 'none'})`);
  }
  const drawing = await renderGraph(plan, values.format);
  if (values.out === undefined) {
    process.stdout.write(drawing);
    return 0;
  }
  try {
    fs.writeFileSync(values.out, drawing);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new UsageError(`cannot write ${values.out}: ${why}`);
  }
  process.stderr.write(`wrote ${values.out}\n`);
  return 0;
}

/**
 * Whether `start` publishes its definitions folder: only the embedded quick start (its own
 * Temporal and SQLite store, so one developer's machine) or when asked. A node of a shared
 * deployment started from an old checkout must not roll live journeys back.
 */
export function startDeploys(config: Config, deployFlag: boolean): boolean {
  return deployFlag || (config.embeddedTemporal && config.databaseUrl === undefined);
}

/** Exit code after a stop by signal during start (128 + SIGINT), as shells report Ctrl-C. */
const INTERRUPTED = 130;

/** Resolves with the first SIGINT or SIGTERM; a second one exits at once. */
function nextStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onInt = () => onSignal('SIGINT');
    const onTerm = () => onSignal('SIGTERM');
    const onSignal = (signal: string) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      const force = () => {
        process.stderr.write('unbroken: second signal, exiting without waiting\n');
        process.exit(INTERRUPTED);
      };
      process.once('SIGINT', force).once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
  });
}

async function startCommand(args: string[]): Promise<number> {
  const config = loadConfig();
  const { values, positionals } = parseArgs({
    args,
    options: { definitions: { type: 'string', default: config.definitionsDir }, deploy: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`start takes no positional arguments (got "${positionals[0]}")`);
  // The quick start's terminal shows the banner; below warn, logs would bury it.
  installLogger({ service: 'start', level: config.logLevel ?? 'warn' });
  installRuntime(temporalLevel(config.logLevel ?? 'warn'), await temporalMetricsAddress(config.metricsAddress));
  // Listening before anything starts: a dependency that hangs (a database that never answers) must not make Ctrl-C deaf.
  const signalled = nextStopSignal();
  let stopStarted: (() => Promise<void>) | undefined;
  const starting = startSystem(config, {
    definitionsDir: values.definitions,
    deploy: startDeploys(config, values.deploy),
    onStop: (stop) => (stopStarted = stop),
  });
  const first = await Promise.race([starting, signalled]);
  if (typeof first === 'string') {
    process.stderr.write(`\nunbroken: ${first} received while starting; stopping what already started…\n`);
    // The start may still fail or finish later; the process exits before it matters.
    starting.catch(() => undefined);
    await stopStarted?.();
    process.stderr.write('unbroken: start interrupted.\n');
    return INTERRUPTED;
  }
  write(startBanner(first));
  const ended = await Promise.race([signalled, first.failure]);
  if (ended instanceof Error) {
    // A part that cannot be brought back (the embedded Temporal server): stop the rest and say why.
    process.stderr.write(`\nunbroken: ${ended.message}\nunbroken: stopping…\n`);
    await first.stop();
    process.stderr.write('unbroken: stopped.\n');
    return 1;
  }
  process.stderr.write(`\nunbroken: ${ended} received, stopping (in-flight sends finish first)…\n`);
  await first.stop();
  process.stderr.write('unbroken: stopped.\n');
  return 0;
}

async function consoleCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length) throw new UsageError(`console takes no positional arguments (got "${positionals[0]}")`);
  const config = loadConfig();
  installLogger({ service: 'console', level: config.logLevel ?? 'warn' });
  const signalled = nextStopSignal();
  const starting = startConsole(config);
  const first = await Promise.race([starting, signalled]);
  if (typeof first === 'string') {
    process.stderr.write(`\nunbroken: ${first} received while the console was starting; stopped.\n`);
    starting.then((c) => c.stop()).catch(() => undefined);
    return INTERRUPTED;
  }
  write(consoleBanner(first));
  const signal = await signalled;
  process.stderr.write(`\nunbroken: ${signal} received, stopping the console…\n`);
  await first.stop();
  process.stderr.write('unbroken: stopped.\n');
  return 0;
}

/** `unbroken router`: the router loop alone, until SIGINT/SIGTERM (routing/main.ts). */
async function routerCommand(): Promise<number> {
  const config = loadConfig();
  const signalled = nextStopSignal();
  await runRouter(config, signalled.then((signal) => process.stderr.write(`\nunbroken: ${signal} received, finishing the sweep in progress…\n`)));
  return 0;
}

async function workerCommand(): Promise<number> {
  const config = loadConfig();
  // Until the worker runs (and drains on a signal itself), a signal stops the start at once.
  const signalled = nextStopSignal();
  let running = false;
  const worker = runWorker(config, { onRunning: () => (running = true) });
  const first = await Promise.race([worker.then(() => undefined), signalled]);
  if (first !== undefined && !running) {
    process.stderr.write(`\nunbroken: ${first} received while the worker was starting; stopped.\n`);
    worker.catch(() => undefined);
    return INTERRUPTED;
  }
  await worker;
  return 0;
}

async function deployCommand(args: string[]): Promise<number> {
  const config = loadConfig();
  const { values, positionals } = parseArgs({
    args,
    options: { definitions: { type: 'string', default: config.definitionsDir }, 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`deploy takes no positional arguments (got "${positionals[0]}")`);
  if (values['dry-run']) {
    // Not migrated either: a dry run writes nothing, not even the schema.
    const plan = await withStore(config, (store) => deployPlan(store, values.definitions), NO_MIGRATION);
    write(values.json ? JSON.stringify(plan) : formatDeployPlan(plan));
    return 0;
  }
  const { result, schedules } = await withStore(config, async (store) => {
    const deployed = await deploy(store, values.definitions);
    return { result: deployed, schedules: await reconcileAfterDeploy(config, store, deployed) };
  });
  write(
    values.json
      ? JSON.stringify({ published: result.published, unchanged: result.unchanged, withdrawn: result.withdrawn ?? [], ...(schedules ? { schedules } : {}) })
      : [formatDeploy(result), ...(schedules ? [schedules] : [])].join('\n'),
  );
  return 0;
}

async function migrateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { status: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`migrate takes no positional arguments (got "${positionals[0]}")`);
  const report = await migrate(loadConfig(), values.status);
  write(values.json ? JSON.stringify(report) : formatMigrate(report, values.status));
  // `--status` exits 1 while migrations are pending, so a deploy script can wait on it.
  return values.status && report.pending.length > 0 ? 1 : 0;
}

async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`doctor takes no positional arguments (got "${positionals[0]}")`);
  const report = await doctor();
  write(values.json ? JSON.stringify(report) : formatDoctor(report));
  return report.ok ? 0 : 1;
}

/** Read-only and operator commands never migrate: a schema behind this Unbroken fails with "run unbroken migrate". */
const NO_MIGRATION = { migrate: false } as const;

async function pauseCommand(command: 'pause' | 'resume', args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one journey id`);
  const config = loadConfig();
  const paused = command === 'pause';
  const plan = await withStore(
    config,
    async (store) => {
      if (!(await store.setPaused(positionals[0], paused))) return undefined;
      return (await store.deployedJourneys()).find((d) => d.journeyId === positionals[0])?.plan as JourneyPlan | undefined;
    },
    NO_MIGRATION,
  );
  if (!plan) throw new UsageError(`journey "${positionals[0]}" has never been deployed (run \`unbroken deploy\` first)`);
  const schedule = await pauseJourneySchedule(config, plan, paused);
  const said = paused ? `${positionals[0]} paused: no new customers enter; those inside continue` : `${positionals[0]} resumed: customers enter again`;
  write(schedule ? `${said}; ${schedule}` : said);
  return 0;
}

async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length || !values.user) throw new UsageError('status needs --user ID');
  const config = loadConfig();
  const stored = await withStore(config, (store) => customerStatus(store, values.user!), NO_MIGRATION);
  const status = await addLiveSteps(stored, config.temporal);
  write(values.json ? JSON.stringify(status) : formatStatus(status));
  return 0;
}

async function forgetCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length || values.user === undefined) throw new UsageError('forget needs --user ID');
  const report = await forgetFromCli(loadConfig(), values.user);
  write(values.json ? JSON.stringify(report) : formatForget(report));
  return 0;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' } }, allowPositionals: true });
  if (positionals.length || values.user === undefined) throw new UsageError('export needs --user ID');
  const document = await exportFromCli(loadConfig(), values.user);
  if (document === undefined) {
    process.stderr.write(`unbroken: nothing is held about customer ${JSON.stringify(values.user)}\n`);
    return 1;
  }
  write(JSON.stringify(document, null, 2));
  return 0;
}

async function statsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length > 1) throw new UsageError('stats takes at most one journey id');
  const journeyId = positionals[0];
  const found = await withStore(
    loadConfig(),
    async (
      store,
    ): Promise<{ stats?: JourneyStats; splits?: SplitReport[]; broadcast?: BroadcastProgress | null; routing: Awaited<ReturnType<typeof routingSummary>> } | { known: string[] }> => {
      const routing = await routingSummary(store);
      if (journeyId === undefined) return { routing };
      const deployed = await store.deployedJourneys();
      const live = deployed.find((j) => j.journeyId === journeyId);
      if (live === undefined) return { known: deployed.map((j) => j.journeyId).sort() };
      const plan = live.plan as JourneyPlan;
      const [stats, counts] = await Promise.all([store.journeyStats(journeyId), store.splitCounts(journeyId)]);
      // Audience and schedule journeys are broadcast: their latest broadcast's progress (null before the first).
      const broadcast = enrolsAudience(plan.trigger) ? ((await store.latestBroadcast(journeyId)) ?? null) : undefined;
      return { stats, splits: splitReports(plan, counts), routing, ...(broadcast === undefined ? {} : { broadcast }) };
    },
    NO_MIGRATION,
  );
  if ('known' in found) {
    process.stderr.write(`unbroken: no journey "${journeyId}" has been deployed (deployed: ${found.known.join(', ') || 'none'})\n`);
    return 1;
  }
  // Routing is not per journey: the backlog and the dead letters are shown with every journey's numbers.
  const { stats, splits = [], routing, broadcast } = found;
  const sent = broadcast === undefined ? {} : { broadcast };
  if (values.json) write(JSON.stringify(stats ? { ...stats, conversion_rate: conversionRate(stats.entered, stats.outcomes) ?? null, splits, ...sent, routing } : { routing }));
  else {
    const journey = stats ? [formatStats(stats), ...(broadcast === undefined ? [] : ['', formatBroadcast(broadcast)]), ...(splits.length ? ['', formatSplits(splits)] : []), ''] : [];
    write([...journey, formatRoutingSummary(routing)].join('\n'));
  }
  return 0;
}

async function audienceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { definitions: { type: 'string', default: 'definitions' }, sample: { type: 'string', default: String(DEFAULT_SAMPLE) }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('audience takes one audience id, e.g. unbroken audience lapsed-customers');
  const sample = Number(values.sample);
  if (!/^\d+$/.test(values.sample) || sample > MAX_SAMPLE) throw new UsageError(`--sample takes a whole number from 0 to ${MAX_SAMPLE}, got "${values.sample}"`);
  const result = compile(values.definitions);
  if (result.errors.length) {
    printErrors(result, values.json);
    return 1;
  }
  const plan = result.audiences.get(positionals[0]);
  if (!plan) {
    const known = [...result.audiences.keys()].sort();
    process.stderr.write(`unbroken: no audience "${positionals[0]}" in ${values.definitions}/audiences (audiences: ${known.join(', ') || 'none'})\n`);
    return 1;
  }
  const preview = await withStore(loadConfig(), (store) => previewAudience(store, plan, Date.now(), sample), NO_MIGRATION);
  write(values.json ? JSON.stringify(preview) : formatAudience(preview, plan.name));
  return 0;
}

async function triggerCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('trigger takes one journey id, e.g. unbroken trigger win-back');
  try {
    write(await triggerJourney(loadConfig(), positionals[0]));
    return 0;
  } catch (err) {
    if (!(err instanceof NotBroadcastableError)) throw err;
    process.stderr.write(`unbroken: ${err.message}\n`);
    return 1;
  }
}

async function deadLettersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { retry: { type: 'boolean', default: false }, id: { type: 'string', multiple: true }, limit: { type: 'string', default: '100' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`dead-letters takes no positional arguments (got "${positionals[0]}")`);
  if (values.id !== undefined && !values.retry) throw new UsageError('--id names dead letters to re-drive: use it with --retry');
  const limit = /^\d+$/.test(values.limit) ? Number(values.limit) : NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit "${values.limit}" is not a whole number from 1 to 10000`);
  const config = loadConfig();
  if (values.retry) {
    // The migration is applied by start or migrate; an operator command only writes rows.
    const retried = await withStore(config, (store) => store.retryDeadLetters(values.id), NO_MIGRATION);
    write(
      values.json
        ? JSON.stringify({ retried })
        : `${retried} dead-lettered event(s) put back for routing; the running \`unbroken start\` routes them within a minute (see \`unbroken dead-letters\`)`,
    );
    return 0;
  }
  const dead = await withStore(config, (store) => store.deadLetters({ limit }), NO_MIGRATION);
  write(values.json ? JSON.stringify(dead) : formatDeadLetters(dead));
  return 0;
}

async function feedbackCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { survey: { type: 'string' }, journey: { type: 'string' }, by: { type: 'string', default: 'month' }, since: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`feedback takes no positional arguments (got "${positionals[0]}")`);
  if (!(PERIODS as readonly string[]).includes(values.by)) throw new UsageError(`--by "${values.by}" is not one of ${PERIODS.join(', ')}`);
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
    throw new UsageError(`--since "${values.since}" is not an ISO time such as 2026-01-01 or 2026-01-01T00:00:00Z`);
  }
  const query = { survey: values.survey, journey: values.journey, since: values.since, by: values.by as Period };
  const result = await withStore(loadConfig(), (store) => readFeedback(store, query), NO_MIGRATION);
  if ('problem' in result) {
    const known = `known: ${result.known.join(', ') || 'none'}`;
    if (result.problem === 'several_surveys') throw new UsageError(`several surveys were asked: pass --survey ID (${known})`);
    const what = result.problem === 'unknown_survey' ? `no survey "${query.survey}"` : 'no survey has been deployed or asked';
    process.stderr.write(`unbroken: ${what}${query.journey === undefined ? '' : ` in journey "${query.journey}"`} (${known})\n`);
    return 1;
  }
  write(values.json ? JSON.stringify(result.report) : formatFeedback(result.report));
  return 0;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return validate(rest);
      case 'simulate':
        return await simulateCommand(rest);
      case 'test':
        return await testCommand(rest);
      case 'graph':
        return await graphCommand(rest);
      case 'preview':
        return await previewCommand(rest);
      case 'start':
        return await startCommand(rest);
      case 'console':
        return await consoleCommand(rest);
      case 'deploy':
        return await deployCommand(rest);
      case 'migrate':
        return await migrateCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
      case 'pause':
      case 'resume':
        return await pauseCommand(command, rest);
      case 'status':
        return await statusCommand(rest);
      case 'stats':
        return await statsCommand(rest);
      case 'audience':
        return await audienceCommand(rest);
      case 'trigger':
        return await triggerCommand(rest);
      case 'dead-letters':
        return await deadLettersCommand(rest);
      case 'forget':
        return await forgetCommand(rest);
      case 'export':
        return await exportCommand(rest);
      case 'feedback':
        return await feedbackCommand(rest);
      case 'worker':
        return await workerCommand();
      case 'router':
        return await routerCommand();
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`unbroken: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof PreviewInputError) {
      process.stderr.write(`unbroken: ${err.message}\n`);
      return 2;
    }
    if (err instanceof PreviewFailure) {
      process.stderr.write(`${err.where ? `${err.where}: ` : 'unbroken: '}${err.message}\n`);
      return 1;
    }
    if (err instanceof InvalidCustomerIdError) {
      process.stderr.write(`unbroken: --user ${err.message.replace(/^id: /, '')}\n`);
      return 2;
    }
    if (err instanceof RunsNotEndedError) {
      process.stderr.write(`unbroken: ${err.message}; nothing was erased (is Temporal up? TEMPORAL_ADDRESS), run it again\n`);
      return 1;
    }
    if (err instanceof InvalidDefinitionsError) {
      for (const line of err.lines) process.stderr.write(`${line}\n`);
      process.stderr.write(`unbroken: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`unbroken: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StartError) {
      // The message names the data folder and the fix; a stack would bury that.
      process.stderr.write(`unbroken: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ProfileStoreError) {
      // Its message names the database (password hidden) and what to do; a stack would bury that.
      process.stderr.write(`unbroken: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`unbroken: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
