/**
 * A journey whose file is removed and deployed, on the live system (real Temporal dev server,
 * real SMTP server, SQLite store): nobody new enters it, and a customer waiting inside finishes
 * on the version they entered with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deployPlan, formatDeployPlan } from '../../cli/deploy-plan';
import { customerStatus, deploy } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let defs: string;

function definitions(): string {
  defs = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-withdrawn-'));
  const fixtures = path.join(__dirname, '..', 'fixtures', 'live');
  fs.cpSync(path.join(fixtures, 'templates'), path.join(defs, 'templates'), { recursive: true });
  fs.mkdirSync(path.join(defs, 'journeys'));
  fs.copyFileSync(path.join(fixtures, 'journeys', 'hello.yaml'), path.join(defs, 'journeys', 'hello.yaml'));
  fs.writeFileSync(
    path.join(defs, 'journeys', 'trial-check-in.yaml'),
    [
      'journey: trial-check-in',
      'trigger:',
      '  event: trial_started',
      'steps:',
      '  - id: wait-for-answer',
      '    wait_for:',
      '      event: answered',
      '      within: 1h',
      '    on_event:',
      '      - id: thanks',
      '        send: hello',
      '',
    ].join('\n'),
  );
  return defs;
}

useLiveSystem({ temporal: devServerEnv, definitions, taskQueue: 'withdrawn-e2e' }, (servers) => {
  ({ smtp, live, system } = servers);
});

afterAll(() => {
  if (defs) fs.rmSync(defs, { recursive: true, force: true });
});

async function runsOf(customer: string) {
  return (await customerStatus(system.store, customer)).journeys.filter((j) => j.journey === 'trial-check-in');
}

test('after its file is removed and deployed, a journey takes nobody new and the customer inside finishes on their version', async () => {
  await live.post('identify', { userId: 'ann', traits: { email: 'ann@example.com', first_name: 'Ann' } });
  await live.post('track', { userId: 'ann', event: 'trial_started' });
  const [inside] = await until('ann to enter', async () => {
    const runs = await runsOf('ann');
    return runs.length ? runs : undefined;
  });

  fs.rmSync(path.join(defs, 'journeys', 'trial-check-in.yaml'));
  const plan = await deployPlan(system.store, defs);
  expect(plan.journeys.find((j) => j.journey === 'trial-check-in')).toEqual({
    journey: 'trial-check-in',
    change: 'removed',
    deployed: inside.version,
    inside: [{ version: inside.version, step: 'wait-for-answer', where: 'at', kind: 'wait_for', customers: 1 }],
  });
  expect(formatDeployPlan(plan)).toContain(`1 customer waits at wait-for-answer on version ${inside.version}; it finishes on that version`);
  const result = await deploy(system.store, defs);
  expect(result.withdrawn).toEqual([{ journeyId: 'trial-check-in', version: inside.version }]);
  // The router reads the live journeys again after a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));

  await live.post('identify', { userId: 'bob', traits: { email: 'bob@example.com' } });
  expect((await live.post('track', { userId: 'bob', event: 'trial_started' })).status).toBe(200);
  expect((await live.post('track', { userId: 'ann', event: 'answered' })).status).toBe(200);

  const [done] = await until('ann to finish', async () => {
    const runs = await runsOf('ann');
    return runs[0]?.outcome !== undefined ? runs : undefined;
  });
  expect(done).toMatchObject({ version: inside.version, outcome: 'completed' });
  expect(done.steps.map((s) => s.step)).toContain('thanks');
  await until('the thank-you mail', () => (smtp.messages.some((m) => m.to === 'ann@example.com' && m.subject === 'Hello Ann') ? true : undefined));
  expect(await runsOf('bob')).toEqual([]);
}, 120_000);
