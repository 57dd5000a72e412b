/**
 * Benchmark 5, compile: validate and compile N generated journeys (over 20 templates) in a temp
 * definitions folder — ms per journey and peak memory — against reading and YAML-parsing the same
 * files, the floor any compiler pays. Each round runs in a fresh child process (A B A B).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import type { BenchContext } from '../lib/context';
import { writeGeneratedDefinitions } from '../lib/definitions';
import { median, progress, round } from '../lib/report';
import type { CompileChildResult } from '../lib/compile-child';

const MiB = 1024 * 1024;

function runChild(dir: string, mode: 'compile' | 'parse'): Promise<CompileChildResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(path.join(__dirname, '..', 'lib', 'compile-child.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_COMPILE: JSON.stringify({ dir, mode }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: CompileChildResult | undefined;
    proc.on('message', (m: CompileChildResult) => (result = m));
    proc.once('exit', (code) => (result ? resolve(result) : reject(new Error(`compile child exited with code ${code}`))));
  });
}

export async function compileBenchmark(ctx: BenchContext): Promise<void> {
  const n = ctx.sizes.compileJourneys;
  const dir = path.join(ctx.tmp, 'generated');
  writeGeneratedDefinitions(dir, n);
  const runs: Record<'compile' | 'parse', CompileChildResult[]> = { compile: [], parse: [] };
  for (let r = 1; r <= ctx.sizes.compileRounds; r++) {
    for (const mode of ['compile', 'parse'] as const) {
      progress(`compile: round ${r}/${ctx.sizes.compileRounds}, ${n} journeys, ${mode === 'compile' ? 'validate + compile' : 'read + YAML parse only'}`);
      const res = await runChild(dir, mode);
      if (res.journeys !== n || res.errors) throw new Error(`${mode} saw ${res.journeys} journeys and ${res.errors} errors, expected ${n} and none`);
      runs[mode].push(res);
    }
  }
  const s = (rs: CompileChildResult[]) => ({
    msPerJourney: median(rs.map((r) => r.ms)) / n,
    totalMs: median(rs.map((r) => r.ms)),
    peakRssMiB: Math.max(...rs.map((r) => r.maxRss)) / MiB,
    rssBeforeMiB: median(rs.map((r) => r.rssBefore)) / MiB,
    rounds: rs,
  });
  const c = s(runs.compile);
  const p = s(runs.parse);
  progress(`compile: ${round(c.msPerJourney, 2)} ms per journey, peak RSS ${round(c.peakRssMiB)} MiB`);
  ctx.results.compile = { journeys: n, templates: 20, compile: c, parseOnly: p };
  const B = `5 compile (${n} journeys)`;
  ctx.rows.push(
    { benchmark: B, metric: 'ms per journey', unbroken: c.msPerJourney, baseline: p.msPerJourney, ratio: c.msPerJourney / p.msPerJourney, note: 'baseline: read + YAML parse only' },
    { benchmark: B, metric: 'peak RSS of the process (MiB)', unbroken: c.peakRssMiB, baseline: p.peakRssMiB, ratio: c.peakRssMiB / p.peakRssMiB, note: `process at start: ${round(c.rssBeforeMiB)} MiB` },
  );
}
