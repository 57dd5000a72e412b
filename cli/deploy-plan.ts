/**
 * `unbroken deploy --dry-run`: what a deploy of the definitions folder would change, read from
 * the store and written nowhere. Each journey is new, changed, unchanged or removed against the
 * live version; a changed one names its steps added, removed and changed (compiled plans compared
 * by step id); and every version with customers inside says how many are at which step.
 */
import type { JourneyPlan, Step } from '../compiler/plan';
import { stepBranches } from '../compiler/plan';
import type { ActiveAtStep, LiveStore } from '../profiles/store';
import { compileForDeploy } from './live';

/** What a deploy does to one journey; `withdrawn` is one removed by an earlier deploy that still has customers inside. */
export type JourneyChangeKind = 'new' | 'changed' | 'unchanged' | 'removed' | 'withdrawn';

/**
 * Customers inside one version of a journey at one step. Where a run is comes from the latest
 * step it recorded: after a step done (sent, waited, …) it is at the next step of the plan; after
 * an `if`, `split` or `wait_for` branched, somewhere in a branch of it; after an event it heard,
 * still at that step.
 */
export interface CustomersAt {
  version: string;
  /** The step they are at (`at`), branched at (`in_branch`) or finished last (`ending`); absent when the plan is unknown. */
  step?: string;
  where: 'at' | 'in_branch' | 'ending';
  /** The step's kind in that version's plan, when known. */
  kind?: string;
  customers: number;
}

/** One journey in the plan. */
export interface JourneyChange {
  journey: string;
  change: JourneyChangeKind;
  /** The version in the definitions folder (absent when removed). */
  version?: string;
  /** The live version (absent when new or withdrawn). */
  deployed?: string;
  /** For a changed journey: step ids, in plan order. */
  steps?: { added: string[]; removed: string[]; changed: string[] };
  /** For a changed journey: the journey's own settings that differ (trigger, goal, …). */
  settings?: string[];
  /** Customers inside any version of the journey; they finish on the version they entered with. */
  inside: CustomersAt[];
}

export interface DeployPlan {
  definitions: string;
  journeys: JourneyChange[];
  counts: Record<JourneyChangeKind, number>;
}

/** Plan settings compared besides the steps, by their YAML names. */
const SETTINGS: readonly [keyof JourneyPlan, string][] = [
  ['name', 'name'],
  ['description', 'description'],
  ['trigger', 'trigger'],
  ['reEntry', 're_entry'],
  ['goal', 'goal'],
  ['exitWhen', 'exit_when'],
  ['sendWindow', 'send_window'],
  ['frequencyCap', 'frequency_cap'],
  ['surveyReminders', 'survey_reminders'],
  ['activities', 'activity retry policies'],
];

/** Compiles the folder (invalid definitions throw as deploy does) and compares it with the store, writing nothing. */
export async function deployPlan(store: LiveStore, definitionsDir: string): Promise<DeployPlan> {
  const local = new Map(compileForDeploy(definitionsDir).map((p) => [p.journey, p]));
  const live = new Map((await store.deployedJourneys()).map((d) => [d.journeyId, d]));
  const inside = await store.activeAtSteps();
  const ids = [...new Set([...local.keys(), ...live.keys(), ...inside.map((a) => a.journeyId)])].sort();
  const journeys: JourneyChange[] = [];
  for (const journey of ids) {
    const mine = local.get(journey);
    const theirs = live.get(journey);
    const livePlan = theirs?.plan as JourneyPlan | undefined;
    const change: JourneyChange = {
      journey,
      change: mine === undefined ? (theirs === undefined ? 'withdrawn' : 'removed') : theirs === undefined ? 'new' : mine.version === theirs.version ? 'unchanged' : 'changed',
      ...(mine ? { version: mine.version } : {}),
      ...(theirs ? { deployed: theirs.version } : {}),
      inside: await customersInside(store, journey, inside, livePlan),
    };
    if (change.change === 'changed' && mine && livePlan) {
      change.steps = diffSteps(livePlan, mine);
      change.settings = SETTINGS.filter(([key]) => canonical(livePlan[key]) !== canonical(mine[key])).map(([, name]) => name);
    }
    journeys.push(change);
  }
  const counts = { new: 0, changed: 0, unchanged: 0, removed: 0, withdrawn: 0 };
  for (const j of journeys) counts[j.change] += 1;
  return { definitions: definitionsDir, journeys, counts };
}

