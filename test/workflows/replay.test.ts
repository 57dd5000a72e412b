/**
 * Customers already inside a journey must never break: recorded histories of the example
 * journeys are replayed against the current workflow code. Each folder under histories/ holds the
 * runs recorded with the workflow code of one day (see scripts/record-histories.ts); older folders
 * stay for as long as runs they stand for may be in flight. A DeterminismViolationError here means
 * a workflow change needs `patched()` (patch ids in workflows/run/patches.ts; README, "Where to change what").
 */
import fs from 'node:fs';
import path from 'node:path';
import { replayFailures } from '../support/replay';

const dir = path.join(__dirname, 'histories');
const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
const sets = [...new Set(files.map((f) => path.dirname(f)))];

test('every set of recorded histories covers the example journeys', () => {
  expect(sets.length).toBeGreaterThanOrEqual(1);
  for (const set of sets) expect(files.filter((f) => path.dirname(f) === set).length).toBeGreaterThanOrEqual(5);
});

test('every recorded history replays without a determinism error', async () => {
  expect(await replayFailures(dir, files)).toEqual([]);
}, 120_000);
