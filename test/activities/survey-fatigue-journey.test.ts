/**
 * A journey's `survey_reminders:` reaches the send activity through the workflow: the same survey
 * asked three times in one run, simulated on the time-skipping server with the worker's delivery
 * policy, goes out as often as the journey allows and is skipped `survey_fatigue` after that.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { captureMailer } from '../../activities/mailer';
import { activityCatalog } from '../../activities/index';
import type { DeliveryPolicy } from '../../activities/types';
import { simulate, type SimulationReport } from '../../cli/simulate';
import { compileDefinitions } from '../../compiler/index';
import { SqliteProfileStore } from '../../profiles/sqlite';
import { loadConfig } from '../../worker/config';
import { activityDeps } from '../../worker/deps';
import { timeSkippingEnv } from '../support/temporal';

const START = Date.parse('2026-11-24T10:00:00Z');

const TEMPLATE = `template: how-was-it
channel: email
subject: How did we do?
survey: { id: delivery-nps, scale: nps, question: "How likely are you to recommend us?" }
text: Your order arrived.
`;

/** Asks the same survey at once, a day later and two days later. */
function journey(reminders: string): string {
  return `journey: nag
trigger:
  event: order_delivered
${reminders}
steps:
  - id: ask
    send: how-was-it
  - id: pause
    wait: 1d
  - id: reminder
    send: how-was-it
  - id: pause-again
    wait: 1d
  - id: nag
    send: how-was-it
`;
}

let env: TestWorkflowEnvironment;
let dir: string;
let delivery: DeliveryPolicy;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-survey-journey-'));
  fs.mkdirSync(path.join(dir, 'journeys'));
  fs.mkdirSync(path.join(dir, 'templates'));
  fs.writeFileSync(path.join(dir, 'templates', 'how-was-it.yaml'), TEMPLATE);
  // The delivery policy exactly as the worker builds it from its settings.
  const scratch = new SqliteProfileStore(':memory:');
  const config = loadConfig({ UNBROKEN_UNSUBSCRIBE_SECRET: 'survey-journey-secret-0123456789abcdef', UNBROKEN_FREQUENCY_CAPS: 'none' });
  delivery = activityDeps(config, scratch, captureMailer()).delivery!;
  await scratch.close();
  env = await timeSkippingEnv();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(reminders: string): Promise<SimulationReport> {
  fs.writeFileSync(path.join(dir, 'journeys', 'nag.yaml'), journey(reminders));
  const compiled = compileDefinitions(dir, activityCatalog);
  expect(compiled.errors).toEqual([]);
  const plan = compiled.plans.get('nag')!;
  const profile = { id: 'ann', email: 'ann@example.com', tags: [] };
  const events = [{ atMs: START, type: 'track' as const, event: 'order_delivered', properties: {} }];
  return simulate({ plan, profile, events, startMs: START, defaultTimezone: 'UTC', env, delivery });
}

/** What each send step came to: `sent` or the skip reason, in order. */
function sends(r: SimulationReport): string[] {
  return r.timeline.filter((t) => t.kind === 'sent' || t.kind === 'skipped').map((t) => `${t.step}: ${t.kind === 'sent' ? 'sent' : String(t.reason)}`);
}

it('asks once and reminds once by default, then skips the third ask as survey_fatigue', async () => {
  expect(sends(await run(''))).toEqual(['ask: sent', 'reminder: sent', 'nag: survey_fatigue']);
}, 60_000);

it('follows the journey\'s survey_reminders: none with 0, both with 2', async () => {
  expect(sends(await run('survey_reminders: 0'))).toEqual(['ask: sent', 'reminder: survey_fatigue', 'nag: survey_fatigue']);
  expect(sends(await run('survey_reminders: 2'))).toEqual(['ask: sent', 'reminder: sent', 'nag: sent']);
}, 60_000);
