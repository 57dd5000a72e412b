/** `unbroken simulate` with a keyed journey: an event without the key enters nobody, and says why. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test('an entering event without the trigger key is not_entered, with the reason', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-sim-keys-'));
  try {
    const events = path.join(tmp, 'events.jsonl');
    fs.writeFileSync(events, '{"at":"+0s","type":"track","event":"cart_abandoned","properties":{"total":50}}\n');
    const args = ['simulate', 'abandoned-cart', '--profile', 'definitions/examples/ann.json', '--events', events, '--json'];
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'not_entered',
      reason: 'trigger.key {{ trigger.properties.cart_id }} of the "cart_abandoned" event is missing',
      timeline: [],
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
