/**
 * `unbroken simulate --all` and journey tests without `journey`, as a user runs them: one customer
 * through every journey of a definitions folder on a real time-skipping server, entered as the
 * live router enters them, with one store shared by all runs (caps, profile updates).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const RUN_TIMEOUT = 180_000;

function unbroken(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  // One marketing email a day, so the second journey's send meets the first one's cap.
  const env = { ...process.env, UNBROKEN_FREQUENCY_CAPS: 'email:marketing:1/24h' };
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd, env, encoding: 'utf8', timeout: RUN_TIMEOUT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FILES: Record<string, string> = {
  'templates/promo-a.yaml': 'template: promo-a\nchannel: email\ncategory: marketing\nsubject: Promo A\ntext: A\n',
  'templates/promo-b.yaml': 'template: promo-b\nchannel: email\ncategory: marketing\nsubject: Promo B\ntext: B\n',
  'templates/vip-offer.yaml': 'template: vip-offer\nchannel: email\ncategory: transactional\nsubject: VIP offer\ntext: V\n',
  'templates/regular-offer.yaml': 'template: regular-offer\nchannel: email\ncategory: transactional\nsubject: Regular offer\ntext: R\n',
  // Makes the customer a VIP: the offer journey reads it.
  'journeys/first-promo.yaml': ['journey: first-promo', 'trigger: { event: signed_up }', 'steps:', '  - send: promo-a', '  - id: make-vip', '    update_profile: { set: { vip: true } }', ''].join('\n'),
  'journeys/second-promo.yaml': ['journey: second-promo', 'trigger: { event: signed_up }', 're_entry: always', 'steps:', '  - wait: 1h', '  - id: promo-b', '    send: promo-b', ''].join('\n'),
  // Its goal is its own trigger: the event that ends a run enters the next one once it has closed.
  'journeys/visit.yaml': ['journey: visit', 'trigger: { event: browsed }', 'goal: { event: browsed }', 're_entry: always', 'steps:', '  - wait: 1d', ''].join('\n'),
  'journeys/offer.yaml': [
    'journey: offer',
    'trigger: { event: browsed }',
    're_entry: always',
    'steps:',
    '  - id: vip-or-not',
    '    if: { profile.vip: true }',
    '    then: [{ id: vip, send: vip-offer }]',
    '    else: [{ id: regular, send: regular-offer }]',
    '',
  ].join('\n'),
};

const EVENTS = [
  { at: '+0m', type: 'track', event: 'browsed' },
  { at: '+1m', type: 'track', event: 'signed_up' },
  // Inside second-promo (it waits an hour) and first-promo allows one entry only: enters nothing.
  { at: '+10m', type: 'track', event: 'signed_up' },
  { at: '+2h', type: 'track', event: 'browsed' },
];

let cwd: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-all-'));
  for (const [name, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(cwd, 'defs', name)), { recursive: true });
    fs.writeFileSync(path.join(cwd, 'defs', name), text);
  }
  fs.writeFileSync(path.join(cwd, 'profile.json'), '{"id":"u1","email":"ann@example.com","timezone":"Europe/Berlin"}\n');
  fs.writeFileSync(path.join(cwd, 'events.jsonl'), EVENTS.map((e) => JSON.stringify(e)).join('\n'));
});
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

interface Entry {
  at: string;
  journey: string;
  step: string;
  kind: string;
  template?: string;
  reason?: string;
}

describe('unbroken simulate --all', () => {
  test('every journey runs for the customer: caps and profile updates are shared, and later trigger events enter as the router would', () => {
    const args = ['simulate', '--all', '--definitions', 'defs', '--profile', 'profile.json', '--events', 'events.jsonl', '--start', '2026-03-03T10:00:00Z'];
    const r = unbroken([...args, '--json'], cwd);
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { customer: string; runs: { journey: string; version: string; outcome: string }[]; timeline: Entry[]; profile: Record<string, unknown> };
    expect(Object.keys(body).sort()).toEqual(['customer', 'profile', 'runs', 'timeline']);
    expect(body.customer).toBe('u1');
    // offer twice (re_entry: always, the first run had ended), each promo once: the second signed_up
    // entered nothing; the second browsed converted the first visit and then entered the next.
    expect(body.runs.map((run) => `${run.journey} ${run.outcome}`)).toEqual([
      'offer completed',
      'visit converted',
      'first-promo completed',
      'second-promo completed',
      'offer completed',
      'visit completed',
    ]);
    for (const run of body.runs) expect(run.version).toMatch(/^[0-9a-f]{12}$/);
    // Merged in time order, every entry with its journey.
    const times = body.timeline.map((t) => Date.parse(t.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const sends = body.timeline.filter((t) => t.kind === 'sent').map((t) => `${t.journey}/${t.template}`);
    // The first offer ran before first-promo made the customer a VIP; the second one after.
    expect(sends).toEqual(['offer/regular-offer', 'first-promo/promo-a', 'offer/vip-offer']);
    const capped = body.timeline.find((t) => t.kind === 'skipped');
    expect(capped).toMatchObject({ journey: 'second-promo', step: 'promo-b', reason: 'frequency_cap' });
    expect(Date.parse(capped!.at) - Date.parse('2026-03-03T10:01:00Z')).toBeGreaterThanOrEqual(3_600_000);
    expect(body.profile.vip).toBe(true);

    const human = unbroken(args, cwd);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('every journey for customer u1: 6 runs');
    expect(human.stdout).toMatch(/^ {2}2026-03-03 11:01:00Z {2}Tue 12:01 {2}skipped +second-promo +promo-b +promo-b because frequency_cap$/m);
  }, RUN_TIMEOUT);

  test('--all takes no journey id', () => {
    const r = unbroken(['simulate', '--all', 'offer', '--definitions', 'defs', '--profile', 'profile.json', '--events', 'events.jsonl'], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('simulate --all runs every journey; leave out the journey id "offer"');
  });
});

const tests = (expectations: string[]): string =>
  [
    '- test: every journey for a customer who browses, signs up and browses again',
    '  start: 2026-03-03T10:00:00Z',
    '  profile: { id: u1, email: ann@example.com }',
    '  events:',
    ...EVENTS.map((e) => `    - { at: "${e.at}", event: ${e.event} }`),
    '  expect:',
    ...expectations.map((l) => `    ${l}`),
    '',
  ].join('\n');

function withTests(text: string): void {
  fs.rmSync(path.join(cwd, 'defs', 'tests'), { recursive: true, force: true });
  fs.mkdirSync(path.join(cwd, 'defs', 'tests'));
  fs.writeFileSync(path.join(cwd, 'defs', 'tests', 'all.test.yaml'), text);
}

describe('journey tests without journey', () => {
  test('run every journey: expectations name their journey, a failing one is reported at its file:line, coverage counts every run', () => {
    withTests(
      tests([
        'sends:',
        '  - { journey: offer, template: regular-offer, at: "+0m" }',
        '  - { journey: offer, template: vip-offer, at: "+2h" }',
        'skipped: [{ journey: second-promo, step: promo-b, reason: frequency_cap }]',
        'not_sent: [promo-b, { journey: offer, template: promo-a }]',
        'profile: { vip: true }',
      ]) +
        '---\n' +
        tests(['sends:', '  - { journey: second-promo, template: promo-b }', 'not_sent: [{ journey: first-promo, template: promo-a }]']).replace('browses again', 'expects too much'),
    );
    const r = unbroken(['test', '--definitions', 'defs', '--json'], cwd);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { ok: boolean; tests: { line: number; ok: boolean; failures: { message: string; line: number }[] }[]; coverage: Record<string, { uncovered: string[] }> };
    expect(body.tests.map((t) => t.ok)).toEqual([true, false]);
    // The second document starts at line 17; its expectations are on lines 27 and 28.
    expect(body.tests[1].failures).toEqual([
      { line: 27, message: expect.stringMatching(/^sends: expected second-promo\/promo-b; it was not sent \(sent: offer\/regular-offer at \+(0m|\d+s), first-promo\/promo-a at \+1m, offer\/vip-offer at \+2h\)$/) },
      { line: 28, message: expect.stringMatching(/^not_sent: promo-a was sent at \+1m \(journey first-promo, step send-1\)$/) },
    ]);
    expect(body.coverage.offer.uncovered).toEqual([]);
    expect(body.coverage['first-promo'].uncovered).toEqual([]);
    expect(body.coverage.visit.uncovered).toEqual([]);

    const text = unbroken(['test', '--definitions', 'defs'], cwd);
    expect(text.stdout).toContain('✕ defs/tests/all.test.yaml:27  sends: expected second-promo/promo-b');
    expect(text.stdout).toMatch(/every journey for customer u1: 6 runs/);
    expect(text.stdout).toContain('1 passed, 1 failed');
  }, RUN_TIMEOUT);

  test('a test without journey refuses outcome, path and sends or skips that name no journey, each at its file:line', () => {
    withTests(tests(['outcome: completed', 'path: [vip-or-not]', 'sends: [{ template: promo-a }]', 'skipped: [{ journey: offer, step: promo-b }]']));
    const r = unbroken(['test', '--definitions', 'defs'], cwd);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^defs\/tests\/all\.test\.yaml:10:\d+: .*outcome needs the test's journey: a test without journey runs every journey/),
        expect.stringMatching(/^defs\/tests\/all\.test\.yaml:11:\d+: .*path needs the test's journey/),
        expect.stringMatching(/^defs\/tests\/all\.test\.yaml:12:\d+: .*expect\.sends\[0\] needs a journey: this test runs every journey/),
        expect.stringMatching(/^defs\/tests\/all\.test\.yaml:13:\d+: .*journey "offer" has no step "promo-b"/),
      ]),
    );
  });
});
