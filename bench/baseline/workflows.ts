/**
 * Hand-written Temporal workflows: what a team would write without Unbroken's interpreter. The
 * benchmarks run them next to the compiled journeys, on the same server, with the same worker
 * options and the same activity implementations, so the difference is the journey layer alone.
 *
 * Bundled into its own workflow bundle (bench/lib/bundles.ts); workflow code must stay
 * deterministic, so nothing here touches Node built-ins, the clock or the network.
 */
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ActivityPolicy, TemplatePlan, TrackEvent } from '../../compiler/plan';
import type { BuiltinActivities } from '../../activities/index';
import type { JourneyContext, SendMessageResult } from '../../activities/types';

/** What every baseline workflow is started with: only what it needs, no compiled plan. */
export interface BaselineInput {
  customerId: string;
  /** Stands in for the journey id in step records and idempotency keys. */
  journeyId: string;
  trigger: TrackEvent;
  /** The templates the workflow sends, compiled from the same YAML as the engine's. */
  templates: Record<string, TemplatePlan>;
  /** Per-activity retry/timeout policies: the same ones the compiler pins into plans. */
  policies: Record<keyof BuiltinActivities, ActivityPolicy>;
}

/** One proxy per activity with its own policy, exactly as the interpreter proxies them. */
function activities(policies: BaselineInput['policies']): Omit<BuiltinActivities, 'loadConsent' | 'loadAggregates'> {
  const proxy = <K extends keyof BuiltinActivities>(name: K): BuiltinActivities[K] => {
    const policy = policies[name];
    const proxied = proxyActivities<BuiltinActivities>({
      startToCloseTimeout: policy.startToCloseTimeout as Duration,
      retry: {
        ...policy.retry,
        initialInterval: policy.retry.initialInterval as Duration,
        maximumInterval: policy.retry.maximumInterval as Duration,
      },
    });
    return proxied[name];
  };
  return {
    sendMessage: proxy('sendMessage'),
    loadProfile: proxy('loadProfile'),
    updateProfile: proxy('updateProfile'),
    recordStep: proxy('recordStep'),
  };
}

function contextOf(input: BaselineInput): JourneyContext {
  const info = workflowInfo();
  return {
    workflowId: info.workflowId,
    journeyId: input.journeyId,
    version: 'baseline',
    customerId: input.customerId,
    enteredAt: new Date().toISOString(),
    trigger: input.trigger,
  };
}

/**
 * The five-step journey (send, wait 1 s, if, update_profile, send) by hand, calling the same
 * activities in the same order as the interpreter does for the compiled YAML — including the
 * step records the interpreter writes — so that the comparison isolates the interpreter itself.
 */
export async function baselineFiveSteps(input: BaselineInput): Promise<string> {
  const { sendMessage, loadProfile, updateProfile, recordStep } = activities(input.policies);
  const context = contextOf(input);
  const key = (step: string) => `${context.workflowId}/${workflowInfo().firstExecutionRunId}/baseline/${step}`;
  let n = 0;
  const note = async (stepId: string, kind: string, detail: Record<string, unknown> = {}) => {
    n += 1;
    await recordStep({ idempotencyKey: `${key(stepId)}/${kind}/${n}`, context, stepId, kind, at: new Date().toISOString(), detail });
  };
  const send = async (stepId: string, template: string) => {
    const result: SendMessageResult = await sendMessage({
      idempotencyKey: key(stepId),
      context,
      stepId,
      template: input.templates[template],
      now: new Date().toISOString(),
    });
    // The interpreter stores what was sent (minus the status) as the step's detail; so do we.
    const { status: _status, ...detail } = result;
    await note(stepId, result.status === 'sent' ? 'sent' : 'skipped', detail);
  };

  await note('entry', 'entered');
  await send('hello', 'bench-hello');
  await sleep(1000);
  await note('pause', 'waited', { duration_ms: 1000 });
  const profile = await loadProfile({ customerId: input.customerId });
  const vip = profile.vip === true;
  await note('vip', 'branched', { branch: vip ? 'then' : 'else' });
  const change = vip ? { addTags: ['vip-bench'] } : { increment: { bench_runs: 1 } };
  await updateProfile({ idempotencyKey: key(vip ? 'mark-vip' : 'mark'), context, now: new Date().toISOString(), ...change });
  await note(vip ? 'mark-vip' : 'mark', 'profile_updated', { changes: vip ? { add_tags: ['vip-bench'] } : { increment: { bench_runs: 1 } } });
  await send('bye', 'bench-bye');
  await note('bye', 'completed');
  return 'completed';
}

/**
 * The same journey as a team would write it if it did not keep a per-step record: only the
 * business activities (send, load the profile for the `if`, update, send). Shows what the step
 * records cost on top of the interpreter; reported for information, not as the ratio.
 */
export async function baselineFiveStepsMinimal(input: BaselineInput): Promise<string> {
  const { sendMessage, loadProfile, updateProfile } = activities(input.policies);
  const context = contextOf(input);
  const key = (step: string) => `${context.workflowId}/${workflowInfo().firstExecutionRunId}/baseline/${step}`;
  const send = (stepId: string, template: string) =>
    sendMessage({ idempotencyKey: key(stepId), context, stepId, template: input.templates[template], now: new Date().toISOString() });
  await send('hello', 'bench-hello');
  await sleep(1000);
  const profile = await loadProfile({ customerId: input.customerId });
  const vip = profile.vip === true;
  const change = vip ? { addTags: ['vip-bench'] } : { increment: { bench_runs: 1 } };
  await updateProfile({ idempotencyKey: key(vip ? 'mark-vip' : 'mark'), context, now: new Date().toISOString(), ...change });
  await send('bye', 'bench-bye');
  return 'completed';
}

/** First step is a send: the floor for time to first message, started straight through the client. */
export async function baselineSendFirst(input: BaselineInput): Promise<string> {
  const { sendMessage } = activities(input.policies);
  const context = contextOf(input);
  await sendMessage({
    idempotencyKey: `${context.workflowId}/${workflowInfo().firstExecutionRunId}/baseline/hello`,
    context,
    stepId: 'hello',
    template: input.templates['bench-hello'],
    now: new Date().toISOString(),
  });
  return 'completed';
}

/**
 * A customer waiting seven days, by hand: record the entry (as the engine does, and as any
 * system that can answer "where is this customer?" must), then sleep, then send.
 */
export async function baselineWait(input: BaselineInput): Promise<string> {
  const { sendMessage, recordStep } = activities(input.policies);
  const context = contextOf(input);
  const key = `${context.workflowId}/${workflowInfo().firstExecutionRunId}/baseline`;
  await recordStep({ idempotencyKey: `${key}/entry/entered`, context, stepId: 'entry', kind: 'entered', at: new Date().toISOString() });
  await sleep('7d');
  await sendMessage({ idempotencyKey: `${key}/later`, context, stepId: 'later', template: input.templates['bench-hello'], now: new Date().toISOString() });
  return 'completed';
}
