/**
 * `unbroken start`: the whole product in one process on embedded defaults — a Temporal dev
 * server (persisted under the data folder, with its Web UI), the worker, the event API, the
 * profile store and a local mail catcher — or, where TEMPORAL_ADDRESS, SMTP_URL and DATABASE_URL
 * are set, the same worker and API against those.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { adminKey } from '../api/admin';
import { buildApi } from '../api/server';
import type { ConsoleDeps } from '../console/routes';
import { smtpMailer } from '../activities/mailer';
import { MailCatcherStartError, startMailCatcher } from '../mailcatcher/index';
import { openProfileStore } from '../profiles/index';
import type { DeployResult, LiveStore } from '../profiles/store';
import { log } from '../observability/log';
import { deadlinedProbe, HealthMonitor, PROBE_TIMEOUT_MS, reasonOf, smtpProbe, storeProbe, supervisedProbe, temporalProbe, throttled, type HealthReport, type PartHealth } from '../health/probes';
import { addressHasher } from '../privacy/hash';
import { RetentionSweeper } from '../privacy/retention';
import { RoutingLoop } from '../routing/loop';
import { BacklogGuard } from '../api/backlog';
import { configuredRouter } from '../routing/main';
import type { JourneyRouter } from '../routing/router';
import { ConfigError, type Config } from '../worker/config';
import { activityDeps, secretFromEnvOrDataDir, unsubscribeSecret } from '../worker/deps';
import { connectClient, connectWorker } from '../worker/connection';
import { describeExit, superviseDevServer, type SupervisedDevServer, type SupervisorEvent } from '../worker/dev-server';
import { createJourneyWorker } from '../worker/worker';
import { ensureSweepSchedule } from '../worker/sweep-schedule';
import { syncJourneySchedules } from '../worker/journey-schedules';
import { ProcessMetrics } from '../observability/metrics';
import { readiness, serveWorkerEndpoints } from '../worker/metrics-server';
import { formatRoutingSummary, routingSummary } from './dead-letters';
import { deploy, formatLiveJourneys, liveJourneys, type LiveJourneys } from './live';

/** How often the SMTP relay is asked (EHLO and login): once a minute, whatever the round interval. */
const SMTP_PROBE_INTERVAL_MS = 60_000;

export interface RunningSystem {
  /** Where a client on this machine reaches the event API (loopback when it listens on every interface). */
  apiUrl: string;
  /** The address and port the event API is bound to, e.g. `0.0.0.0:3000` or `[::]:3000`. */
  apiListening: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  mailUrl?: string;
  /** Where /metrics, /healthz and /readyz of the worker are served (UNBROKEN_METRICS_ADDRESS); absent when unset. */
  metricsUrl?: string;
  writeKey: string;
  /** True when the write key came from UNBROKEN_WRITE_KEY: it is the operator's, and never printed. */
  writeKeyFromEnv: boolean;
  /** The admin key of the privacy routes (api/admin.ts); printed only when generated, like the write key. */
  adminKey: string;
  adminKeyFromEnv: boolean;
  /** What start published; absent when it published nothing (`deploy: false`). */
  deployed?: DeployResult;
  /** The journeys live once started, and where the definitions folder differs from them. */
  live: LiveJourneys;
  definitionsDir: string;
  store: LiveStore;
  router: JourneyRouter;
  /** The router loop of this process; absent with UNBROKEN_START_ROUTES=false. */
  routing?: RoutingLoop;
  /** Stops everything, newest part first, letting in-flight work finish. */
  stop(): Promise<void>;
  /**
   * Resolves when a part this process runs has failed for good (the embedded Temporal server
   * could not be restarted); the process should then stop and exit non-zero. Never resolves otherwise.
   */
  failure: Promise<Error>;
}

/** A start-up problem the operator fixes (the data folder): shown as one message, never with a stack. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/**
 * Creates the data folder readable by its owner only (0700), or checks an existing one is a
 * folder this user may write; each problem names the path and the fix.
 */
