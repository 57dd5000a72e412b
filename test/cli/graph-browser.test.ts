/**
 * The SVG pictures of `unbroken graph`, opened in a real headless Chromium (Debian's `chromium`
 * package): every step's box is inside the picture, its text fits its box and is not covered,
 * no two boxes overlap, no branch label sits on a box, and the page logs no error. Screenshots
 * are kept under test-artifacts/graph/ for a person to look at.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser } from 'playwright-core';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';
import { renderGraph } from '../../cli/graph';
import { toMermaid } from '../../cli/graph/mermaid';
import { journeyGraph } from '../../cli/graph/model';
import { allSteps, HOSTILE_IDS, HOSTILE_TEXT, hostilePlan, widePlan } from './graph.fixtures';
import { launchChromium } from '../support/browser';

const root = path.resolve(__dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts', 'graph');

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Measured {
  viewport: Rect;
  parseError: boolean;
  scripts: number;
  nodes: { step: string | null; title: string; text: string; shape: Rect; text_box: Rect; covered: string[] }[];
  labels: { text: string; box: Rect }[];
}

const overlap = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (inner: Rect, outer: Rect, slack = 0.5) =>
  inner.x >= outer.x - slack && inner.y >= outer.y - slack && inner.x + inner.width <= outer.x + outer.width + slack && inner.y + inner.height <= outer.y + outer.height + slack;

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium('the graph picture test');
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

/**
 * Runs in the page (plain JavaScript: the project's types have no DOM): each box's shape, text and
 * whether anything covers its lines, and each branch label.
 */
const MEASURE = `(() => {
  const rect = (r) => ({ x: r.x, y: r.y, width: r.width, height: r.height });
    const svg = document.documentElement;
    const nodes = [...document.querySelectorAll('g.node')].map((g) => {
      const text = g.querySelector('text');
      const spans = [...text.querySelectorAll('tspan')];
      // Visible: the point in the middle of each line hits this box's text, nothing drawn over it.
      const covered = spans
        .map((s) => s.getBoundingClientRect())
        .filter((r) => {
          const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
          return !hit || hit.closest('g.node') !== g;
        })
        .map((r) => \`\${r.x},\${r.y}\`);
      return {
        step: g.getAttribute('data-step'),
        title: spans.filter((s) => s.getAttribute('font-weight') === 'bold').map((s) => s.textContent).join(''),
        text: spans.map((s) => s.textContent).join(' '),
        shape: rect((g.querySelector('.shape')).getBoundingClientRect()),
        text_box: rect(text.getBoundingClientRect()),
        covered,
      };
    });
    const labels = [...document.querySelectorAll('g.edge-label text')].map((t) => ({ text: [...t.querySelectorAll('tspan')].map((s) => s.textContent).join(' '), box: rect(t.getBoundingClientRect()) }));
    return {
      viewport: rect(svg.getBoundingClientRect()),
      parseError: svg.tagName !== 'svg' || document.getElementsByTagName('parsererror').length > 0,
      scripts: document.getElementsByTagName('script').length,
      nodes,
      labels,
    };
})()`;

/** Opens an SVG file as Chromium's document and measures what a reader would see. */
async function openSvg(file: string, errors: string[]): Promise<Measured> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(pathToFileURL(file).href);
  // elementFromPoint only sees the viewport: make it as large as the picture.
  const size = await page.evaluate<{ width: number; height: number }>('(() => { const r = document.documentElement.getBoundingClientRect(); return { width: Math.ceil(r.width), height: Math.ceil(r.height) }; })()');
  await page.setViewportSize({ width: Math.max(size.width, 100), height: Math.max(size.height, 100) });
  const measured = await page.evaluate<Measured>(MEASURE);
  // The viewport already holds the whole picture (fullPage screenshots hang in headless Debian Chromium).
  await page.screenshot({ path: file.replace(/\.svg$/, '.png') });
  await page.close();
  return measured;
}

function checkPicture(plan: JourneyPlan, m: Measured, errors: string[]): void {
  expect(errors).toEqual([]);
  expect(m.parseError).toBe(false);
  expect(m.scripts).toBe(0);
  // Every step has its box, titled with its id, inside the picture, its text inside the box and uncovered.
  const steps = allSteps(plan.steps);
  expect(m.nodes.filter((n) => n.step !== null).map((n) => n.step)).toEqual(steps.map((s) => s.id));
  for (const node of m.nodes) {
    // A long title wraps at its spaces, which the lines do not repeat.
    if (node.step !== null) expect(node.title.replace(/\s/g, '')).toBe(node.step.replace(/\s/g, ''));
    expect(inside(node.shape, m.viewport)).toBe(true);
    expect({ node: node.title, fits: inside(node.text_box, node.shape) }).toEqual({ node: node.title, fits: true });
    expect({ node: node.title, covered: node.covered }).toEqual({ node: node.title, covered: [] });
  }
  for (const [i, a] of m.nodes.entries()) {
    for (const b of m.nodes.slice(i + 1)) expect({ a: a.title, b: b.title, overlap: overlap(a.shape, b.shape) }).toEqual({ a: a.title, b: b.title, overlap: false });
  }
  // Branch labels are inside the picture and never on a box.
  for (const label of m.labels) {
    expect(inside(label.box, m.viewport)).toBe(true);
    for (const node of m.nodes) expect({ label: label.text, node: node.title, overlap: overlap(label.box, node.shape) }).toEqual({ label: label.text, node: node.title, overlap: false });
  }
}

