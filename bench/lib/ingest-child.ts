/**
 * Ingestion in a process of its own, as an API process beside the worker: accepted events
 * through the store's write path (`acceptCalls`: resolveCustomer + recordEvents), `lanes` calls
 * in flight, while the parent measures something else in its process (the audience sweep).
 * Started by `startIngestChild` with BENCH_INGEST (JSON of IngestChildConfig); talks over IPC:
 * `start` begins a round, `stop` ends it and answers its figures, `exit` closes the store.
 */
import { fork } from 'node:child_process';
import { trackSchema } from '../../api/schemas';
import { openProfileStore } from '../../profiles/index';
import { percentile } from './report';
import { acceptCalls } from './system';

export interface IngestChildConfig {
  databaseUrl: string;
  /** Prefix of the customer ids and message ids written, unique per run. */
  prefix: string;
  lanes: number;
}

/** One round's figures: events accepted, its length, and each call's time in ms. */
export interface IngestRound {
  events: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

type Request = { type: 'start' } | { type: 'stop' } | { type: 'exit' };
type Reply = { type: 'ready' } | ({ type: 'round' } & IngestRound) | { type: 'error'; message: string };

/** Ingestion children's customers: a thousand, each getting many events, as real traffic does. */
const CUSTOMERS = 1000;

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_INGEST ?? '{}') as IngestChildConfig;
  const send = (reply: Reply) => process.send?.(reply);
  const store = await openProfileStore(config.databaseUrl, '.', { migrate: false });
  let n = 0;
  const one = async (): Promise<number> => {
    const i = n++;
    const call = trackSchema.parse({ userId: `${config.prefix}-${i % CUSTOMERS}`, event: 'page_viewed', messageId: `${config.prefix}-${i}`, properties: { i } });
    const t0 = performance.now();
    await acceptCalls(store, [call]);
    return performance.now() - t0;
  };
  // Warm-up: statements prepared, connections open, JIT.
  for (let i = 0; i < 200; i++) await one();
  let running = false;
  let round: Promise<IngestRound> | undefined;
  const run = async (): Promise<IngestRound> => {
    const times: number[] = [];
    const t0 = performance.now();
    const lane = async () => {
      while (running) {
        times.push(await one());
        // SQLite answers synchronously, so without this the lanes would never let `stop` in.
        await new Promise(setImmediate);
      }
    };
    await Promise.all(Array.from({ length: config.lanes }, lane));
    const seconds = (performance.now() - t0) / 1000;
    return { events: times.length, seconds, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: percentile(times, 100) };
  };
  process.on('message', (request: Request) => {
    if (request.type === 'start') {
      running = true;
      round = run();
    } else if (request.type === 'stop') {
      running = false;
      void round?.then((r) => send({ type: 'round', ...r }));
    } else {
      void store.close().then(() => process.disconnect?.());
    }
  });
  // A parent that dies (or is killed by its timeout) takes its ingestion with it.
  process.on('disconnect', () => process.exit());
  send({ type: 'ready' });
}

/** A running ingestion child: `round(fn)` ingests while `fn` runs and answers both. */
export interface IngestChild {
  round<T>(during: () => Promise<T>): Promise<{ ingest: IngestRound; result: T }>;
  stop(): Promise<void>;
}

/** Forks this file under tsx and resolves once it has warmed up. */
export async function startIngestChild(config: IngestChildConfig): Promise<IngestChild> {
  const child = fork(__filename, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_INGEST: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <K extends Reply['type']>(type: K) =>
    new Promise<Extract<Reply, { type: K }>>((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if (m.type === 'error') reject(new Error(`ingestion child: ${m.message}`));
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m as Extract<Reply, { type: K }>);
      };
      child.on('message', onMessage);
    });
  await Promise.race([next('ready'), exited.then(() => Promise.reject(new Error(`ingestion child exited with code ${child.exitCode}`)))]);
  return {
    async round(during) {
      child.send({ type: 'start' } satisfies Request);
      let result: Awaited<ReturnType<typeof during>>;
      try {
        result = await during();
      } finally {
        child.send({ type: 'stop' } satisfies Request);
      }
      const { type: _, ...ingest } = await next('round');
      return { ingest, result };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'exit' } satisfies Request);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

if (require.main === module && process.env.BENCH_INGEST) {
  main().catch((err: unknown) => {
    process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply);
    process.exitCode = 1;
    process.disconnect?.();
  });
}
