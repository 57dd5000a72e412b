/**
 * A journey plan as a drawing: boxes and labelled arrows, independent of the output format.
 * Mermaid text (cli/graph/mermaid.ts) and the SVG picture (cli/graph/svg.ts) both render this,
 * so the two never disagree on what a journey looks like.
 */
import { formatDuration } from '../../compiler/durations';
import { isDateTrigger, isEventTrigger, isScheduleTrigger, type Condition, type EventMatcher, type JourneyPlan, type Step, type TimeWindow, type TriggerPlan } from '../../compiler/plan';
import { LEFT_AUDIENCE_EVENT } from '../../core/audiences';

/** How a box is drawn: the trigger, a plain step, a decision (if, split, wait_for), or a way out. */
export type NodeShape = 'start' | 'step' | 'decision' | 'end';

export interface GraphNode {
  /** Safe, generated key (`n0`, `n1`, …): step ids come from YAML and may hold anything. */
  key: string;
  /** The step id (or `trigger`, `completed`, …) shown as the box's first line. */
  title: string;
  /** What the step does, in a few words. */
  text: string;
  shape: NodeShape;
  /** The plan's step id, for steps only. */
  stepId?: string;
  /** Extra lines drawn below the text, set apart (the console's counts); the CLI draws none. */
  notes?: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  /** Branch label (`then`, `on_timeout: after 23h`, `A · 50%`); absent on plain sequence arrows. */
  label?: string;
  /** Dotted: a way out that can happen at any step (goal, exit_when). */
  dotted?: boolean;
}

export interface JourneyGraph {
  journey: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Longest condition text shown in a label before it is cut with an ellipsis. */
const MAX_CONDITION = 80;

const OP_TEXT: Record<string, string> = {
  eq: '=',
  ne: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  in: 'in',
  nin: 'not in',
  contains: 'contains',
  before: 'before',
  after: 'after',
  starts_with: 'starts with',
  ends_with: 'ends with',
  matches: 'matches',
};

function valueText(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'relativeMs' in value && typeof value.relativeMs === 'number') {
    const ms = value.relativeMs;
    return ms < 0 ? `${formatDuration(-ms)} ago` : `in ${formatDuration(ms)}`;
  }
  // Typographic quotes: plain ones would need escaping in every Mermaid label.
  return typeof value === 'string' ? `“${value}”` : JSON.stringify(value) ?? String(value);
}

/** A condition in one line: `profile.vip = true and trigger.properties.total ≥ 20`. */
export function conditionText(c: Condition): string {
  if ('all' in c) return c.all.map((x) => ('any' in x && x.any.length > 1 ? `(${conditionText(x)})` : conditionText(x))).join(' and ');
  if ('any' in c) return c.any.map((x) => ('all' in x && x.all.length > 1 ? `(${conditionText(x)})` : conditionText(x))).join(' or ');
  if ('not' in c) return `not (${conditionText(c.not)})`;
  if (c.op === 'exists') return `${c.path} ${c.value === false ? 'is missing' : 'exists'}`;
  const text = `${c.path} ${OP_TEXT[c.op] ?? c.op} ${valueText(c.value)}`;
  return c.ignoreCase ? `${text} (any case)` : text;
}

function short(text: string, max = MAX_CONDITION): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function matcherText(m: EventMatcher): string {
  const what = eventText(m.event);
  return m.where ? `${what} where ${short(conditionText(m.where))}` : what;
}

/** An event name as people wrote it: the name `left_audience: true` compiles to reads as that. */
function eventText(event: string): string {
  return event === LEFT_AUDIENCE_EVENT ? 'left_audience' : event;
}