const compiled = compileDefinitions(path.join(root, 'definitions'), { ...activityCatalog, cwd: root });
const examples = [...compiled.plans.keys()].sort();

describe('unbroken graph --format svg in a real Chromium', () => {
  test('the example definitions compile, so every example journey is drawn below', () => {
    expect(compiled.errors).toEqual([]);
    expect(examples.length).toBeGreaterThanOrEqual(6);
  });

  test.each(examples)('%s: every step is a readable box, none overlaps another, no label sits on a box', async (journey) => {
    const file = path.join(artifacts, `${journey}.svg`);
    // Through the command, as a user makes the file.
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), 'graph', journey, '--format', 'svg', '--out', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe(`wrote ${file}\n`);
    expect(r.status).toBe(0);
    const errors: string[] = [];
    checkPicture(compiled.plans.get(journey) as JourneyPlan, await openSvg(file, errors), errors);
  });

  test('hostile step ids and labels (markup, quotes, control characters, scripts, long words, emoji) are shown as text and still fit', async () => {
    const plan = hostilePlan();
    const file = path.join(artifacts, 'hostile.svg');
    fs.writeFileSync(file, await renderGraph(plan, 'svg'));
    const errors: string[] = [];
    const m = await openSvg(file, errors);
    checkPicture(plan, m, errors);
    const all = m.nodes.map((n) => n.text).join(' ');
    expect(all).toContain('Say "hi" <b>now</b> & then');
    expect(all).toContain('<script>alert(1)</script>');
    expect(all).toContain('日本語のテキスト 🎉');
    expect(all).toContain('bell\ufffd and newline');
    expect(all).not.toContain(HOSTILE_TEXT[5]);
    expect(m.labels.map((l) => l.text)).toEqual(expect.arrayContaining(['then', 'else', 'on_event: cart_viewed', 'short-copy · 45%', 'holdout · 10%']));
  });

  test('a wide, deep journey (a four-way split, each variant waiting and branching again) keeps every box apart and readable', async () => {
    const plan = widePlan();
    const file = path.join(artifacts, 'wide.svg');
    fs.writeFileSync(file, await renderGraph(plan, 'svg'));
    const errors: string[] = [];
    const m = await openSvg(file, errors);
    checkPicture(plan, m, errors);
    expect(m.labels.map((l) => l.text)).toEqual(expect.arrayContaining(['alpha · 20%', 'delta · 35%', 'holdout · 5%', 'on_event: gamma_clicked', 'on_timeout: after 3d']));
  });
});

/** Renders Mermaid texts with the real Mermaid library in the page; what each drawing's boxes and arrows say. */
async function renderMermaid(texts: string[], errors: string[]): Promise<{ ok: boolean; error?: string; nodes: string[]; edges: string[]; injected: number }[]> {
  const page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: path.join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js') });
  const results = await page.evaluate<{ ok: boolean; error?: string; nodes: string[]; edges: string[]; injected: number }[]>(`(async () => {
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
    const out = [];
    for (const [i, text] of ${JSON.stringify(texts)}.entries()) {
      try {
        const { svg } = await mermaid.render('graph' + i, text);
        const holder = document.createElement('div');
        holder.innerHTML = svg;
        document.body.appendChild(holder);
        out.push({
          ok: true,
          nodes: [...holder.querySelectorAll('g.node')].map((n) => n.textContent),
          edges: [...holder.querySelectorAll('g.edgeLabel')].map((n) => n.textContent).filter((t) => t !== ''),
          injected: holder.querySelectorAll('script, b, img, iframe').length,
        });
      } catch (err) {
        out.push({ ok: false, error: String(err && err.message || err), nodes: [], edges: [], injected: 0 });
      }
    }
    return out;
  })()`);
  await page.close();
  return results;
}

const squash = (text: string) => text.replace(/\s+/g, '');

describe('unbroken graph (Mermaid) drawn by the real Mermaid library, as GitHub draws it', () => {
  test('every example and the hostile plan render; every step id is in a box; every branch label is on an arrow; nothing in a name becomes markup', async () => {
    const plans = [...examples.map((j) => compiled.plans.get(j) as JourneyPlan), widePlan(), hostilePlan()];
    const errors: string[] = [];
    const drawn = await renderMermaid(
      plans.map((p) => toMermaid(journeyGraph(p))),
      errors,
    );
    expect(errors).toEqual([]);
    for (const [i, plan] of plans.entries()) {
      const d = drawn[i];
      expect({ journey: plan.journey, ok: d.ok, error: d.error }).toEqual({ journey: plan.journey, ok: true, error: undefined });
      expect(d.injected).toBe(0);
      const boxes = d.nodes.map(squash);
      for (const step of allSteps(plan.steps)) expect({ step: step.id, drawn: boxes.some((b) => b.startsWith(squash(step.id))) }).toEqual({ step: step.id, drawn: true });
      const graph = journeyGraph(plan);
      expect(d.edges.map(squash).sort()).toEqual(graph.edges.flatMap((e) => (e.label === undefined ? [] : [squash(e.label)])).sort());
    }
    const hostile = drawn[plans.length - 1].nodes.map(squash).join(' ');
    for (const text of [...HOSTILE_TEXT.slice(0, 5), ...HOSTILE_IDS]) expect(hostile).toContain(squash(text));
  });
});
