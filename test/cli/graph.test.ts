/**
 * `unbroken graph` as Mermaid text: the structure a reviewer relies on (every step by id, every
 * branch labelled, the ways out), labels no step name can break out of, and the command's exits.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import { isDateTrigger, isScheduleTrigger, type JourneyPlan } from '../../compiler/plan';
import { LEFT_AUDIENCE_EVENT } from '../../core/audiences';
import { toMermaid } from '../../cli/graph/mermaid';
import { conditionText, journeyGraph } from '../../cli/graph/model';
import { allSteps, HOSTILE_IDS, HOSTILE_TEXT, hostilePlan, widePlan } from './graph.fixtures';

const root = path.resolve(__dirname, '..', '..');
// Each test starts the command a few times (about two seconds each, more on a busy machine).
jest.setTimeout(180_000);

function unbroken(args: string[], cwd = root): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Parsed {
  nodes: Map<string, { shape: string; lines: string[] }>;
  edges: { from: string; to: string; dotted: boolean; label?: string }[];
}

/** Mermaid's `#code;` entities and `<br>` back to text: what the rendered label says. */
const decode = (label: string) => label.split('<br>').map((l) => l.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code))));

/**
 * Reads the flowchart the way Mermaid's lexer does: a quoted label runs to the next `"`. Every
 * line must be one of the forms the renderer writes; anything else (a label that broke out) fails.
 */
