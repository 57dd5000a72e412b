/**
 * Sweeps and broadcasts in flight must survive a worker upgrade: recorded histories of the sweep
 * workflow (scripts/record-sweep-history.ts) replay against the current workflow code. A
 * DeterminismViolationError here means a change to workflows/sweep.ts needs `patched()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replayFailures } from '../support/replay';

const dir = path.join(__dirname, 'sweep-histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('every recorded sweep history replays without a determinism error', async () => {
  expect(files.length).toBeGreaterThanOrEqual(1);
  expect(await replayFailures(dir, files)).toEqual([]);
}, 120_000);
