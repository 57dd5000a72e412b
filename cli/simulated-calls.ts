/**
 * What a simulation's side effects would have sent. A simulation calls no `do:` activity and
 * posts no webhook; instead each builds its request with the real code (the activity's
 * `simulate` hook, the webhook channel's `webhookPost`), signed with a throw-away secret, and
 * files it here under its run and step. `attach` then puts each on its step's timeline entry,
 * so `simulate`, `simulate --all` and journey tests show the URL, headers and body a receiver
 * would get.
 */
import { createActivities, registry, type ActivityFunction } from '../activities/index';
import { jsonRequest, shownRequest } from '../activities/channels/http';
import { webhookPost } from '../activities/channels/webhook';
import type { ActivityDefinition, ActivityDeps, DoInput, SendMessageInput, SimulatedCall, WebhookSender } from '../activities/types';
import type { TimelineEntry } from '../workflows/definitions';

/** Where a send in progress runs: lets the webhook sender, which only gets a key, find its step. */
interface SendInProgress {
  workflowId: string;
  stepId: string;
  now: string;
}

export class SimulatedCalls {
  /** Calls by workflow id, then step id, in the order they were made. */
  private readonly byRun = new Map<string, Map<string, SimulatedCall[]>>();
  private readonly sending = new Map<string, SendInProgress>();

  /** The worker's activities: the real ones, with every `do:` replaced by its simulation and sends tracked. */
  activities(deps: ActivityDeps): Record<string, ActivityFunction> {
    const real = createActivities({ ...deps, webhook: this.webhook(deps.webhookSecret) });
    const simulated = Object.entries(registry).map(([name, definition]) => [name, this.simulatedDo(definition, deps)]);
    return { ...real, ...Object.fromEntries(simulated), sendMessage: this.tracked(real.sendMessage) };
  }

  /** Each `sent` entry of a `do:` step or a webhook send, with what it would have sent. */
  attach(workflowId: string, timeline: readonly TimelineEntry[]): TimelineEntry[] {
    const queues = this.byRun.get(workflowId);
    return timeline.map((entry) => {
      const shows = entry.kind === 'sent' && (entry.channel === 'do' || entry.channel === 'webhook');
      const call = shows ? queues?.get(entry.step)?.shift() : undefined;
      return call === undefined ? entry : { ...entry, ...call };
    });
  }

  private add(workflowId: string, stepId: string, call: SimulatedCall): void {
    let steps = this.byRun.get(workflowId);
    if (steps === undefined) this.byRun.set(workflowId, (steps = new Map()));
    steps.set(stepId, [...(steps.get(stepId) ?? []), call]);
  }

  /** A `do:` activity that only describes itself; without a hook, by its resolved `with`. */
  private simulatedDo(definition: ActivityDefinition, deps: ActivityDeps): ActivityFunction {
    return async (call: DoInput<unknown>) => {
      // The hook runs the activity's own checks, so a call the real one would refuse fails here too.
      const shown = definition.simulate ? definition.simulate(call, deps) : { effect: { with: call.with } };
      this.add(call.context.workflowId, call.stepId, shown);
      return { simulated: true };
    };
  }

  private tracked(sendMessage: ActivityFunction): ActivityFunction {
    return async (input: SendMessageInput) => {
      this.sending.set(input.idempotencyKey, { workflowId: input.context.workflowId, stepId: input.stepId, now: input.now });
      try {
        return await sendMessage(input);
      } finally {
        this.sending.delete(input.idempotencyKey);
      }
    };
  }

  /** The webhook channel, building each request as the real one does and sending nothing. */
  private webhook(secret: string | undefined): WebhookSender {
    return {
      send: async (message) => {
        const send = this.sending.get(message.idempotencyKey);
        const now = send ? () => Date.parse(send.now) : undefined;
        const request = shownRequest(jsonRequest(webhookPost(message, { secret, now })));
        if (send) this.add(send.workflowId, send.stepId, { request });
        return { status: 200 };
      },
    };
  }
}
