import type { Step, StepKind } from '../../compiler/plan';
import type { JourneyRun } from '../run/run';

/** The compiled step of one kind. */
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** Runs one step of its kind; returns when the journey may go on to the next step. */
export type StepHandler<K extends StepKind> = (step: StepOf<K>, run: JourneyRun) => Promise<void>;
