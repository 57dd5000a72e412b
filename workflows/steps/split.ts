import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { splitBucket, variantForBucket } from '../pure/split';

/** `split:` — runs the customer's variant; held-out customers go on after the split. */
export async function runSplit(step: StepOf<'split'>, run: JourneyRun): Promise<void> {
  const bucket = splitBucket(run.plan.journey, step.id, run.input.customerId);
  const variant = variantForBucket(bucket, step.holdout, step.variants);
  await run.note(step.id, 'branched', { variant: variant ? variant.name : 'holdout' });
  if (variant) await run.runSteps(variant.steps);
}
