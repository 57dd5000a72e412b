/**
 * HTTP load with autocannon, in a child process so the load generator never shares an event
 * loop (or a core's time slices) with the API it measures. Bodies are generated per request:
 * `visit` sends each customer one `bench_start` (enters bench-visit) followed by `bench_ping`s
 * (signals to the running journey); `unheard` the same shape of calls with an event no journey
 * hears; `enrol` sends one `bench_wait` per new customer.
 */
import { fork } from 'node:child_process';

export interface LoadConfig {
  /** Base URL on 127.0.0.1, e.g. http://127.0.0.1:3000 */
  url: string;
  endpoint: 'track' | 'batch';
  /** Calls per /v1/batch request. */
  batchSize: number;
  kind: 'visit' | 'unheard' | 'enrol' | 'hello';
  /** Prefix of customer ids and messageIds: unique per run so nothing is a duplicate. */
  prefix: string;
  /** Events per customer for `visit`: one start, then pings. */
  perCustomer: number;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  /** Requests in total. */
  amount?: number;
  /** Requests per second across all connections (unbounded when absent). */
  overallRate?: number;
  authorization: string;
}

export interface LoadResult {
  requests: number;
  events: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  eventsPerS: number;
  requestsPerS: number;
  p50: number;
  p99: number;
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
  requests: { total: number; sent: number };
}
type Autocannon = (opts: Record<string, unknown>, done: (err: Error | null, result: AutocannonResult) => void) => { stop(): void };

/** The calls of request number `n` (0-based): `batchSize` of them for /v1/batch, else one. */
function callsFor(config: LoadConfig, n: number): Record<string, unknown>[] {
  const per = config.endpoint === 'batch' ? config.batchSize : 1;
  const calls: Record<string, unknown>[] = [];
  for (let i = 0; i < per; i++) {
    const k = n * per + i;
    const messageId = `${config.prefix}-m${k}`;
    if (config.kind === 'enrol') {
      calls.push({ type: 'track', userId: `${config.prefix}-c${k}`, event: 'bench_wait', messageId, properties: { k } });
    } else if (config.kind === 'hello') {
      calls.push({ type: 'track', userId: `${config.prefix}-c${k}`, event: 'bench_hello', messageId });
    } else {
      const customer = `${config.prefix}-c${Math.floor(k / config.perCustomer)}`;
      const first = k % config.perCustomer === 0;
      calls.push({
        type: 'track',
        userId: customer,
        event: config.kind === 'unheard' ? 'bench_unheard' : first ? 'bench_start' : 'bench_ping',
        messageId,
        properties: { page: `/p/${k % 97}`, n: k, referrer: 'https://example.com/' },
        context: { ip: '127.0.0.1', userAgent: 'unbroken-bench' },
      });
    }
  }
  return calls;
}

async function child(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_LOAD ?? '{}') as LoadConfig;
  // autocannon ships no types; the subset used here is described above.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as Autocannon;
  let n = 0;
  let instance: { stop(): void } | undefined;
  // The parent may end an open-ended background load early (benchmark 3 does, once its probes finish).
  process.on('message', (m: string) => {
    if (m === 'stop') instance?.stop();
  });
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    instance = autocannon({
    url: config.url,
    // autocannon refuses more connections than requests.
    connections: config.amount !== undefined ? Math.min(config.connections, config.amount) : config.connections,
    pipelining: 1,
    ...(config.amount !== undefined ? { amount: config.amount } : { duration: config.duration ?? 5 }),
    ...(config.overallRate !== undefined ? { overallRate: config.overallRate } : {}),
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: `/v1/${config.endpoint}`,
        setupRequest: (req: AutocannonRequest) => {
          const calls = callsFor(config, n++);
          const body = config.endpoint === 'batch' ? { batch: calls } : calls[0];
          return {
            ...req,
            headers: { 'content-type': 'application/json', authorization: config.authorization },
            body: JSON.stringify(body),
          };
        },
      },
    ],
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const per = config.endpoint === 'batch' ? config.batchSize : 1;
  const ok = result['2xx'];
  const summary: LoadResult = {
    requests: result.requests.total,
    events: ok * per,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    eventsPerS: (ok * per) / result.duration,
    requestsPerS: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
  process.send?.(summary);
  process.disconnect?.();
}

export interface RunningLoad {
  result: Promise<LoadResult>;
  /** Ends the load now; `result` then resolves with what ran so far. */
  stop(): void;
}

/** Starts one autocannon load in a child process. */
export function startLoad(config: LoadConfig): RunningLoad {
  const proc = fork(__filename, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_LOAD: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A hard upper bound, whatever happens inside autocannon: the run must end.
  const limitMs = ((config.amount !== undefined ? 900 : (config.duration ?? 5)) + 120) * 1000;
  const killer = setTimeout(() => proc.kill('SIGKILL'), limitMs);
  const result = new Promise<LoadResult>((resolve, reject) => {
    let summary: LoadResult | undefined;
    proc.on('message', (m: LoadResult) => (summary = m));
    proc.once('exit', (code) => {
      clearTimeout(killer);
      if (summary) resolve(summary);
      else reject(new Error(`load generator exited with code ${code} and no result`));
    });
  });
  return {
    result,
    stop: () => {
      if (proc.connected) proc.send('stop');
    },
  };
}

/** Runs one autocannon load in a child process and resolves with its summary. */
export function runLoad(config: LoadConfig): Promise<LoadResult> {
  return startLoad(config).result;
}

if (process.env.BENCH_LOAD) {
  child().catch((err: unknown) => {
    process.stderr.write(`load generator: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
    // The IPC channel would keep this process (and the parent waiting for it) alive.
    process.disconnect?.();
  });
}
