/**
 * `unbroken audience <id>` previews who matches an audience now: the real command on a real
 * SQLite store holding back-dated events (their own timestamps in the past, as an import of an
 * order history would send them).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';

const root = path.resolve(__dirname, '..', '..');
const DAY = 86_400_000;
let dir: string;
let store: LiveStore;

function unbroken(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, UNBROKEN_DATA_DIR: path.join(dir, 'data') };
  delete env.DATABASE_URL;
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function order(customerId: string, days: number, n: number): Promise<void> {
  await store.recordEvent({
    messageId: `${customerId}-order-${n}`,
    type: 'track',
    customerId,
    userId: customerId,
    event: 'order_completed',
    timestamp: daysAgo(days),
    receivedAt: new Date().toISOString(),
  });
}

function write(file: string, lines: string[]): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-audience-'));
  fs.cpSync(path.join(root, 'definitions', 'audiences'), path.join(dir, 'definitions', 'audiences'), { recursive: true });
  store = await openProfileStore(undefined, path.join(dir, 'data'));
  // Lapsed: ordered, last more than 60 days ago, can be mailed.
  for (const id of ['c-ann', 'c-ben', 'c-cat']) {
    await store.identify(id, { email: `${id}@example.com` });
    await order(id, 400, 1);
    await order(id, 75, 2);
  }
  // Ordered recently (back-dated history, then a new order): not lapsed.
  await store.identify('c-dan', { email: 'c-dan@example.com' });
  await order('c-dan', 90, 1);
  await order('c-dan', 3, 2);
  // Lapsed by the orders, but unsubscribed from marketing email.
  await store.identify('c-eva', { email: 'c-eva@example.com', subscriptions: { email: { marketing: false } } });
  await order('c-eva', 80, 1);
  // Never ordered.
  await store.identify('c-fox', { email: 'c-fox@example.com' });
  // Lapsed orders but no address.
  await order('c-gus', 100, 1);
  await store.close();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('unbroken audience', () => {
  test('--json answers {"audience","count","sample"} for the customers who match now', () => {
    const r = unbroken('audience', 'lapsed-customers', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ audience: 'lapsed-customers', count: 3, sample: ['c-ann', 'c-ben', 'c-cat'] });
  });

  test('the sample is as long as asked, while the count stays the whole audience', () => {
    const r = unbroken('audience', 'lapsed-customers', '--sample', '2', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ audience: 'lapsed-customers', count: 3, sample: ['c-ann', 'c-ben'] });
  });

  test('without --json it says the count and some of the ids in words', () => {
    const r = unbroken('audience', 'lapsed-customers', '--sample', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('audience lapsed-customers (Lapsed customers): 3 customers match now\n  for example: c-ann, and 2 more\n');
  });

  test('an audience that uses another one (in_audience) counts by the same rule', () => {
    write('definitions/audiences/recent-or-lapsed.yaml', [
      'audience: recent-or-lapsed',
      'where:',
      '  any:',
      '    - in_audience: lapsed-customers',
      '    - events.order_completed.count_7d: { gte: 1 }',
    ]);
    const r = unbroken('audience', 'recent-or-lapsed', '--json');
    fs.rmSync(path.join(dir, 'definitions', 'audiences', 'recent-or-lapsed.yaml'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ audience: 'recent-or-lapsed', count: 4, sample: ['c-ann', 'c-ben', 'c-cat', 'c-dan'] });
  });

  test('an unknown audience exits 1 and names the audiences there are', () => {
    const r = unbroken('audience', 'lapsed-customer');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no audience "lapsed-customer"');
    expect(r.stderr).toContain('lapsed-customers');
  });

  test('broken definitions are reported as validate reports them, with exit 1', () => {
    write('broken/audiences/typo.yaml', ['audience: typo', 'where:', '  events.order_completed.last: { before: -60d }']);
    const r = unbroken('audience', 'typo', '--definitions', 'broken');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^broken\/audiences\/typo\.yaml:3:3: "events\.order_completed\.last" is not an event aggregate path/);
    expect(r.stderr).toContain('did you mean "events.order_completed.last_at"?');
  });

  test('a sample size that is not a whole number is a usage error', () => {
    expect(unbroken('audience', 'lapsed-customers', '--sample', 'ten').code).toBe(2);
    expect(unbroken('audience').code).toBe(2);
  });
});