async function customersInside(store: LiveStore, journey: string, inside: ActiveAtStep[], livePlan: JourneyPlan | undefined): Promise<CustomersAt[]> {
  const rows = inside.filter((a) => a.journeyId === journey);
  const plans = new Map<string, JourneyPlan | undefined>();
  if (livePlan) plans.set(livePlan.version, livePlan);
  const grouped = new Map<string, CustomersAt>();
  for (const row of rows) {
    if (!plans.has(row.version)) plans.set(row.version, (await store.journeyVersion(journey, row.version))?.plan as JourneyPlan | undefined);
    const at = { version: row.version, ...positionOf(plans.get(row.version), row) };
    // Runs whose latest records differ may stand at the same step: one line for them.
    const key = `${at.version}\u0000${at.where}\u0000${at.step ?? ''}`;
    const seen = grouped.get(key);
    if (seen) seen.customers += row.customers;
    else grouped.set(key, { ...at, customers: row.customers });
  }
  const out = [...grouped.values()];
  // Most customers first: where most people are is what a reviewer looks at.
  return out.sort((a, b) => b.customers - a.customers || a.version.localeCompare(b.version) || (a.step ?? '').localeCompare(b.step ?? '') || a.where.localeCompare(b.where));
}

/** Step kinds recorded when a step is done; the run then moves to the next step. */
const DONE = new Set(['entered', 'sent', 'skipped', 'waited', 'profile_updated']);

function positionOf(plan: JourneyPlan | undefined, row: ActiveAtStep): Pick<CustomersAt, 'step' | 'where' | 'kind'> {
  if (plan === undefined) return { ...(row.stepId !== undefined ? { step: row.stepId } : {}), where: 'at' };
  const steps = stepsById(plan);
  const at = (step: Step | undefined): Pick<CustomersAt, 'step' | 'where' | 'kind'> => (step ? { step: step.id, where: 'at', kind: step.kind } : { where: 'at' });
  if (row.stepId === undefined || row.lastKind === undefined || (row.lastKind === 'entered' && !steps.has(row.stepId))) return at(plan.steps[0]);
  const last = steps.get(row.stepId);
  if (row.lastKind === 'branched') return { step: row.stepId, where: 'in_branch', ...(last ? { kind: last.kind } : {}) };
  if (!DONE.has(row.lastKind)) return last ? at(last) : { step: row.stepId, where: 'at' };
  const next = nextSteps(plan).get(row.stepId);
  return next ? at(next) : { step: row.stepId, where: 'ending', ...(last ? { kind: last.kind } : {}) };
}

/** For every step, the step that runs after it is done (leaving a branch continues after the branching step). */
function nextSteps(plan: JourneyPlan): Map<string, Step | undefined> {
  const out = new Map<string, Step | undefined>();
  const walk = (steps: Step[], after: Step | undefined) => {
    steps.forEach((step, i) => {
      const next = steps[i + 1] ?? after;
      out.set(step.id, next);
      for (const branch of stepBranches(step)) walk(branch, next);
    });
  };
  walk(plan.steps, undefined);
  return out;
}

/** Every step of a plan, nested ones included, by id, in plan order. */
function stepsById(plan: JourneyPlan): Map<string, Step> {
  const out = new Map<string, Step>();
  const walk = (steps: Step[]) => {
    for (const step of steps) {
      out.set(step.id, step);
      stepBranches(step).forEach(walk);
    }
  };
  walk(plan.steps);
  return out;
}

