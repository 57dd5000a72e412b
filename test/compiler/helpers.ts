import { z } from 'zod';
import type { ActivityDefinition } from '../../activities/types';
import type { ActivityPolicy } from '../../compiler/plan';

const policy = (timeout: string): ActivityPolicy => ({
  startToCloseTimeout: timeout,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

/** Small stand-ins for the worker's registry, so compiler tests do not depend on activities/. */
export const fakeBuiltinPolicies: Record<'sendMessage' | 'loadProfile' | 'updateProfile' | 'recordStep', ActivityPolicy> = {
  sendMessage: policy('30s'),
  loadProfile: policy('5s'),
  updateProfile: policy('5s'),
  recordStep: policy('5s'),
};

const notifySlack: ActivityDefinition<{ channel: string; text: string }> = {
  name: 'notify-slack',
  description: 'Posts a message to a Slack channel.',
  input: z.strictObject({
    channel: z.string().regex(/^#/).describe('Slack channel, starting with #.'),
    text: z.string().describe('Message text.'),
  }),
  policy: policy('10s'),
  create: () => async () => undefined,
};

const httpPost: ActivityDefinition<{ url: string }> = {
  name: 'http-post',
  description: 'POSTs the journey context to a URL.',
  input: z.strictObject({ url: z.string().url() }),
  policy: policy('15s'),
  create: () => async () => undefined,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fakeActivities: Record<string, ActivityDefinition<any>> = { 'notify-slack': notifySlack, 'http-post': httpPost };

/** Options that make `compileDefinitions` independent of activities/index. */
export const fakeOptions = (cwd: string) => ({ activities: fakeActivities, builtinPolicies: fakeBuiltinPolicies, cwd });
