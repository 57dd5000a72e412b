/**
 * One compile round in a fresh process, so its peak memory (maxRSS) belongs to that round alone.
 * BENCH_COMPILE = { dir, mode }: `compile` validates and compiles every definition with
 * compileDefinitions; `parse` only reads the same files and parses their YAML (the floor).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';

export interface CompileChildResult {
  ms: number;
  journeys: number;
  errors: number;
  /** Resident memory before the work started and the peak, in bytes. */
  rssBefore: number;
  maxRss: number;
}

const { dir, mode } = JSON.parse(process.env.BENCH_COMPILE ?? '{}') as { dir: string; mode: 'compile' | 'parse' };
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
let journeys = 0;
let errors = 0;
if (mode === 'compile') {
  const result = compileDefinitions(dir, activityCatalog);
  journeys = result.plans.size;
  errors = result.errors.length;
} else {
  for (const sub of ['templates', 'journeys']) {
    for (const name of fs.readdirSync(path.join(dir, sub))) {
      parse(fs.readFileSync(path.join(dir, sub, name), 'utf8'));
      if (sub === 'journeys') journeys += 1;
    }
  }
}
const ms = performance.now() - t0;
process.send?.({ ms, journeys, errors, rssBefore, maxRss: process.resourceUsage().maxRSS * 1024 } satisfies CompileChildResult);
process.disconnect?.();
