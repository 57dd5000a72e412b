import type { StepOf } from './types';
import type { JourneyRun } from '../run/run';
import { resolveExpressions, resolveUrlExpressions, type Scope } from '../../core/index';

/** `do: <activity>` — calls a registered activity with the step's `with`, resolved now. */
export async function runDo(step: StepOf<'do'>, run: JourneyRun): Promise<void> {
  await run.freshProfile();
  const call = run.activities.byName(step.activity);
  await call({
    with: resolveWith(step.with, run.scope()),
    context: run.context,
    stepId: step.id,
    idempotencyKey: run.keyFor(step.id),
    now: run.iso(),
  });
  await run.note(step.id, 'sent', { channel: 'do', activity: step.activity });
}

/**
 * `with` resolved; a top-level `url` (as `http_post` has) gets its inserted values
 * percent-encoded so they cannot change its path or query. No patch marker: the activity's
 * input is not part of what a replay compares, and runs already in flight should get the
 * encoding too.
 */
function resolveWith(spec: Record<string, unknown>, scope: Scope): unknown {
  const resolved = resolveExpressions(spec, scope) as Record<string, unknown>;
  return typeof spec.url === 'string' ? { ...resolved, url: resolveUrlExpressions(spec.url, scope) } : resolved;
}