function parse(text: string): Parsed {
  const lines = text.split('\n');
  expect(lines[0]).toBe('flowchart TD');
  expect(lines.at(-1)).toBe('');
  const nodes: Parsed['nodes'] = new Map();
  const edges: Parsed['edges'] = [];
  for (const line of lines.slice(1, -1)) {
    const node = /^ {2}(n\d+)(\(\[|\[|\{\{)"([^"]*)"(\]\)|\]|\}\})$/.exec(line);
    const edge = /^ {2}(n\d+) (-->|-\.->)(?:\|"([^"]*)"\|)? (n\d+)$/.exec(line);
    if (node) {
      expect({ line, closed: { '([': '])', '[': ']', '{{': '}}' }[node[2]] }).toEqual({ line, closed: node[4] });
      nodes.set(node[1], { shape: node[2], lines: decode(node[3]) });
    } else if (edge) {
      edges.push({ from: edge[1], to: edge[4], dotted: edge[2] === '-.->', ...(edge[3] === undefined ? {} : { label: decode(edge[3]).join(' ') }) });
    } else {
      expect(line).toMatch(/^ {2}(classDef \w+Node [\w:#,]+|class (n\d+,)*n\d+ \w+Node)$/);
    }
  }
  // Inside labels: no markup but line breaks, no stray entity starts, no Markdown backticks.
  for (const raw of text.matchAll(/"([^"]*)"/g)) {
    expect(raw[1].replace(/<br>/g, '')).not.toMatch(/[<>&`]|#(?!\d+;)/);
  }
  for (const e of edges) expect([nodes.has(e.from), nodes.has(e.to)]).toEqual([true, true]);
  return { nodes, edges };
}

/** Checks that the drawing holds every step of the plan by id, and every branch with its label. */
function checkStructure(plan: JourneyPlan, parsed: Parsed): void {
  const byTitle = new Map([...parsed.nodes].map(([key, n]) => [n.lines[0], key]));
  const trigger = byTitle.get('trigger');
  expect(trigger).toBeDefined();
  const t = plan.trigger;
  const named = isDateTrigger(t) ? `on ${t.date} at ${t.at}` : isScheduleTrigger(t) ? `cron ${t.schedule.cron}` : (t.event ?? `in audience ${t.audience}`);
  expect(parsed.nodes.get(trigger as string)?.lines.join(' ')).toContain(named);
  const out = (key: string) => parsed.edges.filter((e) => e.from === key && !e.dotted);
  for (const step of allSteps(plan.steps)) {
    const key = byTitle.get(step.id);
    expect({ step: step.id, drawn: key !== undefined }).toEqual({ step: step.id, drawn: true });
    const labels = out(key as string).map((e) => e.label);
    switch (step.kind) {
      case 'if':
        expect(labels.sort()).toEqual(['else', 'then']);
        expect(parsed.nodes.get(key as string)?.lines[1]).toMatch(/^if /);
        break;
      case 'wait_for':
        expect(labels.sort()).toEqual([`on_event: ${step.event}`, expect.stringMatching(/^on_timeout: after \d/)]);
        break;
      case 'split':
        expect(labels.sort()).toEqual([...step.variants.map((v) => `${v.name} · ${v.weight}%`), ...(step.holdout ? [`holdout · ${step.holdout}%`] : [])].sort());
        break;
      case 'exit':
        expect(labels).toEqual([]);
        break;
      default:
        expect(labels).toEqual([undefined]);
    }
  }
  const dotted = parsed.edges.filter((e) => e.dotted);
  expect(dotted.every((e) => e.from === trigger)).toBe(true);
  // left_audience is drawn as written, not as the event name it is compiled to.
  const ways = [...(plan.goal ? [plan.goal] : []), ...plan.exitWhen].map((m) => (m.event === LEFT_AUDIENCE_EVENT ? 'left_audience' : m.event));
  expect(dotted.map((e) => (e.label ?? '').replace(/^any step: (\S+).*$/, '$1'))).toEqual(ways);
  if (plan.goal) expect(parsed.nodes.get(dotted[0].to)?.lines[0]).toBe('converted');
}

const compiled = compileDefinitions(path.join(root, 'definitions'), { ...activityCatalog, cwd: root });

describe('unbroken graph (Mermaid)', () => {
  test.each([...compiled.plans.keys()].sort())('%s: every step by id, every branch labelled, goal and exit events as dotted ways out', (journey) => {
    const r = unbroken(['graph', journey]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    checkStructure(compiled.plans.get(journey) as JourneyPlan, parse(r.stdout));
  });

  test('a plan with every step kind and hostile ids and names stays inside its labels and says them back', () => {
    const plan = hostilePlan();
    const text = toMermaid(journeyGraph(plan));
    const parsed = parse(text);
    checkStructure(plan, parsed);
    const said = [...parsed.nodes.values()].map((n) => n.lines.join(' ')).join(' ');
    for (const id of HOSTILE_IDS) expect(said).toContain(id);
    expect(said).toContain('Say "hi" <b>now</b> & then');
    expect(said).toContain('<script>alert(1)</script>');
    expect(said).toContain('Ελληνικά 日本語のテキスト 🎉 עברית');
    expect(said).toContain('#quot; #35; `code` {{ braces }}');
    expect(said).toContain('x]--> n0 %% comment | pipe');
    // A newline in a name never ends the line of Mermaid it is in.
    expect(text.split('\n')).toHaveLength(1 + parsed.nodes.size + parsed.edges.length + 3 + 3 + 1);
    // The three kinds of shape: the trigger, decisions, and ways out.
    expect(parsed.nodes.get('n0')?.shape).toBe('([');
    expect([...parsed.nodes.values()].filter((n) => n.shape === '{{').map((n) => n.lines[0])).toEqual([HOSTILE_IDS[1], HOSTILE_IDS[3], HOSTILE_IDS[4]]);
    expect(HOSTILE_TEXT.length).toBeGreaterThan(5);
  });

  test('a condition reads as words: and/or/not, comparisons, relative dates, case-insensitive matches', () => {
    const plan = hostilePlan();
    const said = [...parse(toMermaid(journeyGraph(plan))).nodes.values()].map((n) => n.lines.join(' ')).join(' ');
    // Cut at 80 characters, so a box stays a box.
    expect(said).toContain('if profile.vip = true and (profile.country in ["DE","AT"] or not (profile.email ex…');
    expect(said).toContain('cart_viewed where event.properties.note = “<script>alert(1)</script>”, up to 23h');
    expect(said).toContain('wait until Mon Tue Wed Thu Fri 09:00–11:00 (Europe/Berlin)');
    expect(said).toContain('wait until {{ profile.birthday }} - 1d at 10:00');
    expect(said).toContain('send cart-reminder via sms, email');
    expect(said).toContain('update profile: set seen · +1 nudges · tag a<b');
    expect(said).toContain('do http_post');
    const wide = [...parse(toMermaid(journeyGraph(widePlan()))).nodes.values()].map((n) => n.lines.join(' ')).join(' ');
    expect(wide).toContain('if profile.lifetime_value ≥ 1000 or profile.signed_up_at before 30d ago');
    expect(conditionText({ path: 'profile.email', op: 'ends_with', value: '@example.com', ignoreCase: true })).toBe('profile.email ends with “@example.com” (any case)');
    expect(conditionText({ path: 'event.properties.at', op: 'after', value: { relativeMs: 7_200_000 } })).toBe('event.properties.at after in 2h');
    expect(conditionText({ path: 'profile.phone', op: 'exists', value: false })).toBe('profile.phone is missing');
    expect(conditionText({ not: { any: [{ path: 'a', op: 'ne', value: 1 }, { all: [{ path: 'b', op: 'lt', value: 2 }, { path: 'c', op: 'nin', value: ['x'] }] }] } })).toBe('not (a ≠ 1 or (b < 2 and c not in ["x"]))');
  });

  test('--out writes the drawing to a file; --format svg writes an SVG document', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-graph-'));
    const mmd = path.join(tmp, 'cart.mmd');
    const r = unbroken(['graph', 'abandoned-cart', '--out', mmd]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', `wrote ${mmd}\n`]);
    expect(fs.readFileSync(mmd, 'utf8')).toBe(unbroken(['graph', 'abandoned-cart']).stdout);
    const svg = unbroken(['graph', 'welcome-series', '--format', 'svg']);
    expect(svg.code).toBe(0);
    expect(svg.stdout).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg.stdout.trimEnd().endsWith('</svg>')).toBe(true);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('wrong use exits 2 and says what is wrong: unknown journey (listing the known ones), unknown format, no journey, a file that cannot be written', () => {
    const unknown = unbroken(['graph', 'abandoned-kart']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unbroken: no journey "abandoned-kart" in definitions\/journeys \(known: abandoned-cart, /);
    const format = unbroken(['graph', 'abandoned-cart', '--format', 'png']);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/^unbroken: --format "png" is not one of mermaid, svg\n/);
    const none = unbroken(['graph']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^unbroken: graph needs exactly one journey id\n/);
    const unwritable = unbroken(['graph', 'abandoned-cart', '--out', path.join(os.tmpdir(), 'no-such-folder-for-graph', 'x.mmd')]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/^unbroken: cannot write .*x\.mmd: its folder does not exist\n/);
    const folder = unbroken(['graph', 'abandoned-cart', '--out', os.tmpdir()]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^unbroken: cannot write .*: it is a folder\n/);
    expect(unknown.stdout + format.stdout + none.stdout + unwritable.stdout + folder.stdout).toBe('');
  });

  test('invalid definitions draw nothing: the problems as validate prints them, exit 1', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-graph-bad-'));
    fs.mkdirSync(path.join(tmp, 'defs', 'journeys'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'defs', 'templates'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'defs', 'journeys', 'demo.yaml'), ['journey: demo', 'trigger:', '  event: signed_up', 'steps:', '  - send: helo', ''].join('\n'));
    const r = unbroken(['graph', 'demo', '--definitions', 'defs'], tmp);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^defs\/journeys\/demo\.yaml:5:11 .*unknown template "helo"/m);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the Mermaid picture in docs/journeys.md is what `unbroken graph abandoned-cart` prints today', () => {
    const docs = fs.readFileSync(path.join(root, 'docs', 'journeys.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## See a journey: `graph`'));
    const block = /```mermaid\n([\s\S]*?)```/.exec(section);
    expect(block?.[1]).toBe(unbroken(['graph', 'abandoned-cart']).stdout);
  });
});
