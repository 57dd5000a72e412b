/**
 * One handler per step kind. The table's type lists every kind of the plan, so a new step kind
 * without a handler does not compile.
 */
import type { Step, StepKind } from '../../compiler/plan';
import type { JourneyRun } from '../run/run';
import type { StepHandler } from './types';
import { runDo } from './do';
import { runExit } from './exit';
import { runIf } from './if';
import { runSend } from './send';
import { runSplit } from './split';
import { runUpdateProfile } from './update-profile';
import { runWait } from './wait';
import { runWaitFor } from './wait-for';
import { runWaitUntil } from './wait-until';
import { runWaitUntilDate } from './wait-until-date';

/** The handler of every step kind; the mapped type makes a missing kind a compile error. */
export const stepHandlers: { [K in StepKind]: StepHandler<K> } = {
  wait: runWait,
  wait_until: runWaitUntil,
  wait_until_date: runWaitUntilDate,
  wait_for: runWaitFor,
  send: runSend,
  update_profile: runUpdateProfile,
  if: runIf,
  split: runSplit,
  do: runDo,
  exit: runExit,
};

/** Runs one step with the handler of its kind. */
export function runStep(step: Step, run: JourneyRun): Promise<void> {
  // Indexing by the step's own kind picks the matching handler; TS cannot see the pairing.
  const handler = stepHandlers[step.kind] as StepHandler<StepKind>;
  return handler(step, run);
}