function triggerText(trigger: TriggerPlan): string {
  if (isEventTrigger(trigger)) return matcherText(trigger);
  const where = trigger.where ? ` where ${short(conditionText(trigger.where))}` : '';
  if (isDateTrigger(trigger)) {
    const offset = trigger.offsetDays === 0 ? '' : ` ${Math.abs(trigger.offsetDays)}d ${trigger.offsetDays < 0 ? 'before' : 'after'}`;
    return `${trigger.every === 'year' ? 'every year' : 'once'}${offset} on ${trigger.date} at ${trigger.at}${where}`;
  }
  if (isScheduleTrigger(trigger)) return `cron ${trigger.schedule.cron} (${trigger.schedule.timezone}): audience ${trigger.audience}${where}`;
  return `in audience ${trigger.audience}${where}`;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function windowText(w: TimeWindow): string {
  const days = w.days.length === 7 ? 'any day' : w.days.map((d) => DAY_NAMES[d]).join(' ');
  const hours = w.endMinute === w.startMinute + 1 ? `at ${clock(w.startMinute)}` : `${clock(w.startMinute)}–${clock(w.endMinute)}`;
  return `${days} ${hours} (${w.timezone === 'customer' ? "customer's time" : w.timezone})`;
}

function updateText(step: Extract<Step, { kind: 'update_profile' }>): string {
  const parts: string[] = [];
  if (step.set) parts.push(`set ${Object.keys(step.set).join(', ')}`);
  if (step.unset?.length) parts.push(`unset ${step.unset.join(', ')}`);
  for (const [k, n] of Object.entries(step.increment ?? {})) parts.push(`${n < 0 ? '' : '+'}${n} ${k}`);
  if (step.addTags?.length) parts.push(`tag ${step.addTags.join(', ')}`);
  if (step.removeTags?.length) parts.push(`untag ${step.removeTags.join(', ')}`);
  return `update profile: ${short(parts.join(' · '))}`;
}

/** The few words a step's box says about it. */
export function stepText(step: Step): string {
  const what = ((): string => {
    switch (step.kind) {
      case 'wait':
        return `wait ${formatDuration(step.ms)}`;
      case 'wait_until':
        return `wait until ${windowText(step.window)}`;
      case 'wait_until_date': {
        const offset = step.offsetMs ? ` ${step.offsetMs < 0 ? '-' : '+'} ${formatDuration(Math.abs(step.offsetMs))}` : '';
        const at = step.minuteOfDay === undefined ? '' : ` at ${clock(step.minuteOfDay)}`;
        return `wait until ${step.date}${offset}${at}`;
      }
      case 'wait_for':
        return `wait for ${matcherText(step)}, up to ${formatDuration(step.withinMs)}${step.sinceEntry ? ' (since entry)' : ''}`;
      case 'send':
        return `send ${step.template}${step.channels ? ` via ${step.channels.join(', ')}` : ''}`;
      case 'update_profile':
        return updateText(step);
      case 'if':
        return `if ${short(conditionText(step.condition))}`;
      case 'split':
        return `split ${step.variants.length} ways${step.holdout ? `, ${step.holdout}% held out` : ''}`;
      case 'do':
        return `do ${step.activity}`;
      case 'exit':
        return `exit: ${step.reason}`;
    }
  })();
  return step.name ? `${step.name} — ${what}` : what;
}

interface Pending {
  from: string;
  label?: string;
}

/** Builds the drawing of a plan: trigger, every step, the branches between them, and the ways out. */
export function journeyGraph(plan: JourneyPlan): JourneyGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const add = (node: Omit<GraphNode, 'key'>): string => {
    const key = `n${nodes.length}`;
    nodes.push({ key, ...node });
    return key;
  };
  const connect = (pending: Pending[], to: string) => {
    for (const p of pending) edges.push({ from: p.from, to, ...(p.label === undefined ? {} : { label: p.label }) });
  };

  const triggerLines = [`when ${triggerText(plan.trigger)}`];
  if (plan.trigger.key) triggerLines.push(`one run per ${plan.trigger.key.replace(/^trigger\./, '')}`);
  if (plan.reEntry.mode === 'always') triggerLines.push('re-entry any time');
  else if (plan.reEntry.mode === 'cooldown') triggerLines.push(`re-entry after ${formatDuration(plan.reEntry.ms)}`);
  const trigger = add({ title: 'trigger', text: triggerLines.join(' · '), shape: 'start' });

  // Each step list returns the arrows still open at its end; an `exit` step closes its path.
  const walk = (steps: Step[], pending: Pending[]): Pending[] => {
    for (const step of steps) {
      const decision = step.kind === 'if' || step.kind === 'split' || step.kind === 'wait_for';
      const key = add({ title: step.id, text: stepText(step), shape: step.kind === 'exit' ? 'end' : decision ? 'decision' : 'step', stepId: step.id });
      connect(pending, key);
      switch (step.kind) {
        case 'if':
          pending = [...walk(step.then, [{ from: key, label: 'then' }]), ...walk(step.else, [{ from: key, label: 'else' }])];
          break;
        case 'wait_for':
          pending = [
            ...walk(step.onEvent, [{ from: key, label: `on_event: ${step.event}` }]),
            ...walk(step.onTimeout, [{ from: key, label: `on_timeout: after ${formatDuration(step.withinMs)}` }]),
          ];
          break;
        case 'split':
          pending = [
            ...step.variants.flatMap((v) => walk(v.steps, [{ from: key, label: `${v.name} · ${v.weight}%` }])),
            ...(step.holdout > 0 ? [{ from: key, label: `holdout · ${step.holdout}%` }] : []),
          ];
          break;
        case 'exit':
          pending = [];
          break;
        default:
          pending = [{ from: key }];
      }
    }
    return pending;
  };
  const open = walk(plan.steps, [{ from: trigger }]);
  if (open.length) connect(open, add({ title: 'completed', text: 'end of the journey', shape: 'end' }));

  if (plan.goal) {
    const goal = add({ title: 'converted', text: `goal reached: ${plan.goal.event}`, shape: 'end' });
    edges.push({ from: trigger, to: goal, label: `any step: ${matcherText(plan.goal)}`, dotted: true });
  }
  if (plan.exitWhen.length) {
    const exited = add({ title: 'exited', text: `left on ${plan.exitWhen.map((m) => eventText(m.event)).join(' or ')}`, shape: 'end' });
    for (const m of plan.exitWhen) edges.push({ from: trigger, to: exited, label: `any step: ${matcherText(m)}`, dotted: true });
  }
  return { journey: plan.journey, nodes, edges };
}
