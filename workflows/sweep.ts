/**
 * The audience sweep and broadcasts: one workflow goes through audience journeys and enters the
 * customers who match at its start time. Run by a Temporal Schedule with no journey named (the
 * sweep: every unpaused audience journey that time alone can change, and every date journey,
 * whose customers activities/date-sweep.ts enters on their day; worker/sweep-schedule.ts),
 * or for one journey by `unbroken trigger` (a broadcast). The paging, pacing and entering are in
 * activities (activities/audience-sweep.ts); this keeps the cursor between calls and continues as
 * new when its history grows long.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { continueAsNew, defineQuery, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AudienceLeaversActivities } from '../activities/audience-leavers';
import type { AudienceSweepActivities, AudienceTarget } from '../activities/audience-sweep';
import type { DateSweepActivities } from '../activities/date-sweep';
import { SWEEP_ACTIVITY_POLICY, type SweepInput, type SweepProgress } from './sweep-definitions';

const acts = proxyActivities<AudienceSweepActivities & AudienceLeaversActivities & DateSweepActivities>(SWEEP_ACTIVITY_POLICY);

/** Sweeps recorded before it never looked for leavers; the patch keeps them replaying. */
export const SWEEP_EXITS_LEAVERS = 'sweep-exits-leavers';

/** What a sweep or broadcast has done so far (`unbroken trigger` reads it). */
export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

/** Set by Temporal on a workflow a schedule started: the firing's nominal time. */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The occurrence a schedule journey's run enrols: named by its caller, or its schedule's firing time (else its start). */
function occurrenceOf(input: SweepInput, nowMs: number): string | undefined {
  if (input.occurrence !== undefined || !input.scheduled) return input.occurrence;
  return (workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? new Date(nowMs)).toISOString();
}

/** A broadcast tells each call its counts so far, which the store keeps for `unbroken stats`; the sweep none. */
function counted(input: SweepInput, progress: SweepProgress): { broadcast?: { matched: number; entered: number } } {
  return input.journeyId === undefined ? {} : { broadcast: { matched: progress.matched, entered: progress.entered } };
}

/** Goes through the targets from where `input` says it stopped; see the file's comment. */
export async function audienceSweepWorkflow(input: SweepInput = {}): Promise<SweepProgress> {
  // Date.now() is the workflow's start time here, the same on every replay.
  const nowMs = input.nowMs ?? Date.now();
  const once = occurrenceOf(input, nowMs);
  const occurrence = once === undefined ? {} : { occurrence: once };
  const targets: AudienceTarget[] = input.targets ?? (await acts.audienceTargets(input.journeyId === undefined ? {} : { journeyId: input.journeyId }));
  const progress: SweepProgress = input.progress ?? { journeys: targets.map((t) => t.journeyId), matched: 0, entered: 0, stopped: [] };
  setHandler(sweepProgressQuery, () => progress);
  let after = input.after ?? '';
  for (let i = input.index ?? 0; i < targets.length; i++, after = '') {
    for (;;) {
      const done = targets[i].kind === 'date' ? await acts.enrolDates({ ...targets[i], nowMs, after }) : await acts.enrolAudience({ ...targets[i], nowMs, after, ...occurrence, ...counted(input, progress) });
      progress.matched += done.matched;
      progress.entered += done.entered;
      if (done.stopped) progress.stopped.push({ journeyId: targets[i].journeyId, reason: done.stopped });
      if (done.after === undefined || done.stopped) break;
      after = done.after;
      if (workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof audienceSweepWorkflow>({ ...input, ...occurrence, nowMs, targets, index: i, after, progress });
      }
    }
  }
  // The sweep (not a broadcast) also ends the runs of customers whom time alone took out of
  // their audience (activities/audience-leavers.ts).
  if (input.journeyId === undefined && patched(SWEEP_EXITS_LEAVERS)) {
    let from = input.leaversFrom;
    do {
      const done = await acts.exitLeavers({ nowMs, ...(from ? { from } : {}) });
      progress.left = (progress.left ?? 0) + done.left;
      from = done.next;
      if (from && workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof audienceSweepWorkflow>({ ...input, nowMs, targets, index: targets.length, after: '', progress, leaversFrom: from });
      }
    } while (from);
  }
  progress.done = true;
  return progress;
}
