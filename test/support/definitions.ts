/** Definitions written as files for a test: a temporary definitions folder, compiled. */
import fs from 'node:fs';
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';

/**
 * Writes `files` (paths relative to the definitions folder, e.g. `journeys/a.yaml`, mapped to
 * their text) under `<root>/definitions`, compiles them, and fails the test on any error.
 */
export function compileFiles(root: string, files: Record<string, string>): Map<string, JourneyPlan> {
  const defs = path.join(root, 'definitions');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(defs, file)), { recursive: true });
    fs.writeFileSync(path.join(defs, file), `${text}\n`);
  }
  const compiled = compileDefinitions(defs, { ...activityCatalog, cwd: root });
  expect(compiled.errors).toEqual([]);
  return compiled.plans;
}
