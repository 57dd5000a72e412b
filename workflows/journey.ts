/**
 * The interpreter: one deterministic workflow that runs any compiled journey plan.
 *
 * Everything variable comes from the input (the plan is pinned there) or from activities; the
 * workflow itself never reads files, the network or the real clock. Goal and exit events end the
 * journey at once because every wait is a `condition()` that also watches for the end. The run
 * object (run/) holds the state, one handler per step kind (steps/) moves it on, and the rules
 * that need no Temporal (pure/) are plain functions with plain unit tests.
 */
import { patched, workflowInfo } from '@temporalio/workflow';
import type { JourneyInput, JourneyResult } from './definitions';
import { setRunHandlers } from './run/handlers';
import { FLOW_RECORDS_BATCHED, RECORDS_RIDE_ON_ACTIVITIES, SIGNAL_ENTRIES_RECORDED } from './run/patches';
import { JourneyRun } from './run/run';

/** Runs one customer through one journey plan, from entry to its outcome. */
export async function journeyWorkflow(input: JourneyInput): Promise<JourneyResult> {
  // Asked first, before any command, so the marker sits at the same place in every new history;
  // a new run carries only the newest marker, an older one replays with the marker it has.
  const records = patched(RECORDS_RIDE_ON_ACTIVITIES) ? 'riding' : patched(FLOW_RECORDS_BATCHED) ? 'batched' : 'each';
  const run = new JourneyRun(input, workflowInfo(), () => patched(SIGNAL_ENTRIES_RECORDED), records);
  setRunHandlers(run);
  await run.enter();
  await run.runPlan();
  return run.finish();
}
