/**
 * The HTTP server on UNBROKEN_METRICS_ADDRESS: `/metrics` (our registry, then Temporal's own
 * metrics), `/healthz` (the process is alive) and `/readyz` (the worker runs, and the store and
 * Temporal answer). A worker-only process has no event API, so this is where it is probed.
 *
 * Temporal's runtime exports its metrics from a server of its own; it is bound to a private
 * loopback port and read at each scrape, so one address serves both.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from '@temporalio/client';
import { HealthMonitor, reasonOf, storeProbe, temporalProbe, type HealthReport } from '../health/probes';
import type { ProcessMetrics } from '../observability/metrics';
import { freeLoopbackPort } from './ports';

let temporalExporter: string | undefined;

/**
 * Where Temporal's exporter should bind (pass it to installRuntime) when the process serves
 * metrics at `metricsAddress`: a free loopback port, remembered for `startMetricsServer`.
 * Undefined when there is no metrics address: Temporal then exports nothing.
 */
export async function temporalMetricsAddress(metricsAddress: string | undefined): Promise<string | undefined> {
  if (metricsAddress === undefined) return undefined;
  temporalExporter = `127.0.0.1:${await freeLoopbackPort()}`;
  return temporalExporter;
}


export interface MetricsServerOptions {
  /** host:port to listen on (UNBROKEN_METRICS_ADDRESS); port 0 picks one. */
  address: string;
  metrics: ProcessMetrics;
  /** Probes of the store and Temporal, already started. */
  health: HealthMonitor;
  /** Whether the worker polls its task queue (Worker.getState() is RUNNING). */
  workerRunning: () => boolean;
  /** Temporal's exporter (host:port); default: the one `temporalMetricsAddress` chose. */
  temporalExporter?: string;
}

export interface MetricsServer {
  /** http://host:port of the server. */
  url: string;
  close(): Promise<void>;
}

/** Starts the server; it answers until `close`. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const exporter = opts.temporalExporter ?? temporalExporter;
  const server = http.createServer((request, response) => {
    void answer(request.method ?? 'GET', (request.url ?? '/').split('?')[0], opts, exporter).then(
      ({ status, type, body }) => response.writeHead(status, { 'content-type': type }).end(body),
      (err: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${reasonOf(err)}\n`),
    );
  });
  const { host, port } = splitAddress(opts.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a process running a worker has for `serveWorkerEndpoints`. */
export interface WorkerParts {
  metrics: ProcessMetrics;
  store: Parameters<typeof storeProbe>[0];
  connection: Pick<Connection, 'workflowService'>;
  worker: { getState(): string };
  /** The process's health monitor when it already has one (`start`); else one is made for the store and Temporal. */
  health?: HealthMonitor;
}

/**
 * Probes the store and Temporal in the background and serves metrics and health at `address`;
 * `close` stops both. Used by `unbroken worker` and by `unbroken start`.
 */
export async function serveWorkerEndpoints(address: string, parts: WorkerParts): Promise<MetricsServer> {
  const own = parts.health === undefined;
  const health = parts.health ?? new HealthMonitor({ store: storeProbe(parts.store), temporal: temporalProbe(parts.connection) });
  if (own) health.start();
  const stopOwn = async (): Promise<void> => {
    if (own) await health.stop();
  };
  try {
    const server = await startMetricsServer({ address, metrics: parts.metrics, health, workerRunning: () => parts.worker.getState() === 'RUNNING' });
    const close = async (): Promise<void> => {
      await server.close();
      await stopOwn();
    };
    return { url: server.url, close };
  } catch (err) {
    await stopOwn();
    throw err;
  }
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

async function answer(method: string, path: string, opts: MetricsServerOptions, exporter: string | undefined): Promise<Answer> {
  if (method !== 'GET') return json(405, { error: 'method_not_allowed', message: `only GET is served here, not ${method}` });
  switch (path) {
    case '/metrics':
      return { status: 200, type: opts.metrics.contentType, body: (await opts.metrics.text()) + (await temporalText(exporter)) };
    case '/healthz':
      return json(200, { status: 'ok' });
    case '/readyz': {
      const report = readiness(opts.health.report(), opts.workerRunning());
      return json(report.ok ? 200 : 503, { status: report.ok ? 'ready' : 'unavailable', parts: report.parts });
    }
    default:
      return json(404, { error: 'not_found', message: `no route for ${path}; try /metrics, /healthz or /readyz` });
  }
}

/** The probes' report with the worker itself as one more part. */
export function readiness(report: HealthReport, workerRunning: boolean): HealthReport {
  const worker = workerRunning ? { state: 'ok' as const } : { state: 'down' as const, detail: 'the worker is not running (starting or shutting down)' };
  return { ok: report.ok && workerRunning, parts: { ...report.parts, worker } };
}

/** Temporal's exposition text, or a comment saying why it is missing (the scrape keeps ours). */
async function temporalText(exporter: string | undefined): Promise<string> {
  if (exporter === undefined) return '';
  try {
    const response = await fetch(`http://${exporter}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return `# Temporal metrics unavailable: HTTP ${response.status}\n`;
    return await response.text();
  } catch (err) {
    return `# Temporal metrics unavailable: ${reasonOf(err)}\n`;
  }
}

function json(status: number, body: unknown): Answer {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}

/** `host:port` or `[v6]:port` into its parts (the config checked the form). */
function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
