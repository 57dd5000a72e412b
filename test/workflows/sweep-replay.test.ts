/**
 * Sweeps and broadcasts in flight must survive a worker upgrade: recorded histories of the sweep
 * workflow (scripts/record-sweep-history.ts) replay against the current workflow code. A
 * DeterminismViolationError here means a change to workflows/sweep.ts needs `patched()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { journeyBundle } from '../../worker/worker';

const dir = path.join(__dirname, 'sweep-histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('every recorded sweep history replays without a determinism error', async () => {
  expect(files.length).toBeGreaterThanOrEqual(1);
  const histories = files.map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await journeyBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
}, 120_000);
