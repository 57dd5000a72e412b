import type { ActivityPolicy } from '../compiler/plan';
import { ENDING_KINDS } from '../profiles/rules';
import type { StepOutcome } from '../core/step-outcomes';
import type { StepRecord } from '../profiles/store';
import type { ActivityDeps, JourneyContext, RecordStepInput, RidingRecords } from './types';

/** Retry/timeout policy of `recordStep`: a local write, retried patiently while the store is busy. */
export const policy: ActivityPolicy = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
};

/** Several records of one run, in timeline order (workflows/run/timeline.ts, batched runs). */
export interface RecordStepsInput {
  records: RecordStepInput[];
}

/** Builds `recordSteps`: the records as `recordStep` stores each, in one store transaction; a retry stores each once. */
export function createRecordSteps(deps: ActivityDeps): (input: RecordStepsInput) => Promise<void> {
  return async function recordSteps(input: RecordStepsInput): Promise<void> {
    await deps.store.recordSteps(input.records.map(stepRecordOf));
    for (const record of input.records) countEnding(deps, record);
  };
}

/** Builds `recordStep`: stores that a customer passed a step; a retried record is stored once. */
export function createRecordStep(deps: ActivityDeps): (input: RecordStepInput) => Promise<void> {
  return async function recordStep(input: RecordStepInput): Promise<void> {
    await deps.store.recordStep(stepRecordOf(input));
    countEnding(deps, input);
  };
}

/** The store's record of an activity's record input. */
function stepRecordOf(input: RecordStepInput): StepRecord {
  const { context } = input;
  return {
    idempotencyKey: input.idempotencyKey,
    workflowId: context.workflowId,
    journeyId: context.journeyId,
    version: context.version,
    customerId: context.customerId,
    stepId: input.stepId,
    kind: input.kind,
    at: input.at,
    ...(input.detail !== undefined ? { detail: input.detail } : {}),
  };
}

/** The run's last record is its outcome (workflows/run/run.ts, finish): counted as the journey's end. */
function countEnding(deps: ActivityDeps, input: RecordStepInput): void {
  if (ENDING_KINDS.has(input.kind)) deps.metrics?.journeyEnded(input.context.journeyId, input.kind);
}

/** A work activity's input as far as the records riding on it go. */
type Carrying = RidingRecords & { idempotencyKey: string; context: JourneyContext; now: string };

/**
 * Key of the record of a work activity's outcome: one per piece of work, so its key plus a
 * suffix. Runs in flight depend on this formula, as on those in workflows/pure/keys.ts.
 */
export function outcomeRecordKey(workKey: string): string {
  return `${workKey}/outcome`;
}

/**
 * Builds the writer of the records riding on a work activity (types.ts RidingRecords): the kept
 * records before the work, the outcome record after it. Inputs without them store nothing.
 */
export function createRidingRecords(deps: ActivityDeps): {
  before(input: Carrying): Promise<void>;
  after(input: Carrying, outcome: StepOutcome): Promise<void>;
} {
  const recordSteps = createRecordSteps(deps);
  return {
    async before(input) {
      if (input.records && input.records.length > 0) await recordSteps({ records: input.records.map((r) => ({ ...r, context: input.context })) });
    },
    async after(input, { kind, detail }) {
      if (!input.outcome) return;
      const record = { idempotencyKey: outcomeRecordKey(input.idempotencyKey), context: input.context, stepId: input.outcome.step, kind, at: input.now, detail };
      await recordSteps({ records: [record] });
    },
  };
}
