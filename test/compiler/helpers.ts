import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { compileDefinitions, type ActivityCatalog, type ActivitySignature } from '../../compiler/index';
import type { ActivityPolicy } from '../../compiler/plan';

const policy = (timeout: string): ActivityPolicy => ({
  startToCloseTimeout: timeout,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

/** Small stand-ins for the worker's catalog, so compiler tests do not depend on activities/. */
export const fakeBuiltinPolicies: Record<'sendMessage' | 'loadProfile' | 'updateProfile' | 'recordStep', ActivityPolicy> = {
  sendMessage: policy('30s'),
  loadProfile: policy('5s'),
  updateProfile: policy('5s'),
  recordStep: policy('5s'),
};

const notifySlack: ActivitySignature<{ channel: string; text: string }> = {
  description: 'Posts a message to a Slack channel.',
  input: z.strictObject({
    channel: z.string().regex(/^#/).describe('Slack channel, starting with #.'),
    text: z.string().describe('Message text.'),
  }),
  policy: policy('10s'),
};

const httpPost: ActivitySignature<{ url: string }> = {
  description: 'POSTs the journey context to a URL.',
  input: z.strictObject({ url: z.string().url() }),
  policy: policy('15s'),
};

export const fakeActivities: ActivityCatalog['activities'] = { 'notify-slack': notifySlack, 'http-post': httpPost };

/** Options that compile against the stand-in catalog instead of activities/index. */
export const fakeOptions = (cwd: string): ActivityCatalog & { cwd: string } => ({ activities: fakeActivities, builtinPolicies: fakeBuiltinPolicies, cwd });

/**
 * A definitions folder made afresh for each test (removed after it) with the files `seed` names
 * (path → text), and the compile of it with the built-in loaders audiences need: the audience,
 * schedule and date suites write one journey per test into it and compile.
 */
export function definitionsPerTest(prefix: string, seed: Record<string, string>): { write(file: string, text: string): void; compile(): ReturnType<typeof compileDefinitions> } {
  let dir = '';
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `unbroken-${prefix}-`));
    for (const [file, text] of Object.entries(seed)) write(file, text);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const policy = fakeBuiltinPolicies.loadProfile;
  const builtinPolicies = { ...fakeBuiltinPolicies, loadConsent: policy, loadAggregates: policy };
  return { write, compile: () => compileDefinitions(dir, { activities: fakeActivities, builtinPolicies, cwd: dir }) };
}
