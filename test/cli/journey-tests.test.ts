/**
 * `unbroken test` as a user runs it: the shipped journey tests pass (so a broken example breaks
 * CI), failing expectations are reported at their file:line with the timeline, invalid test files
 * stop the run with exit 2, and the name filter and --json work. Each run simulates on a real
 * time-skipping server.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const RUN_TIMEOUT = 240_000;

function unbroken(args: string[], cwd = root): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'test', ...args], { cwd, encoding: 'utf8', timeout: RUN_TIMEOUT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A folder with the shipped journeys and templates and the given test files. */
function definitionsWith(tests: Record<string, string>): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-test-'));
  for (const sub of ['journeys', 'templates', 'audiences']) fs.cpSync(path.join(root, 'definitions', sub), path.join(tmp, 'defs', sub), { recursive: true });
  for (const [name, text] of Object.entries(tests)) {
    fs.mkdirSync(path.dirname(path.join(tmp, 'defs', 'tests', name)), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'tests', name), text);
  }
  return tmp;
}

const FAILING = [
  '- test: cart expectations that all fail',
  '  journey: abandoned-cart',
  '  profile: { id: u1, email: ann@example.com, first_name: Ann, timezone: Europe/Berlin, vip: true }',
  '  events:',
  '    - { at: "+0m", event: cart_abandoned, properties: { cart_id: c1, total: 80, cart_url: "https://shop.example.com/c1" } }',
  '  expect:',
  '    outcome: converted',
  '    sends:',
  '      - { template: cart-reminder, at: "+2h" }',
  '      - { template: cart-vip-offer, subject_contains: "50%" }',
  '      - { template: cart-still-there }',
  '    not_sent: [cart-reminder]',
  '    skipped: [{ step: first-reminder, reason: unsubscribed }]',
  '    path: [first-reminder, last-chance]',
  '    profile: { cart_nudges: 2 }',
  '---',
  '# A second document: line numbers stay those of the file.',
  'test: cart passing beside it',
  'journey: abandoned-cart',
  'profile: { id: u2, email: bo@example.com, timezone: Europe/Berlin }',
  'events:',
  '  - { at: "+0m", event: cart_abandoned, properties: { cart_id: c2, total: 50 } }',
  '  - { at: "+10m", event: order_completed, properties: { cart_id: c2 } }',
  'expect: { outcome: converted, not_sent: [cart-reminder] }',
  '',
].join('\n');

