/**
 * The journey page builder on its own: YAML-borne text (step ids, names, conditions, templates,
 * skip reasons, versions) with markup renders as text in the picture and the tables, each box
 * carries its numbers, and the `unbroken graph` picture stays as it was when there are none.
 */
import { journeyGraph } from '../../../cli/graph/model';
import { toSvg } from '../../../cli/graph/svg';
import { annotatedGraph, chartDays, journeyPage, journeyPicture, type JourneyView } from '../../../console/pages/journey';
import type { JourneyPageNumbers } from '../../../profiles/store';
import { HOSTILE_IDS, HOSTILE_TEXT, hostilePlan } from '../../cli/graph.fixtures';

const SCRIPT = '<script>alert(1)</script>';
const [, , img] = HOSTILE_IDS;

function numbers(): JourneyPageNumbers {
  return {
    journeyId: 'hostile',
    versions: [{ version: `v1${SCRIPT}`, deployedAt: '2026-12-01T10:00:00.000Z' }],
    entered: 4,
    active: 1,
    outcomes: { completed: 2, converted: 1, [SCRIPT]: 0 },
    steps: [
      { stepId: 'entry', passed: 4, waiting: 0, sent: 0, skipped: {} },
      { stepId: img, passed: 3, waiting: 1, sent: 2, skipped: { [SCRIPT]: 1 } },
    ],
    days: [
      { day: '2026-11-30', outcomes: { completed: 2 } },
      { day: '2026-12-02', outcomes: { converted: 1, [SCRIPT]: 1 } },
    ],
  };
}

async function view(): Promise<JourneyView> {
  const plan = hostilePlan();
  return { journeyId: 'hostile', numbers: numbers(), plan, picture: await journeyPicture(plan, numbers()), days: chartDays(new Date('2026-12-02T15:00:00Z')), version: `v1${SCRIPT}` };
}

test('every step id, name, condition, template, skip reason and version with markup renders as text, never as an element', async () => {
  const html = journeyPage(await view(), 'token').body;
  expect(html).not.toMatch(/<script|<img|<b>/i);
  // In the tables (escapeHtml) and in the picture (its XML escaping).
  expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
  expect(html).toContain('data-step="&lt;img src=x onerror=alert(1)&gt;"');
  expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  // The condition of the wait_for (`event.properties.note = "<script>…"`) is in its box, escaped.
  expect(html).toMatch(/>“&lt;script&gt;alert\(1\)&lt;\/script&gt;”, up<\/tspan>/);
  expect(HOSTILE_TEXT.every((t) => !html.includes(t) || !/[<>]/.test(t))).toBe(true);
});

test('each box carries its numbers: passed and waiting, sends and skips by reason; the trigger its entries, the ways out their runs', async () => {
  const graph = annotatedGraph(hostilePlan(), numbers());
  const node = (title: string) => graph.nodes.find((n) => n.title === title)?.notes;
  expect(node(img)).toEqual(['passed 3 · waiting 1', 'sent 2 · skipped 1', `skipped: ${SCRIPT} 1`]);
  expect(node('window')).toEqual(['passed 0 · waiting 0']);
  // A do step is a send too: its box says what went out even before anything did.
  expect(node('short')).toEqual(['passed 0 · waiting 0', 'sent 0 · skipped 0']);
  expect(node('trigger')).toEqual(['entered 4']);
  expect(node('converted')).toEqual(['1 run']);
  expect(node('exited')).toEqual(['0 runs']);
});

test('the steps table and the outcomes chart give the same numbers as text', async () => {
  const html = journeyPage(await view(), 'token').body;
  expect(html).toContain(`<td><code>&#60;img src=x onerror=alert(1)&#62;</code></td><td>send</td><td class="n">3</td><td class="n">1</td><td class="n">2</td><td class="n">1</td>`);
  expect(html).toContain('<title>2026-11-30: completed 2</title>');
  expect(html).toContain('<tr><td>2026-12-02</td><td class="n">1</td><td class="n">0</td><td class="n">1</td></tr>');
  expect(chartDays(new Date('2026-12-02T23:59:59Z'))).toHaveLength(30);
  expect(chartDays(new Date('2026-12-02T00:00:00Z')).slice(-2)).toEqual(['2026-12-01', '2026-12-02']);
});

test('the version selector offers all versions and each deployed one, with the chosen one selected', async () => {
  const html = journeyPage(await view(), 'token').body;
  expect(html).toContain('<option value="">all versions</option>');
  expect(html).toContain(`<option value="v1&#60;script&#62;alert(1)&#60;/script&#62;" selected>`);
  expect(html).toContain('<label for="version">Version</label>');
});

test('the `unbroken graph` picture draws no notes: the same SVG as before annotations existed', async () => {
  const plan = hostilePlan();
  const plain = await toSvg(journeyGraph(plan));
  expect(plain).not.toContain('font-style="italic"');
  expect(await toSvg({ ...journeyGraph(plan), nodes: journeyGraph(plan).nodes.map((n) => ({ ...n, notes: [] })) })).toBe(plain);
});
