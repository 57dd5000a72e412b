/**
 * `unbroken deploy --dry-run` and what `deploy` does with a journey whose file is gone, as an
 * operator runs them, on SQLite and (with TEST_DATABASE_URL) PostgreSQL in a schema of its own.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testDatabases, type TestDatabase } from '../support/databases';
import type { DeployPlan } from '../../cli/deploy-plan';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore } from '../../profiles/store';

const root = path.resolve(__dirname, '..', '..');
// The shipped example journeys the tests deploy; the plan changes one and removes one of them.
const EXAMPLES = fs.readdirSync(path.join(root, 'definitions', 'journeys')).filter((f) => f.endsWith('.yaml')).length;

const stores = testDatabases('deploy-plan');

/** A copy of the example definitions to change, as a marketer's branch would. */
function copyDefinitions(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-deploy-plan-defs-'));
  fs.cpSync(path.join(root, 'definitions'), dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`nothing to change in ${file}`);
  fs.writeFileSync(file, changed);
}

describe.each(stores)('unbroken deploy --dry-run on %s', (_name, create) => {
  let db: TestDatabase;
  let defs: string;
  const unbroken = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, UNBROKEN_DATA_DIR: path.join(os.tmpdir(), 'unbroken-deploy-plan-unused') },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const withStore = async <T>(fn: (store: LiveStore) => Promise<T>): Promise<T> => {
    const store = await openProfileStore(db.url, os.tmpdir(), { migrate: false });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  /** Everything a deploy could touch: live journeys, every stored version, the customers inside. */
  const snapshot = () =>
    withStore(async (store) => {
      const live = await store.deployedJourneys();
      const inside = await store.activeAtSteps();
      const versions = await Promise.all(inside.map((a) => store.journeyVersion(a.journeyId, a.version)));
      const file = db.file ? createHash('sha256').update(fs.readFileSync(db.file)).digest('hex') : undefined;
      return { live, inside, versions, file };
    });
  let versions: Record<string, string>;

  beforeAll(async () => {
    db = await create();
    defs = copyDefinitions();
    const first = unbroken('deploy', '--definitions', defs, '--json');
    expect(first.stderr).toBe('');
    versions = Object.fromEntries((JSON.parse(first.stdout) as { published: { journeyId: string; version: string }[] }).published.map((p) => [p.journeyId, p.version]));
    // Customers inside, by the latest step their runs recorded: three got the first reminder (so wait
    // for the cart view), one entered a moment ago (waits the first hour), one heard an event while
    // waiting for the view (more below); in the whitepaper journey one got the nudge, one recorded nothing yet.
    await withStore(async (store) => {
      const enter = async (journeyId: string, customer: string, step?: string, kind = 'sent') => {
        const decision = await store.tryEnrol({
          journeyId,
          customerId: customer,
          version: versions[journeyId],
          reEntry: { mode: 'always' },
          at: new Date().toISOString(),
          workflowIdPrefix: `${journeyId}:${customer}`,
          input: {},
        });
        if (!decision.enrolled) throw new Error(`not enrolled: ${decision.reason}`);
        if (step) {
          await store.recordStep({
            idempotencyKey: `${customer}-${step}`,
            workflowId: decision.enrolment.workflowId,
            journeyId,
            version: versions[journeyId],
            customerId: customer,
            stepId: step,
            kind,
            at: new Date().toISOString(),
          });
        }
      };
      for (const c of ['c1', 'c2', 'c3']) await enter('abandoned-cart', c, 'first-reminder');
      await enter('abandoned-cart', 'c4', 'entry', 'entered');
      await enter('abandoned-cart', 'c6', 'wait-for-view', 'event');
      // One timed out and was branched; one got the last chance deep in the branches, so is at the step after them.
      await enter('abandoned-cart', 'c7', 'wait-for-view', 'branched');
      await enter('abandoned-cart', 'c8', 'last-chance');
      await enter('whitepaper-nudge', 'c1', 'demo-nudge');
      await enter('whitepaper-nudge', 'c5');
    });
    // The branch: a new last step, a removed step, a changed template, a changed goal, one journey file removed.
    const cart = path.join(defs, 'journeys', 'abandoned-cart.yaml');
    edit(cart, /  - id: remember-nudge\n    update_profile:\n(      .*\n)+/, '  - id: thank-you-tag\n    update_profile:\n      add_tags: [cart-abandoner]\n');
    edit(cart, 'event: order_completed', 'event: order_placed');
    edit(path.join(defs, 'templates', 'cart-last-chance.yaml'), /subject: .*/, 'subject: "Last call: your cart expires tonight"');
    fs.rmSync(path.join(defs, 'journeys', 'whitepaper-nudge.yaml'));
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    if (defs) fs.rmSync(defs, { recursive: true, force: true });
  });

  it('lists each journey as changed, unchanged or removed, with the steps and the customers inside, and writes nothing', async () => {
    const before = await snapshot();
    const r = unbroken('deploy', '--dry-run', '--definitions', defs);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`deploy plan for ${defs} (dry run: nothing was changed)`);
    expect(r.stdout).toMatch(new RegExp(`^  changed   abandoned-cart ${versions['abandoned-cart']} -> \\w+$`, 'm'));
    expect(lines).toEqual(
      expect.arrayContaining([
        '              steps added: thank-you-tag',
        '              steps removed: remember-nudge',
        '              steps changed: last-chance',
        '              also changed: goal',
        `              4 customers wait at wait-for-view on version ${versions['abandoned-cart']}; they finish on that version`,
        `              1 customer waits at wait-1 on version ${versions['abandoned-cart']}; it finishes on that version`,
        `              1 customer is in a branch of wait-for-view on version ${versions['abandoned-cart']}; it finishes on that version`,
        `              1 customer is at remember-nudge on version ${versions['abandoned-cart']}; it finishes on that version`,
        `  unchanged welcome-series ${versions['welcome-series']}`,
        `  removed   whitepaper-nudge ${versions['whitepaper-nudge']}: its file is gone; deploy withdraws it: new entries stop, customers inside finish on their version`,
        `              1 customer is finishing after demo-nudge on version ${versions['whitepaper-nudge']}; it finishes on that version`,
        `              1 customer waits at wait-1 on version ${versions['whitepaper-nudge']}; it finishes on that version`,
        `0 new, 1 changed, ${EXAMPLES - 2} unchanged, 1 removed`,
      ]),
    );
    expect(await snapshot()).toEqual(before);
  });

  it('says the same in --json', async () => {
    const r = unbroken('deploy', '--dry-run', '--json', '--definitions', defs);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as DeployPlan;
    expect(plan.counts).toEqual({ new: 0, changed: 1, unchanged: EXAMPLES - 2, removed: 1, withdrawn: 0 });
    const cart = plan.journeys.find((j) => j.journey === 'abandoned-cart');
    expect(cart).toMatchObject({
      change: 'changed',
      deployed: versions['abandoned-cart'],
      steps: { added: ['thank-you-tag'], removed: ['remember-nudge'], changed: ['last-chance'] },
      settings: ['goal'],
      inside: [
        { version: versions['abandoned-cart'], step: 'wait-for-view', where: 'at', kind: 'wait_for', customers: 4 },
        { version: versions['abandoned-cart'], step: 'remember-nudge', where: 'at', kind: 'update_profile', customers: 1 },
        { version: versions['abandoned-cart'], step: 'wait-1', where: 'at', kind: 'wait', customers: 1 },
        { version: versions['abandoned-cart'], step: 'wait-for-view', where: 'in_branch', kind: 'wait_for', customers: 1 },
      ],
    });
    expect(plan.journeys.find((j) => j.journey === 'whitepaper-nudge')).toMatchObject({ change: 'removed', deployed: versions['whitepaper-nudge'] });
    expect(plan.journeys.find((j) => j.journey === 'welcome-series')).toEqual({ journey: 'welcome-series', change: 'unchanged', version: versions['welcome-series'], deployed: versions['welcome-series'], inside: [] });
  });

  it('a new journey file shows as new', async () => {
    const extra = path.join(defs, 'journeys', 'cart-copy.yaml');
    fs.writeFileSync(extra, fs.readFileSync(path.join(defs, 'journeys', 'abandoned-cart.yaml'), 'utf8').replace('journey: abandoned-cart', 'journey: cart-copy'));
    try {
      const plan = JSON.parse(unbroken('deploy', '--dry-run', '--json', '--definitions', defs).stdout) as DeployPlan;
      expect(plan.journeys.find((j) => j.journey === 'cart-copy')).toMatchObject({ change: 'new', inside: [] });
      expect(plan.counts.new).toBe(1);
    } finally {
      fs.rmSync(extra);
    }
  });

  it('fails like deploy on invalid definitions, naming the file and line, and writes nothing', async () => {
    const before = await snapshot();
    const broken = path.join(defs, 'journeys', 'welcome-series.yaml');
    const original = fs.readFileSync(broken, 'utf8');
    fs.writeFileSync(broken, original.replace(/send: welcome\b/, 'send: welcom'));
    try {
      const r = unbroken('deploy', '--dry-run', '--definitions', defs);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/welcome-series\.yaml:\d+:\d+ .*unknown template "welcom"/);
      expect(r.stderr).toContain('nothing was deployed');
    } finally {
      fs.writeFileSync(broken, original);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('deploy then withdraws the removed journey: nobody new enters, the customers inside keep their version', async () => {
    const r = unbroken('deploy', '--definitions', defs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`withdrawn whitepaper-nudge ${versions['whitepaper-nudge']}: its file is gone; nobody new enters, customers inside finish on their version`);
    await withStore(async (store) => {
      // The router enters customers only into deployed journeys.
      expect((await store.deployedJourneys()).map((j) => j.journeyId)).not.toContain('whitepaper-nudge');
      // The runs inside still find their plan (the router signals them with it); it reads as paused.
      const kept = await store.journeyVersion('whitepaper-nudge', versions['whitepaper-nudge']);
      expect(kept).toMatchObject({ version: versions['whitepaper-nudge'], paused: true, plan: { journey: 'whitepaper-nudge' } });
      expect(await store.activeAtSteps('whitepaper-nudge')).toHaveLength(2);
    });
    const after = JSON.parse(unbroken('deploy', '--dry-run', '--json', '--definitions', defs).stdout) as DeployPlan;
    expect(after.journeys.find((j) => j.journey === 'whitepaper-nudge')).toMatchObject({ change: 'withdrawn', inside: [{ customers: 1 }, { customers: 1 }] });
    expect(after.counts).toMatchObject({ changed: 0, removed: 0, withdrawn: 1 });
  });

  it('refuses a folder without journeys instead of withdrawing every live journey', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-deploy-plan-empty-'));
    fs.mkdirSync(path.join(empty, 'journeys'));
    fs.mkdirSync(path.join(empty, 'templates'));
    try {
      const r = unbroken('deploy', '--definitions', empty);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('holds no journeys; deploying it would withdraw every live journey');
      await withStore(async (store) => expect((await store.deployedJourneys()).length).toBe(EXAMPLES - 1));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
