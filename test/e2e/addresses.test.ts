/**
 * Addresses end to end, on real servers (the live system on a Temporal dev server and a real SMTP
 * server): a suppressed address written any other way is never mailed, a trait that is not
 * exactly one address is a 400 naming the field with nothing stored, and a bad value that is
 * already stored is skipped as invalid_address with nothing sent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-addresses-'));
  const defs = path.join(tmp, 'definitions');
  fs.mkdirSync(path.join(defs, 'journeys'), { recursive: true });
  fs.mkdirSync(path.join(defs, 'templates'), { recursive: true });
  fs.writeFileSync(
    path.join(defs, 'journeys', 'welcome.yaml'),
    ['journey: welcome', 'trigger:', '  event: signed_up', 'steps:', '  - id: hello', '    send: welcome-hello', '  - id: receipt', '    send: welcome-receipt', ''].join('\n'),
  );
  fs.writeFileSync(path.join(defs, 'templates', 'welcome-hello.yaml'), 'template: welcome-hello\nchannel: email\nsubject: Welcome\ntext: "Hello! {{ unsubscribe_url }}"\n');
  fs.writeFileSync(
    path.join(defs, 'templates', 'welcome-receipt.yaml'),
    'template: welcome-receipt\nchannel: email\ncategory: transactional\nsubject: Your receipt\ntext: Thanks.\n',
  );
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

useLiveSystem(
  { temporal: devServerEnv, definitions: () => path.join(tmp, 'definitions'), taskQueue: 'addresses-e2e' },
  (servers) => {
    ({ smtp, live, system } = servers);
  },
);

type Steps = { step: string; kind: string; detail?: Record<string, unknown> }[];

async function finishedSteps(customer: string): Promise<Steps> {
  return until(`${customer}'s journey to end`, async () => {
    const s = await customerStatus(system.store, customer);
    return s.journeys.length > 0 && s.journeys.every((j) => j.outcome) ? s.journeys.flatMap((j) => j.steps as Steps) : undefined;
  });
}

const skipReasons = (steps: Steps) => steps.filter((s) => s.kind === 'skipped').map((s) => s.detail?.reason);
/** Every recipient any accepted mail named, in its envelope or its To header, lower-cased. */
const recipients = () => smtp.messages.flatMap((m) => [...m.envelope.to, ...m.to.split(',')]).map((r) => r.trim().toLowerCase());

test('a suppressed address written another way in an identify never gets mail', async () => {
  expect((await live.post('suppressions', { channel: 'email', address: 'Ann <ANN@Example.com>', reason: 'complaint' })).status).toBe(200);
  const variants = ['Ann <ANN@Example.com>', '"Smith, Ann" <ann@example.com>', 'ann@example.com,', 'ann@example.com;', 'ANN@EXAMPLE.COM', ' ann@example.com '];
  const customers = variants.map((_, i) => `ann-${i}`);
  for (const [i, email] of variants.entries()) {
    expect((await live.post('identify', { userId: customers[i], traits: { email } })).status).toBe(200);
    expect((await live.post('track', { userId: customers[i], event: 'signed_up' })).status).toBe(200);
  }
  // Someone not suppressed, written with a display name, is mailed at the bare address only.
  await live.post('identify', { userId: 'bob', traits: { email: 'Bob <Bob@Example.com>' } });
  await live.post('track', { userId: 'bob', event: 'signed_up' });

  for (const customer of customers) expect(skipReasons(await finishedSteps(customer))).toEqual(['suppressed', 'suppressed']);
  expect(skipReasons(await finishedSteps('bob'))).toEqual([]);
  const toBob = smtp.messages.filter((m) => m.envelope.to.includes('bob@example.com'));
  expect(toBob.map((m) => [m.subject, m.to, m.envelope.to])).toEqual([
    ['Welcome', 'bob@example.com', ['bob@example.com']],
    ['Your receipt', 'bob@example.com', ['bob@example.com']],
  ]);
  expect(recipients().filter((r) => r.includes('ann@'))).toEqual([]);
});

test('a trait that is not exactly one address is a 400 naming it, and nothing of the call is stored', async () => {
  for (const [i, email] of ['a@x.com, b@y.com', 'a@x.com\r\nBcc: evil@z.com', 'friends: a@x.com, b@y.com;'].entries()) {
    const res = await live.post('identify', { userId: `bad-${i}`, traits: { email } });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ field: 'traits.email', message: expect.any(String) }]);
    expect(await system.store.getProfile(`bad-${i}`)).toBeUndefined();
  }
  const batch = [
    { type: 'identify', userId: 'batch-0', traits: { email: 'ok@example.com' } },
    { type: 'track', userId: 'batch-0', event: 'signed_up' },
    { type: 'identify', userId: 'batch-2', traits: { phone: '+1 555 CALL NOW' } },
    { type: 'identify', userId: 'batch-3', traits: { email: 'a@x.com;b@y.com' } },
  ];
  const res = await live.post('batch', { batch });
  expect(res.status).toBe(400);
  expect((res.body.issues as { field: string }[]).map((i) => i.field)).toEqual(['batch.2.traits.phone', 'batch.3.traits.email']);
  for (const id of ['batch-0', 'batch-2', 'batch-3']) {
    expect(await system.store.getProfile(id)).toBeUndefined();
    expect(await system.store.eventsFor(id)).toEqual([]);
  }
});

test('a bad address already stored is skipped as invalid_address and nothing is sent', async () => {
  const stored = ['a@x.com, b@y.com', 'c@x.com\r\nBcc: evil@z.com', 'friends: d@x.com;', 'not an address'];
  const before = smtp.messages.length;
  for (const [i, email] of stored.entries()) {
    // Written past the API, as an older row or a journey's profile change could hold it.
    await system.store.identify(`raw-${i}`, { email });
    expect((await system.store.getProfile(`raw-${i}`))?.email).toBe(email);
    expect((await live.post('track', { userId: `raw-${i}`, event: 'signed_up' })).status).toBe(200);
  }
  for (const [i] of stored.entries()) expect(skipReasons(await finishedSteps(`raw-${i}`))).toEqual(['invalid_address', 'invalid_address']);
  expect(smtp.messages.length).toBe(before);
  expect(recipients().filter((r) => /x\.com|y\.com|z\.com/.test(r))).toEqual([]);
  const stats = await system.store.journeyStats('welcome');
  expect(stats.steps.find((s) => s.stepId === 'hello' && s.kind === 'skipped')?.reasons).toMatchObject({ invalid_address: stored.length });
});
