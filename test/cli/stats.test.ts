/**
 * `unbroken stats <journey>`: the journey's conversion rate and, for each split, every arm with
 * its rate, 95 % interval, lift against the holdout and a verdict — as text and as JSON. The real
 * command on a real SQLite store filled through the store's own calls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openProfileStore } from '../../profiles/index';
import { unbrokenOnDataDir, type CommandResult } from '../support/cli';
import type { LiveStore } from '../../profiles/store';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
let dataDir: string;
let store: LiveStore;

function unbroken(...args: string[]): CommandResult {
  return unbrokenOnDataDir(dataDir, ...args);
}

const plan = {
  journey: 'offer-test',
  trigger: { event: 'offer_seen' },
  steps: [{ kind: 'split', id: 'offer', holdout: 20, variants: [{ name: 'A', weight: 40, steps: [] }, { name: 'B', weight: 40, steps: [] }] }],
};

/** `count` runs in `variant`, the first `converted` of them converting, the rest completing. */
async function runs(variant: string, count: number, converted: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const customerId = `${variant}-${i}`;
    const workflowId = `offer-test:${customerId}:1`;
    const at = new Date(T0 + i * 1000).toISOString();
    await store.tryEnrol({ journeyId: 'offer-test', customerId, version: 'v1', reEntry: { mode: 'never' }, at, workflowIdPrefix: `offer-test:${customerId}`, input: {} });
    const base = { workflowId, journeyId: 'offer-test', version: 'v1', customerId, at };
    await store.recordStep({ ...base, idempotencyKey: `${workflowId}/split`, stepId: 'offer', kind: 'branched', detail: { variant } });
    await store.recordStep({ ...base, idempotencyKey: `${workflowId}/end`, stepId: 'end', kind: i < converted ? 'converted' : 'completed' });
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-stats-'));
  store = await openProfileStore(undefined, dataDir);
  await store.deployJourneys([{ journeyId: 'offer-test', version: 'v1', plan }], new Date(T0).toISOString());
  await runs('A', 400, 40);
  await runs('B', 400, 56);
  await runs('holdout', 200, 18);
});

afterAll(async () => {
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('stats --json gives the conversion rate and each split with intervals, lift and a verdict', () => {
  const run = unbroken('stats', 'offer-test', '--json');
  expect(run.code).toBe(0);
  const stats = JSON.parse(run.stdout);
  expect(stats.entered).toBe(1000);
  expect(stats.conversion_rate).toBeCloseTo(114 / 1000, 12);
  expect(stats.splits).toHaveLength(1);
  const [offer] = stats.splits;
  expect(offer.step).toBe('offer');
  expect(offer.variants.map((v: { name: string; entered: number; converted: number }) => [v.name, v.entered, v.converted])).toEqual([
    ['A', 400, 40],
    ['B', 400, 56],
  ]);
  expect(offer.holdout).toMatchObject({ name: 'holdout', entered: 200, converted: 18, conversion_rate: 0.09 });
  const b = offer.variants[1];
  expect(b.conversion_rate).toBeCloseTo(0.14, 12);
  expect(b.interval[0]).toBeLessThan(0.14);
  expect(b.interval[1]).toBeGreaterThan(0.14);
  // B (14 %) against the holdout (9 %): 56 % more conversions, probably (~96 %) better.
  expect(offer.lift).toBeCloseTo(0.14 / 0.09 - 1, 12);
  expect(offer.verdict).toMatch(/^B converts better than holdout with 9\d % probability$/);
});

test('stats prints the conversion rate and a table per split', () => {
  const run = unbroken('stats', 'offer-test');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^offer-test: entered 1000, inside now 0, conversion 11\.4%$/m);
  expect(run.stdout).toMatch(/^split offer \(compared with holdout\): B converts better than holdout with 9\d % probability$/m);
  expect(run.stdout).toMatch(/^ {2}B +400 +56 +14\.0% +1\d\.\d%–1\d\.\d% +\+55\.6%$/m);
  expect(run.stdout).toMatch(/^ {2}holdout +200 +18 +9\.0% +5\.8%–13\.8%$/m);
});
