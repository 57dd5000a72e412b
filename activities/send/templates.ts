/**
 * Templates by reference. Runs the router starts carry each template's head only
 * (compiler/plan.ts `withTemplateHeads`): a send loads the parts from the deployed journey version
 * the run is on. Versions never change once deployed, so each version's templates are read once
 * per worker and kept (a bounded number of versions, oldest dropped first).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { JourneyPlan, TemplatePlan } from '../../compiler/plan';
import type { LiveStore, ProfileStore } from '../../profiles/store';
import { sendTemplates } from '../../workflows/pure/channels';
import type { SendMessageInput } from '../types';

/** Versions whose templates a worker keeps; a version's templates are a few KiB. */
const CACHED_VERSIONS = 200;

type Templates = Record<string, TemplatePlan>;

/** Turns a send's template heads into whole templates; inputs with whole templates pass unchanged. */
export function templateResolver(store: ProfileStore): (input: SendMessageInput) => Promise<SendMessageInput> {
  const versions = new Map<string, Promise<Templates>>();

  async function templatesOf(journeyId: string, version: string): Promise<Templates> {
    const key = `${journeyId}@${version}`;
    let found = versions.get(key);
    if (!found) {
      found = load(store, journeyId, version);
      versions.set(key, found);
      // A failed read is not kept: the retry reads again.
      found.catch(() => versions.delete(key));
      if (versions.size > CACHED_VERSIONS) versions.delete(versions.keys().next().value as string);
    }
    return found;
  }

  async function whole(head: TemplatePlan, journeyId: string, version: string): Promise<TemplatePlan> {
    if (!head.byReference) return head;
    const template = (await templatesOf(journeyId, version))[head.id];
    if (!template) {
      throw ApplicationFailure.nonRetryable(`template ${head.id} is not in version ${version} of journey ${journeyId}`, 'PlanError');
    }
    // The head names the channel and category the send chose; the same pure rule picks the parts.
    return sendTemplates(template, [head.channel], head.category)[0];
  }

  return async (input) => {
    const { journeyId, version } = input.context;
    const template = await whole(input.template, journeyId, version);
    const fallbacks = input.fallbacks && (await Promise.all(input.fallbacks.map((t) => whole(t, journeyId, version))));
    return { ...input, template, ...(fallbacks ? { fallbacks } : {}) };
  };
}

async function load(store: ProfileStore, journeyId: string, version: string): Promise<Templates> {
  const live = store as Partial<LiveStore>;
  if (!live.journeyVersion) throw ApplicationFailure.nonRetryable('a send by reference needs the live store, which keeps deployed journeys', 'PlanError');
  const deployed = await live.journeyVersion(journeyId, version);
  if (!deployed) throw ApplicationFailure.nonRetryable(`version ${version} of journey ${journeyId} was never deployed`, 'PlanError');
  return (deployed.plan as JourneyPlan).templates;
}
