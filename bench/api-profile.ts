/**
 * `tsx bench/api-profile.ts [--endpoint batch|track] [--seconds 8] [--rounds 3] [--only api|bare] [--logs]`:
 * the event API alone (buildApi with the store, backlog guard and metrics `unbroken start` gives
 * it; no Temporal, no router) and the bench's bare endpoint, each on a SQLite store of its own,
 * under the same autocannon load as benchmark 2's "events no journey hears", in alternating
 * rounds. Prints each round's events/s and the server's CPU time per request. Run it under
 * `node --cpu-prof --import tsx` with `--only api` to see where a request's time goes
 * (`tsx bench/profile-summary.ts <file>`). Access lines go nowhere unless `--logs` (then to
 * stderr, as the product writes them).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { BacklogGuard } from '../api/backlog';
import { buildApi } from '../api/server';
import { createLogger } from '../observability/log';
import { ProcessMetrics } from '../observability/metrics';
import { openProfileStore } from '../profiles/index';
import { runLoad, type LoadResult } from './lib/load';
import { AUTHORIZATION, startBareApi, WRITE_KEY } from './lib/system';

interface Args {
  endpoint: 'batch' | 'track';
  seconds: number;
  rounds: number;
  only?: 'api' | 'bare';
  logs: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { endpoint: 'batch', seconds: 8, rounds: 3, logs: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--endpoint') args.endpoint = argv[++i] as Args['endpoint'];
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--rounds') args.rounds = Number(argv[++i]);
    else if (a === '--only') args.only = argv[++i] as Args['only'];
    else if (a === '--logs') args.logs = true;
    else throw new Error(`unknown option ${a}`);
  }
  return args;
}

function load(url: string, args: Args, prefix: string, seconds: number): Promise<LoadResult> {
  const p = prefix.replace(/\W+/g, '-');
  return runLoad({ url, endpoint: args.endpoint, batchSize: 10, kind: 'unheard', prefix: p, perCustomer: 10, connections: 10, duration: seconds, authorization: AUTHORIZATION });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-api-profile-'));
  const servers: { label: string; url: string; close: () => Promise<void> }[] = [];
  try {
    if (args.only !== 'bare') {
      const store = await openProfileStore(`sqlite:${path.join(tmp, 'api.db')}`, tmp);
      const metrics = new ProcessMetrics();
      metrics.watchRoutingBacklog(() => store.routingBacklog());
      const destination = args.logs ? undefined : pino.destination('/dev/null');
      const api = await buildApi({
        store,
        writeKey: WRITE_KEY,
        backlog: new BacklogGuard({ limit: 10_000_000, count: async () => (await store.routingBacklog()).events }),
        logger: createLogger({ service: 'start', level: 'info', destination }),
        metrics,
        ready: () => ({ ok: true, parts: {} }) as never,
      });
      const url = await api.listen({ port: 0, host: '127.0.0.1' });
      servers.push({ label: 'the API', url, close: async () => (await api.close(), await store.close()) });
    }
    if (args.only !== 'api') {
      const store = await openProfileStore(`sqlite:${path.join(tmp, 'bare.db')}`, tmp);
      const bare = await startBareApi(store);
      servers.push({ label: 'the bare endpoint', url: bare.url, close: async () => (await bare.app.close(), await store.close()) });
    }
    // Alternating rounds, as benchmark 2 runs them, so both meet the same moments of a shared box.
    for (const s of servers) await load(s.url, args, `${s.label}-warm`, 1);
    for (let r = 1; r <= args.rounds; r++) {
      for (const s of servers) {
        const cpu = process.cpuUsage();
        const res = await load(s.url, args, `${s.label}-r${r}`, args.seconds);
        const used = process.cpuUsage(cpu);
        // CPU per request is steadier than events/s on a shared box: the VM's neighbours take wall time, not CPU time.
        const cpuMs = (used.user + used.system) / 1000 / Math.max(1, res.ok);
        console.log(`round ${r}, ${s.label}: ${Math.round(res.eventsPerS)} events/s, p50 ${res.p50} ms, p99 ${res.p99} ms, CPU ${cpuMs.toFixed(3)} ms/request, non-2xx ${res.non2xx}`);
      }
    }
  } finally {
    for (const s of servers) await s.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