/** A step without its nested steps (those are compared on their own), with the templates it sends. */
function ownContent(step: Step, plan: JourneyPlan): string {
  const own: Record<string, unknown> = { ...step };
  switch (step.kind) {
    case 'if':
      delete own.then;
      delete own.else;
      break;
    case 'wait_for':
      delete own.onEvent;
      delete own.onTimeout;
      break;
    case 'split':
      own.variants = step.variants.map(({ name, weight }) => ({ name, weight }));
      break;
    case 'send': {
      // A changed template changes what the step sends, though the step reads the same.
      const sent = plan.templates[step.template];
      if (sent) {
        const { file: _file, ...template } = sent;
        own.template = template;
      }
      break;
    }
  }
  return canonical(own);
}

/** Steps added, removed and changed from `before` to `after`, by step id. */
export function diffSteps(before: JourneyPlan, after: JourneyPlan): { added: string[]; removed: string[]; changed: string[] } {
  const old = stepsById(before);
  const now = stepsById(after);
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.entries()].filter(([id, step]) => old.has(id) && ownContent(old.get(id)!, before) !== ownContent(step, after)).map(([id]) => id);
  return { added, removed, changed };
}

/** JSON with keys sorted, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const WAITING = new Set(['wait', 'wait_until', 'wait_until_date', 'wait_for']);

function insideLine(c: CustomersAt): string {
  const one = c.customers === 1;
  const who = `${c.customers} customer${one ? '' : 's'}`;
  let where: string;
  if (c.step === undefined) where = one ? 'is inside' : 'are inside';
  else if (c.where === 'in_branch') where = `${one ? 'is' : 'are'} in a branch of ${c.step}`;
  else if (c.where === 'ending') where = `${one ? 'is' : 'are'} finishing after ${c.step}`;
  else if (c.kind && WAITING.has(c.kind)) where = `${one ? 'waits' : 'wait'} at ${c.step}`;
  else where = `${one ? 'is' : 'are'} at ${c.step}`;
  return `${who} ${where} on version ${c.version}; ${one ? 'it finishes' : 'they finish'} on that version`;
}

/** The plan as people read it; says that nothing was changed. */
export function formatDeployPlan(plan: DeployPlan): string {
  const lines = [`deploy plan for ${plan.definitions} (dry run: nothing was changed)`];
  for (const j of plan.journeys) {
    const detail: string[] = [];
    let head: string;
    switch (j.change) {
      case 'new':
        head = `${j.journey} ${j.version}`;
        break;
      case 'unchanged':
        head = `${j.journey} ${j.version}`;
        break;
      case 'changed':
        head = `${j.journey} ${j.deployed} -> ${j.version}`;
        if (j.steps?.added.length) detail.push(`steps added: ${j.steps.added.join(', ')}`);
        if (j.steps?.removed.length) detail.push(`steps removed: ${j.steps.removed.join(', ')}`);
        if (j.steps?.changed.length) detail.push(`steps changed: ${j.steps.changed.join(', ')}`);
        if (j.settings?.length) detail.push(`also changed: ${j.settings.join(', ')}`);
        if (!detail.length) detail.push('no step or setting differs (the compiler changed the plan form)');
        break;
      case 'removed':
        head = `${j.journey} ${j.deployed}: its file is gone; deploy withdraws it: new entries stop, customers inside finish on their version`;
        break;
      case 'withdrawn':
        head = `${j.journey}: withdrawn by an earlier deploy; customers inside finish on their version`;
        break;
    }
    lines.push(`  ${j.change.padEnd(9)} ${head}`);
    for (const d of detail) lines.push(`              ${d}`);
    for (const c of j.inside) lines.push(`              ${insideLine(c)}`);
  }
  const c = plan.counts;
  const summary = [`${c.new} new`, `${c.changed} changed`, `${c.unchanged} unchanged`, `${c.removed} removed`, ...(c.withdrawn ? [`${c.withdrawn} withdrawn earlier`] : [])];
  lines.push(summary.join(', '));
  return lines.join('\n');
}