export function prepareDataDir(dir: string): void {
  const where = path.resolve(dir);
  const fix = 'or set UNBROKEN_DATA_DIR to a folder this user may write';
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(where);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new StartError(`data folder ${where}: a part of that path is a file, not a folder; move it away, ${fix}`);
    if (code !== 'ENOENT') throw new StartError(`data folder ${where}: cannot be read (${code}); give this user access, ${fix}`);
  }
  if (stat && !stat.isDirectory()) throw new StartError(`data folder ${where} is a file, not a folder; move the file away, ${fix}`);
  if (!stat) {
    try {
      fs.mkdirSync(where, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of that path is a file' : code === 'EROFS' ? 'the file system is read-only' : code;
      throw new StartError(`data folder ${where} cannot be created (${why}); create it and give this user write access, ${fix}`);
    }
    return;
  }
  try {
    fs.accessSync(where, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new StartError(`data folder ${where} is not writable by this user (permission denied); run \`chmod u+rwx ${where}\` as its owner, ${fix}`);
  }
}

/** Logs what the embedded Temporal server's supervisor does. */
function logSupervision(event: SupervisorEvent): void {
  if (event.kind === 'exited') {
    log().warn(
      { exitCode: event.exit.code, signal: event.exit.signal, retryInMs: event.retryInMs, attempt: event.attempt },
      `the embedded Temporal server exited unexpectedly (${describeExit(event.exit)}); restarting it in ${event.retryInMs} ms from its database file`,
    );
  } else if (event.kind === 'restart_failed') {
    log().warn({ error: event.error, retryInMs: event.retryInMs, attempt: event.attempt }, `restarting the embedded Temporal server failed; trying again in ${event.retryInMs} ms`);
  } else if (event.kind === 'restarted') {
    log().warn({ restarts: event.restarts, pid: event.pid }, 'the embedded Temporal server is running again; waiting journeys resume and stored events are routed');
  } else {
    log().error({ error: event.error.message }, 'the embedded Temporal server could not be restarted; stopping');
  }
}

/**
 * Starts every part; on failure, stops what already started and rethrows. `deploy` (default true)
 * publishes the definitions folder first; `unbroken start` decides it (cli/main.ts).
 * `onStop` receives the stop function as soon as the first part starts, so a signal during a
 * slow start can stop what already runs.
 */
export async function startSystem(
  config: Config,
  opts: { definitionsDir: string; deploy?: boolean; onStop?: (stop: () => Promise<void>) => void },
): Promise<RunningSystem> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log().warn({ err }, 'a part failed while stopping');
      }
    }
    stops.length = 0;
  };
  opts.onStop?.(stopAll);
  if (config.embeddedTemporal && config.temporal.tls) {
    // Connecting with TLS to the plain-TCP dev server would fail later with a handshake error.
    throw new ConfigError([
      'TEMPORAL_ADDRESS: not set, so `unbroken start` runs its own dev server, which speaks plain TCP; ' +
        'TLS is on (TEMPORAL_TLS, TEMPORAL_API_KEY or a TEMPORAL_TLS_* key): set TEMPORAL_ADDRESS to the server those are for, or unset them',
    ]);
  }
  try {
    prepareDataDir(config.dataDir);
    let temporalAddress = config.temporal.address;
    let temporalUiUrl: string | undefined;
    let dev: SupervisedDevServer | undefined;
    // Set once the health monitor exists: a restarted server is probed at once, not a round later.
    const healthLater: { probeNow?: () => void } = {};
    if (config.embeddedTemporal) {
      dev = await superviseDevServer({
        dataDir: config.dataDir,
        port: config.embeddedPorts.temporal,
        uiPort: config.embeddedPorts.temporalUi,
        onEvent: (event) => {
          logSupervision(event);
          if (event.kind !== 'restart_failed') healthLater.probeNow?.();
        },
      }).catch((err: unknown) => {
        // A port in use, a missing binary: the message says what to do; a stack would bury it.
        throw new StartError(`the embedded Temporal server did not start: ${(err as Error).message}`);
      });
      stops.push(dev.stop);
      temporalAddress = dev.address;
      temporalUiUrl = dev.uiUrl;
    }
    let smtpUrl = config.smtpUrl;
    let mailUrl: string | undefined;
    if (config.embeddedSmtp) {
      const catcher = await startMailCatcher({ dir: path.join(config.dataDir, 'mail'), smtpPort: config.embeddedPorts.smtp, httpPort: config.embeddedPorts.mailWeb }).catch(
        (err: unknown) => {
          throw err instanceof MailCatcherStartError ? new StartError(err.message) : err;
        },
      );
      stops.push(catcher.stop);
      smtpUrl = catcher.smtpUrl;
      mailUrl = catcher.webUrl;
    }
    const store = await openProfileStore(config.databaseUrl, config.dataDir, { database: config.database });
    stops.push(() => store.close());
    const metrics = new ProcessMetrics();
    metrics.watchRoutingBacklog(() => store.routingBacklog());
    const deployed = opts.deploy === false ? undefined : await deploy(store, opts.definitionsDir);
    const live = await liveJourneys(store, opts.definitionsDir);

    const temporal = { ...config.temporal, address: temporalAddress };
    const nativeConnection = await connectWorker(temporal);
    stops.push(() => nativeConnection.close());
    const connection = await connectClient(temporal);
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: temporal.namespace });

    const worker = await createJourneyWorker({
      connection: nativeConnection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      limits: config.workerLimits,
      deps: { ...activityDeps(config, store, smtpMailer(smtpUrl)), metrics },
      // The sweep and broadcasts enter customers through a router of their own, as events do.
      audience: { store, router: configuredRouter({ ...config, temporal }, { store, client, metrics }), defaultTimezone: config.defaultTimezone },
    });
    const running = worker.run();
    await ensureSweepSchedule(client, temporal.taskQueue, config.audienceSweepMs);
    // After the deploy above (embedded mode), or to catch up one made while Temporal was out of reach.
    await syncJourneySchedules(client, temporal.taskQueue, await store.deployedJourneys());
    let stopping = false;
    stops.push(async () => {
      stopping = true;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    // A worker that ends by itself (a fatal error from the SDK) leaves journeys unrun while the
    // API still accepts events: the process stops and says why rather than limping on.
    const workerEnded = running.then(
      () => (stopping ? never<Error>() : new Error('the worker stopped by itself; journeys would no longer run')),
      (err: unknown) => (stopping ? never<Error>() : new Error(`the worker failed: ${reasonOf(err)}`)),
    );
    // Probed in the background, so /readyz answers from the cache and routing knows at once
    // when Temporal is down. The worker part is this process's own worker. One monitor serves
    // the API's /readyz and the metrics address's.
    const { health, stop: stopHealth } = monitorParts(store, connection, smtpUrl, dev);
    stops.push(stopHealth);
    healthLater.probeNow = () => void health.probeAll();
    await health.probeAll();
    let metricsUrl: string | undefined;
    if (config.metricsAddress !== undefined) {
      const endpoints = await serveWorkerEndpoints(config.metricsAddress, { metrics, store, connection, worker, health });
      stops.push(endpoints.close);
      metricsUrl = endpoints.url;
    }

    const router = configuredRouter({ ...config, temporal }, { store, client, metrics, temporalHealth: () => health.report().parts.temporal });
    // Accept first, route next: the API stores events and wakes this loop, which routes them;
    // unless `unbroken router` processes do (UNBROKEN_START_ROUTES=false).
    const loop = config.startRoutes ? new RoutingLoop({ store, router, maxAttempts: config.routeAttempts }) : undefined;
    const routing = watchRouting(store);
    stops.push(routing.stop);
    loop?.start();
    stops.push(async () => loop?.stop());
    const writeKey = secretFromEnvOrDataDir(config, config.writeKey, 'write-key', 18);
    const admin = adminKey(config);
    if (config.retentionDays !== undefined) {
      const retention = new RetentionSweeper({ store, days: config.retentionDays });
      retention.start();
      stops.push(() => retention.stop());
    }
    const api = await buildApi({
      store,
      accepted: () => loop?.wake(),
      backlog: new BacklogGuard({ limit: config.routingBacklogLimit, count: async () => (await store.routingBacklog()).events }),
      writeKey,
      bodyLimitBytes: config.maxBodyBytes,
      logger: log(),
      unsubscribe: { secret: unsubscribeSecret(config), store, publicUrl: config.publicUrl },
      survey: { secret: unsubscribeSecret(config), store, graceMs: config.surveyGraceMs },
      suppressions: store,
      admin: { key: admin, store, hashAddress: addressHasher(unsubscribeSecret(config)), temporal: async () => client },
      console: consoleDeps(config, admin, store),
      metrics,
      ready: () => withRouting(readiness(health.report(), worker.getState() === 'RUNNING'), routing.part()),
    });
    await api.listen({ port: config.port, host: config.host });
    stops.push(() => api.close());
    const bound = api.server.address() as AddressInfo;
    const { apiUrl, apiListening } = apiAddresses(bound);

    return {
      apiUrl,
      apiListening,
      temporalAddress,
      temporalUiUrl,
      mailUrl,
      metricsUrl,
      writeKey,
      writeKeyFromEnv: config.writeKey !== undefined,
      adminKey: admin,
      adminKeyFromEnv: config.adminKey !== undefined,
      deployed,
      live,
      definitionsDir: opts.definitionsDir,
      store,
      router,
      routing: loop,
      stop: stopAll,
      failure: Promise.race([dev?.failed ?? never<Error>(), workerEnded]),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What the console is built from, the same for `unbroken start` and `unbroken console`. */
export function consoleDeps(config: Config, key: string, store: LiveStore): ConsoleDeps {
  return {
    key,
    store,
    secureCookie: config.publicUrl.startsWith('https:'),
    preview: { publicUrl: config.publicUrl, mailFrom: config.mailFrom, unsubscribeTtlMs: config.unsubscribeTtlMs, consentModes: config.consentModes },
  };
}

/** Starts probing the store, Temporal and SMTP in the background; `stop` ends it. */
function monitorParts(store: LiveStore, connection: Connection, smtpUrl: string, dev?: SupervisedDevServer): { health: HealthMonitor; stop(): Promise<void> } {
  // The embedded server's supervisor knows first, and says why (restarting, given up).
  const temporal = deadlinedProbe(connection, dev ? supervisedProbe(temporalProbe(connection), () => dev.state()) : temporalProbe(connection));
  const health = new HealthMonitor(
    {
      store: storeProbe(store),
      temporal: temporal.probe,
      // A login at the relay once a minute, not every round; reported, but a mail outage does not
      // take the API out of the load balancer: events are still accepted and sends retry.
      smtp: throttled(smtpProbe(smtpUrl), SMTP_PROBE_INTERVAL_MS),
    },
    { timeoutMs: PROBE_TIMEOUT_MS, advisory: ['smtp'] },
  );
  health.start();
  const stop = async (): Promise<void> => {
    await health.stop();
    await temporal.settled();
  };
  return { health, stop };
}

/** A promise that never settles: a failure that cannot happen. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** How often /readyz's `routing` part (backlog and dead letters) is read again. */
const ROUTING_WATCH_MS = 5000;

/**
 * Reads the routing backlog and the dead-letter count in the background (two indexed queries
 * every 5 s), so /readyz can show them without waiting on the store. Informational only: a
 * backlog or dead letters never make a node unready.
 */
function watchRouting(store: LiveStore): { part(): PartHealth | undefined; stop(): Promise<void> } {
  let last: PartHealth | undefined;
  let reading: Promise<void> = Promise.resolve();
  const read = () => {
    reading = routingSummary(store).then(
      (s) => {
        last = { state: 'ok', detail: formatRoutingSummary(s).replace(/^routing: /, ''), checkedAt: new Date().toISOString() };
      },
      () => {
        // The store's own part reports the store down; this one just keeps its last reading.
      },
    );
  };
  read();
  const timer = setInterval(read, ROUTING_WATCH_MS);
  timer.unref();
  return {
    part: () => last,
    async stop() {
      clearInterval(timer);
      await reading;
    },
  };
}

/** Adds the `routing` part to a readiness report, without letting it decide readiness. */
function withRouting(report: HealthReport, routing: PartHealth | undefined): HealthReport {
  return routing === undefined ? report : { ...report, parts: { ...report.parts, routing } };
}

/** The bound address as shown, and a URL to it from this machine: a wildcard bind answers on loopback. */
export function apiAddresses(bound: AddressInfo): { apiUrl: string; apiListening: string } {
  const hostPort = (host: string) => (host.includes(':') ? `[${host}]:${bound.port}` : `${host}:${bound.port}`);
  const local = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  return { apiUrl: `http://${hostPort(local)}`, apiListening: hostPort(bound.address) };
}

/** The banner `unbroken start` prints: where everything is and how to try it. */
export function startBanner(s: RunningSystem): string {
  // A key from the environment belongs to the operator: it stays out of terminals and CI logs.
  const key = s.writeKeyFromEnv ? 'from UNBROKEN_WRITE_KEY' : `write key: ${s.writeKey}`;
  const auth = s.writeKeyFromEnv ? `-u "$UNBROKEN_WRITE_KEY:"` : `-H 'Authorization: Basic ${Buffer.from(`${s.writeKey}:`).toString('base64')}'`;
  const lines = [
    'Unbroken is running.',
    `  event API        ${s.apiUrl}  (listening on ${s.apiListening}; ${key})`,
    `  Temporal         ${s.temporalAddress}${s.temporalUiUrl ? `  (Web UI: ${s.temporalUiUrl})` : ''}`,
  ];
  lines.push(`  admin key        ${s.adminKeyFromEnv ? 'from UNBROKEN_ADMIN_KEY' : s.adminKey}  (Authorization: Bearer; forget and export, docs/privacy.md)`);
  lines.push(`  console          ${s.apiUrl}/console  (log in with the admin key; docs/console.md)`);
  if (s.mailUrl) lines.push(`  mail catcher     ${s.mailUrl}`);
  if (s.metricsUrl) lines.push(`  metrics, health  ${s.metricsUrl}  (/metrics, /healthz, /readyz)`);
  const [journeys, ...notes] = formatLiveJourneys(s.live, s.definitionsDir);
  lines.push(`  journeys         ${journeys}`, ...notes.map((n) => `                   ${n}`));
  const curl = (endpoint: string, body: string) => [
    `  curl -s ${s.apiUrl}/v1/${endpoint} ${auth} -H 'Content-Type: application/json' \\`,
    `    -d '${body}'`,
  ];
  lines.push(
    '',
    'Tell Unbroken who u1 is, then abandon a cart (the reminder follows an hour later, inside the send window):',
    '',
    ...curl('identify', '{"userId":"u1","traits":{"email":"ann@example.com","first_name":"Ann","timezone":"Europe/Berlin"}}'),
    ...curl('track', '{"userId":"u1","event":"cart_abandoned","properties":{"cart_id":"c1","total":49.9}}'),
    '',
    'Buying converts the journey at once:',
    '',
    ...curl('track', '{"userId":"u1","event":"order_completed","properties":{"cart_id":"c1","order_id":"o1"}}'),
    '',
    'A mail you can see right away: sign up, and the welcome series sends its first message.',
    '',
    ...curl('track', '{"userId":"u1","event":"signed_up","properties":{"plan":"starter"}}'),
    '',
    'Then: npx unbroken status --user u1   ·   npx unbroken stats abandoned-cart',
    'Ctrl-C stops everything; journeys that were waiting resume on the next start.',
  );
  return lines.join('\n');
}
