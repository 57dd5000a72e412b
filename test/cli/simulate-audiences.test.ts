/** `unbroken simulate` with a trigger that reads event aggregates: the events file is the customer's history. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const definitions = path.join(root, 'test', 'fixtures', 'audiences');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-audiences-'));
  fs.writeFileSync(path.join(tmp, 'eve.json'), JSON.stringify({ id: 'sim-eve', email: 'eve@example.com' }));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function simulate(views: string[]): { outcome: string; reason?: string; timeline: { kind: string; at: string }[] } {
  const events = path.join(tmp, 'events.jsonl');
  fs.writeFileSync(events, views.map((at) => JSON.stringify({ at, type: 'track', event: 'product_viewed', properties: {} })).join('\n'));
  const args = ['simulate', 'browse-nudge', '--definitions', definitions, '--profile', path.join(tmp, 'eve.json'), '--events', events, '--start', '2026-03-01T09:00:00Z', '--json'];
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  // The Java test server says a word about its logger on stderr; the answer is on stdout.
  expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(r.stdout);
}

test('the third view within seven days enters, at the time of that view', () => {
  const result = simulate(['+0s', '+1d', '+2d']);
  expect(result.outcome).toBe('completed');
  expect(result.timeline[0]).toMatchObject({ at: '2026-03-03T09:00:00.000Z' });
});

test('three views spread over more than seven days never enter', () => {
  expect(simulate(['+0s', '+8d', '+16d'])).toMatchObject({ outcome: 'not_entered', timeline: [] });
});