describe('unbroken test', () => {
  test('the shipped journey tests pass and cover every step and branch of the examples', () => {
    const r = unbroken(['--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as {
      ok: boolean;
      tests: { file: string; line: number; name: string; ok: boolean; failures: unknown[] }[];
      coverage: Record<string, { steps: number; covered: number; uncovered: string[] }>;
    };
    expect(body.ok).toBe(true);
    expect(body.tests.length).toBeGreaterThanOrEqual(20);
    for (const t of body.tests) {
      expect(Object.keys(t).sort()).toEqual(['failures', 'file', 'line', 'name', 'ok']);
      expect(t).toMatchObject({ ok: true, failures: [] });
      expect(t.file).toMatch(/^definitions\/tests\/.+\.test\.yaml$/);
      expect(fs.readFileSync(path.join(root, t.file), 'utf8').split('\n')[t.line - 1]).toContain(t.name);
    }
    const journeys = fs.readdirSync(path.join(root, 'definitions', 'journeys')).map((f) => f.replace(/\.yaml$/, ''));
    expect(Object.keys(body.coverage).sort()).toEqual(journeys.sort());
    for (const c of Object.values(body.coverage)) expect(c).toEqual({ steps: c.covered, covered: c.covered, uncovered: [] });
  }, RUN_TIMEOUT);

  test('each kind of failing expectation is reported at its file:line, with the timeline, and the run exits 1', () => {
    const cwd = definitionsWith({ 'cart.test.yaml': FAILING });
    const r = unbroken(['--definitions', 'defs'], cwd);
    expect(r.code).toBe(1);
    const out = r.stdout;
    const at = (line: number) => `✕ defs/tests/cart.test.yaml:${line}  `;
    expect(out).toContain('FAIL  defs/tests/cart.test.yaml:1  cart expectations that all fail');
    expect(out).toContain('PASS  defs/tests/cart.test.yaml:18  cart passing beside it');
    expect(out).toContain(`${at(7)}outcome: expected converted, got completed`);
    expect(out).toContain(`${at(9)}sends: expected cart-reminder at +2h (±1m); it was sent at +1h`);
    expect(out).toContain(`${at(10)}sends: expected cart-vip-offer with a subject containing "50%"; it was sent at +1d with subject "Ann, 15% off your cart, just for you"`);
    expect(out).toContain(`${at(11)}sends: expected cart-still-there; it was not sent (sent: cart-reminder at +1h, cart-vip-offer at +1d)`);
    expect(out).toContain(`${at(12)}not_sent: cart-reminder was sent at +1h (step first-reminder)`);
    expect(out).toContain(`${at(13)}skipped: expected step first-reminder to be skipped because unsubscribed; it was sent`);
    expect(out).toContain(`${at(14)}path: expected the run to pass last-chance after first-reminder; it passed wait-1 → first-reminder → wait-for-view → vip-or-not → vip-offer → remember-nudge`);
    expect(out).toContain(`${at(15)}profile.cart_nudges: expected 2, got 1`);
    expect(out).toMatch(/what happened:\n\s+abandoned-cart \(version \w+\) for customer u1: completed\n/);
    // UTC, then the customer's own clock (Berlin, UTC+1 in March).
    expect(out).toMatch(/2026-03-03 11:00:00Z  Tue 12:00\s+sent\s+first-reminder/);
    expect(out).toMatch(/\n1 passed, 1 failed \(\d+\.\d s\)\n$/);
  }, RUN_TIMEOUT);

  test('a name filter runs only the matching tests, and --json reports them without coverage', () => {
    const cwd = definitionsWith({ 'cart.test.yaml': FAILING });
    const r = unbroken(['PASSING', '--definitions', 'defs', '--json'], cwd);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      tests: [{ file: 'defs/tests/cart.test.yaml', line: 18, name: 'cart passing beside it', ok: true, failures: [] }],
    });
    const none = unbroken(['no-such-test', '--definitions', 'defs'], cwd);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no test name contains "no-such-test"');
  }, RUN_TIMEOUT);

  test('--json lists failures with the line of each broken expectation', () => {
    const cwd = definitionsWith({
      'a.test.yaml': [
        '- test: whitepaper nudge expected too early',
        '  journey: whitepaper-nudge',
        '  profile: { id: r1, email: ann@example.com, timezone: Europe/Berlin }',
        '  events: [{ at: "+0m", event: whitepaper_downloaded, properties: { title: T, slug: t } }]',
        '  expect:',
        '    sends: [{ template: whitepaper-demo-nudge, at: 2026-03-04T10:00:00Z }]',
        '    outcome: completed',
        '',
      ].join('\n'),
    });
    const r = unbroken(['--definitions', 'defs', '--json'], cwd);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout);
    expect(body.ok).toBe(false);
    expect(body.tests).toEqual([
      {
        file: 'defs/tests/a.test.yaml',
        line: 1,
        name: 'whitepaper nudge expected too early',
        ok: false,
        failures: [{ line: 6, message: 'sends: expected whitepaper-demo-nudge at +1d (±1m); it was sent at +7d' }],
      },
    ]);
    expect(body.coverage['whitepaper-nudge']).toEqual({ steps: 2, covered: 2, uncovered: [] });
    expect(body.coverage['abandoned-cart'].uncovered).toContain('first-reminder');
  }, RUN_TIMEOUT);

  test('invalid test files stop the run with exit 2 and every problem at its file:line', () => {
    const cwd = definitionsWith({
      'bad.test.yaml': [
        '- test: unknown names',
        '  journey: abandoned-cart',
        '  profile: { id: u1 }',
        '  events:',
        '    - { at: "+0m", event: cart_abandoned, propertys: {} }',
        '    - { at: "soon", event: cart_viewed }',
        '  expect:',
        '    outcome: done',
        '    sends: [{ template: cart-remider }]',
        '    not_sent: [cart-vip-ofer]',
        '    skipped: [{ step: first-remindr }]',
        '    path: [wait-for-veiw]',
        '    colour: red',
        '- test: unknown journey',
        '  journey: abandoned-carts',
        '  profile: { id: u2 }',
        '  expect: {}',
        '',
      ].join('\n'),
      'nested/syntax.test.yaml': 'test: broken\n  journey: [abandoned-cart\n',
      'missing.test.yaml': 'test: no expect\njourney: abandoned-cart\nprofile: { name: x }\nevents: [3]\n',
      'nested/second.test.yaml': 'test: one\njourney: welcome-series\nprofile: { id: a }\nexpect: {}\n---\ntest: two\njourny: welcome-series\nprofile: { id: b }\nexpect: {}\n',
    });
    const r = unbroken(['--definitions', 'defs'], cwd);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    const has = (prefix: string, text: string) => expect(lines.filter((l) => l.startsWith(prefix) && l.includes(text))).not.toEqual([]);
    has('defs/tests/bad.test.yaml:8:', 'outcome');
    has('defs/tests/bad.test.yaml:13:', 'unknown key "colour"');
    has('defs/tests/bad.test.yaml:15:', 'unknown journey "abandoned-carts" (did you mean "abandoned-cart"?)');
    has('defs/tests/nested/syntax.test.yaml:', 'YAML syntax error');
    has('defs/tests/missing.test.yaml:1:', 'expect is missing');
    has('defs/tests/missing.test.yaml:3:', 'profile.id is missing');
    has('defs/tests/missing.test.yaml:4:', 'events[0]: Invalid input: expected record, received number');
    has('defs/tests/nested/second.test.yaml:7:', 'unknown key "journy"');
    expect(r.stderr).toMatch(/\d+ problems in test files\.\n$/);

    // Names are checked once the shape is right: templates, steps and times, with did-you-mean.
    const names = definitionsWith({
      'names.test.yaml': [
        '- test: unknown names',
        '  journey: abandoned-cart',
        '  profile: { id: u1 }',
        '  events:',
        '    - { at: "soon", event: cart_viewed }',
        '    - { at: "+0m", event: cart_abandoned, propertys: {} }',
        '  expect:',
        '    sends: [{ template: cart-remider }]',
        '    not_sent: [cart-vip-ofer]',
        '    skipped: [{ step: first-remindr }]',
        '    path: [wait-for-veiw]',
        '',
      ].join('\n'),
    });
    const n = unbroken(['--definitions', 'defs', '--json'], names);
    expect(n.code).toBe(2);
    const errors = (JSON.parse(n.stdout) as { ok: boolean; errors: { file: string; line: number; message: string }[] }).errors;
    expect(errors.map((e) => `${e.line} ${e.message}`)).toEqual([
      '5 test "unknown names": at "soon" is neither +<duration> nor an ISO time',
      '6 test "unknown names": unknown key "propertys" in an event',
      '8 test "unknown names": unknown template "cart-remider" (did you mean "cart-reminder"?)',
      '9 test "unknown names": unknown template "cart-vip-ofer" (did you mean "cart-vip-offer"?)',
      '10 test "unknown names": journey "abandoned-cart" has no step "first-remindr" (did you mean "first-reminder"?)',
      '11 test "unknown names": journey "abandoned-cart" has no step "wait-for-veiw" (did you mean "wait-for-view"?)',
    ]);
    expect(errors.every((e) => e.file === 'defs/tests/names.test.yaml')).toBe(true);
  });

  test('invalid definitions stop the run with exit 2 and validate’s errors', () => {
    const cwd = definitionsWith({ 'a.test.yaml': 'test: t\njourney: abandoned-cart\nprofile: { id: a }\nexpect: {}\n' });
    const journey = path.join(cwd, 'defs', 'journeys', 'abandoned-cart.yaml');
    fs.writeFileSync(journey, fs.readFileSync(journey, 'utf8').replace('send: cart-reminder', 'send: cart-remindr'));
    const r = unbroken(['--definitions', 'defs'], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^defs\/journeys\/abandoned-cart\.yaml:\d+:\d+ .*unknown template "cart-remindr"/m);
  });

  test('a definitions folder without tests is a usage error', () => {
    const cwd = definitionsWith({});
    const r = unbroken(['--definitions', 'defs'], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no test files in defs/tests');
  });
});
