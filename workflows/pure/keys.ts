/**
 * Idempotency keys of the run's side effects and step records. Runs in flight depend on these
 * exact formulas: a changed key would store a step record, or send a message, a second time.
 */

/** What identifies one entry of one customer into one journey version. */
export interface RunIdentity {
  workflowId: string;
  /** The same for every attempt of this entry, different for each re-entry of the customer. */
  firstExecutionRunId: string;
  version: string;
}

/** Key of a step's side effect (a send, a profile update, a `do:` call). */
export function stepKey(run: RunIdentity, stepId: string): string {
  return `${run.workflowId}/${run.firstExecutionRunId}/${run.version}/${stepId}`;
}

/** Key of the record of the customer entering. */
export function enteredRecordKey(run: RunIdentity): string {
  return `${stepKey(run, 'entry')}/entered`;
}

/**
 * Key of a timeline entry's record; `position` is the entry's 1-based place in the timeline,
 * counting every entry (including those that came from signals), so equal entries stay apart.
 */
export function timelineRecordKey(run: RunIdentity, stepId: string, kind: string, position: number): string {
  return `${stepKey(run, stepId)}/${kind}/${position}`;
}
