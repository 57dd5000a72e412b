/** The `unbroken` command as a user runs it: exit codes and the documented JSON contracts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { README_SIMULATE_ARGS, unbroken as run, type CommandResult } from '../support/cli';

const root = path.resolve(__dirname, '..', '..');

function unbroken(args: string[], cwd = root): CommandResult {
  return run(args, { cwd });
}

describe('unbroken validate', () => {
  test('the shipped definitions are valid and the summary says how many were checked', () => {
    const r = unbroken(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ journeys, \d+ templates and \d+ audiences in definitions are valid\n$/);
  });

  test('every problem is reported as file:line:column with exit code 1, and as JSON with --json', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-cli-'));
    fs.mkdirSync(path.join(tmp, 'defs', 'journeys'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'defs', 'templates'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'templates', 'hello.yaml'), 'template: hello\nchannel: email\nsubject: Hi\ntext: Hello\n');
    fs.writeFileSync(
      path.join(tmp, 'defs', 'journeys', 'demo.yaml'),
      ['journey: demo', 'trigger:', '  event: signed_up', 'steps:', '  - wait: 5', '  - send: helo', ''].join('\n'),
    );
    const text = unbroken(['validate', '--definitions', 'defs'], tmp);
    expect(text.code).toBe(1);
    const lines = text.stderr.trim().split('\n');
    expect(lines.some((l) => l.startsWith('defs/journeys/demo.yaml:5:11 '))).toBe(true);
    expect(lines.some((l) => l.startsWith('defs/journeys/demo.yaml:6:11 ') && l.includes('did you mean "hello"'))).toBe(true);

    const json = unbroken(['validate', '--definitions', 'defs', '--json'], tmp);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout);
    expect(body.ok).toBe(false);
    expect(body.errors).toHaveLength(2);
    for (const e of body.errors) {
      expect(Object.keys(e).sort()).toEqual(['code', 'column', 'file', 'hint', 'line', 'message', 'path']);
      expect(e.file).toBe('defs/journeys/demo.yaml');
    }
    expect(body.errors.map((e: { line: number; column: number }) => [e.line, e.column])).toEqual([
      [5, 11],
      [6, 11],
    ]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('warnings are printed but do not fail validate, and are listed under "warnings" with --json', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-cli-warn-'));
    fs.mkdirSync(path.join(tmp, 'defs', 'templates'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'templates', 'long-sms.yaml'), `template: long-sms\nchannel: sms\nbody: "${'Come back to your cart. '.repeat(8)}"\n`);
    const text = unbroken(['validate', '--definitions', 'defs'], tmp);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/^defs\/templates\/long-sms\.yaml:3:7: warning: sms body is at least 192 GSM-7 characters: 2 segments/);
    expect(text.stdout).toMatch(/are valid \(1 warning\)\n$/);
    const json = JSON.parse(unbroken(['validate', '--definitions', 'defs', '--json'], tmp).stdout);
    expect(json).toMatchObject({ ok: true, errors: [], warnings: [{ code: 'sms_too_long', file: 'defs/templates/long-sms.yaml', line: 3 }] });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('bad arguments exit with code 2', () => {
    expect(unbroken(['validate', '--nope']).code).toBe(2);
    expect(unbroken(['validate', '--definitions', 'no-such-folder']).code).toBe(2);
    expect(unbroken(['frobnicate']).code).toBe(2);
  });
});

describe('unbroken simulate', () => {
  test('the README example prints the documented JSON report in seconds of real time', () => {
    const r = unbroken(README_SIMULATE_ARGS);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['journey', 'version', 'customer', 'outcome', 'timeline', 'profile']));
    expect(report.journey).toBe('abandoned-cart');
    expect(report.customer).toBe('cus_ann_001');
    expect(report.version).toMatch(/^[0-9a-f]{12}$/);
    const times = report.timeline.map((t: { at: string }) => Date.parse(t.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(report.timeline[0]).toMatchObject({ kind: 'entered', at: '2026-11-24T10:00:00.000Z' });
    const sent = report.timeline.filter((t: { kind: string }) => t.kind === 'sent');
    expect(sent.length).toBeGreaterThan(0);
    for (const s of sent) {
      expect(s).toEqual(expect.objectContaining({ channel: 'email', to: 'ann@example.com', template: expect.any(String), subject: expect.any(String), body: expect.any(String) }));
    }
    // Nothing was sent for real, and the human format tells the same story.
    const human = unbroken(['simulate', 'abandoned-cart', '--profile', 'definitions/examples/ann.json', '--events', 'definitions/examples/abandoned-cart.events.jsonl', '--start', '2026-11-24T10:00:00Z']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('abandoned-cart (version');
    expect(human.stdout).toContain(sent[0].subject);
    // Beside UTC, the customer's own clock (Ann lives in Berlin, UTC+1 in November).
    expect(human.stdout).toContain("times in UTC, then the customer's local time (Europe/Berlin)");
    expect(human.stdout).toMatch(/^ {2}2026-11-24 10:00:00Z {2}Tue 11:00 {2}entered /m);
  });

  test('unsubscribe links expire by the simulated clock: a send 30 simulated days in gets a link valid for the lifetime after that send', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-link-'));
    fs.mkdirSync(path.join(tmp, 'defs', 'journeys'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'defs', 'templates'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'templates', 'news.yaml'), 'template: news\nchannel: email\nsubject: News\ntext: "Leave: {{ unsubscribe_url }}"\n');
    fs.writeFileSync(path.join(tmp, 'defs', 'journeys', 'later.yaml'), ['journey: later', 'trigger:', '  event: signed_up', 'steps:', '  - wait: 30d', '  - send: news', ''].join('\n'));
    fs.writeFileSync(path.join(tmp, 'profile.json'), '{"id":"cus_link","email":"link@example.com"}\n');
    fs.writeFileSync(path.join(tmp, 'events.jsonl'), '{"at":"+0m","type":"track","event":"signed_up"}\n');
    const r = unbroken(['simulate', 'later', '--definitions', 'defs', '--profile', 'profile.json', '--events', 'events.jsonl', '--start', '2031-01-06T09:00:00Z', '--json'], tmp);
    expect(r.code).toBe(0);
    const sent = JSON.parse(r.stdout).timeline.find((t: { kind: string }) => t.kind === 'sent');
    expect(sent.at).toMatch(/^2031-02-05T09:00/);
    const token = /\/unsubscribe\/([A-Za-z0-9_-]+)\./.exec(sent.body)?.[1];
    expect(token).toBeDefined();
    const claims = JSON.parse(Buffer.from(token!, 'base64url').toString('utf8'));
    // UNBROKEN_UNSUBSCRIBE_TTL is 60 days by default, counted from the simulated send (to the second).
    expect(claims.exp * 1000 - Date.parse(sent.at)).toBeGreaterThan(60 * 86_400_000 - 1000);
    expect(claims.exp * 1000 - Date.parse(sent.at)).toBeLessThanOrEqual(60 * 86_400_000);
  });

  test('a dated wait on a missing date ends the run as exited, with invalid_date and the value in the timeline', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-date-'));
    fs.mkdirSync(path.join(tmp, 'defs', 'journeys'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'defs', 'templates'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'templates', 'happy-birthday.yaml'), 'template: happy-birthday\nchannel: email\nsubject: Happy birthday\ntext: Have a lovely day.\n');
    fs.writeFileSync(
      path.join(tmp, 'defs', 'journeys', 'birthday.yaml'),
      ['journey: birthday', 'trigger:', '  event: signed_up', 'steps:', '  - id: on-the-day', '    wait_until:', '      date: "{{ profile.birthday }}"', '  - send: happy-birthday', ''].join('\n'),
    );
    fs.writeFileSync(path.join(tmp, 'profile.json'), '{"id":"cus_no_birthday","email":"nobday@example.com"}\n');
    fs.writeFileSync(path.join(tmp, 'events.jsonl'), '{"at":"+0s","type":"track","event":"signed_up"}\n');
    const r = unbroken(['simulate', 'birthday', '--definitions', 'defs', '--profile', 'profile.json', '--events', 'events.jsonl', '--start', '2026-12-01T00:00:00Z', '--json'], tmp);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.outcome).toBe('exited');
    expect(report.reason).toBe('invalid_date');
    expect(report.timeline.map((t: { kind: string }) => t.kind)).toEqual(['entered', 'exited']);
    expect(report.timeline[1]).toMatchObject({ step: 'on-the-day', reason: 'invalid_date', value: null });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('events the journey does not listen for do not reach the run or its timeline', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-heard-'));
    const events = fs.readFileSync(path.join(root, 'definitions', 'examples', 'abandoned-cart.events.jsonl'), 'utf8');
    fs.writeFileSync(path.join(tmp, 'events.jsonl'), `${events.trimEnd()}\n{"at":"+5h1m","type":"track","event":"page_viewed","properties":{}}\n`);
    const r = unbroken(['simulate', 'abandoned-cart', '--profile', 'definitions/examples/ann.json', '--events', path.join(tmp, 'events.jsonl'), '--start', '2026-11-24T10:00:00Z', '--json']);
    expect(r.code).toBe(0);
    const received = JSON.parse(r.stdout).timeline.filter((t: { kind: string }) => t.kind === 'event_received');
    expect(received.map((t: { event: string }) => t.event)).toEqual(['cart_viewed']);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('unusable input exits with code 2 and says which line is wrong', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-'));
    fs.writeFileSync(path.join(tmp, 'events.jsonl'), '{"at":"+1h","type":"track","event":"x"}\n{"at":"soon","type":"track","event":"y"}\n');
    const r = unbroken(['simulate', 'abandoned-cart', '--profile', 'definitions/examples/ann.json', '--events', path.join(tmp, 'events.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('events.jsonl:2: at: "soon"');
    expect(unbroken(['simulate', 'abandoned-cart', '--events', path.join(tmp, 'events.jsonl')]).code).toBe(2);
    expect(unbroken(['simulate', 'no-such-journey', '--profile', 'definitions/examples/ann.json', '--events', path.join(tmp, 'events.jsonl')]).code).toBe(2);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
