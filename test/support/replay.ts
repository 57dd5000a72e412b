/**
 * Replays recorded workflow histories (JSON files under `dir`) against today's workflow bundle and
 * answers the failures, one line per history: the replay tests of journeys and of sweeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { journeyBundle } from '../../worker/worker';

export async function replayFailures(dir: string, files: readonly string[]): Promise<string[]> {
  const histories = files.map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await journeyBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  return failures;
}
