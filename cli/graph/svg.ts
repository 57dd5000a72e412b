/**
 * A journey drawing as a standalone SVG picture, laid out by ELK's layered algorithm (elkjs):
 * boxes sized to their wrapped text, arrows routed around them, branch labels placed by ELK so
 * they do not sit on a box. Readable without a legend: every box says what it is in words.
 */
import ELK, { type ElkNode, type ElkExtendedEdge } from 'elkjs/lib/elk.bundled.js';
import type { GraphNode, JourneyGraph } from './model';
import { textWidth, wrapText } from './text';

const FONT = 13;
const LABEL_FONT = 12;
const LINE = 17;
const PAD_X = 12;
const PAD_Y = 9;
/** Widest text line in a box; longer text wraps. */
const MAX_TEXT = 230;
const MAX_LABEL = 170;
/** A hexagon's pointed sides take this much room on each side of its text. */
const HEX_INSET = 14;

const COLORS: Record<GraphNode['shape'], { fill: string; stroke: string }> = {
  start: { fill: '#e8f0fe', stroke: '#3b6fd8' },
  step: { fill: '#ffffff', stroke: '#555555' },
  decision: { fill: '#fff6e0', stroke: '#c98a00' },
  end: { fill: '#e9f7ee', stroke: '#2e8b57' },
};

/** `text` safe inside XML: markup escaped, characters XML 1.0 forbids replaced. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Notes (GraphNode.notes) are drawn in this colour, dark enough on every box's fill. */
const NOTE_COLOR = '#1d4f91';

interface Line {
  text: string;
  bold: boolean;
  note?: boolean;
}

interface Box {
  node: GraphNode;
  lines: Line[];
  width: number;
  height: number;
}

function measureNode(node: GraphNode): Box {
  const title = wrapText(node.title, FONT, MAX_TEXT, true).map((text) => ({ text, bold: true }));
  const body = wrapText(node.text, FONT, MAX_TEXT).map((text) => ({ text, bold: false }));
  const notes = (node.notes ?? []).flatMap((note) => wrapText(note, FONT, MAX_TEXT).map((text) => ({ text, bold: false, note: true })));
  const lines = [...title, ...body, ...notes];
  const inset = node.shape === 'decision' ? HEX_INSET : node.shape === 'step' ? 0 : LINE / 2;
  const textW = Math.max(...lines.map((l) => textWidth(l.text, FONT, l.bold)));
  return { node, lines, width: Math.ceil(textW + 2 * (PAD_X + inset)), height: lines.length * LINE + 2 * PAD_Y };
}

function shapeSvg(box: Box, x: number, y: number): string {
  const { width: w, height: h } = box;
  const { fill, stroke } = COLORS[box.node.shape];
  const paint = `fill="${fill}" stroke="${stroke}" stroke-width="1.5"`;
  switch (box.node.shape) {
    case 'decision': {
      const points = [
        [x + HEX_INSET, y],
        [x + w - HEX_INSET, y],
        [x + w, y + h / 2],
        [x + w - HEX_INSET, y + h],
        [x + HEX_INSET, y + h],
        [x, y + h / 2],
      ];
      return `<polygon class="shape" points="${points.map((p) => p.join(',')).join(' ')}" ${paint}/>`;
    }
    case 'start':
    case 'end':
      return `<rect class="shape" x="${x}" y="${y}" width="${w}" height="${h}" rx="${Math.min(h / 2, 18)}" ${paint}/>`;
    default:
      return `<rect class="shape" x="${x}" y="${y}" width="${w}" height="${h}" rx="4" ${paint}/>`;
  }
}

function textSvg(lines: Line[], cx: number, top: number, size: number): string {
  const spans = lines.map(
    (l, i) => `<tspan x="${cx}" y="${top + (i + 0.5) * LINE}"${l.bold ? ' font-weight="bold"' : ''}${l.note ? ` fill="${NOTE_COLOR}" font-style="italic"` : ''}>${xmlEscape(l.text)}</tspan>`,
  );
  return `<text text-anchor="middle" dominant-baseline="central" font-size="${size}">${spans.join('')}</text>`;
}

/** The SVG picture of a journey drawing. */
export async function toSvg(graph: JourneyGraph): Promise<string> {
  const boxes = new Map(graph.nodes.map((n) => [n.key, measureNode(n)]));
  const edgeLabels = graph.edges.map((e) => (e.label === undefined ? [] : wrapText(e.label, LABEL_FONT, MAX_LABEL)));
  const elkGraph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.spacing.nodeNode': '36',
      'elk.layered.spacing.nodeNodeBetweenLayers': '44',
      'elk.spacing.edgeLabel': '6',
      'elk.spacing.edgeNode': '18',
      'elk.layered.spacing.edgeNodeBetweenLayers': '18',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children: [...boxes.values()].map((b) => ({ id: b.node.key, width: b.width, height: b.height })),
    edges: graph.edges.map(
      (e, i): ElkExtendedEdge => ({
        id: `e${i}`,
        sources: [e.from],
        targets: [e.to],
        labels: edgeLabels[i].length
          ? [{ id: `l${i}`, text: e.label, width: Math.ceil(Math.max(...edgeLabels[i].map((l) => textWidth(l, LABEL_FONT))) + 8), height: edgeLabels[i].length * LINE + 4 }]
          : [],
      }),
    ),
  };
  const laid = await new ELK().layout(elkGraph);
  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);

  const parts: string[] = [];
  for (const [i, edge] of (laid.edges ?? []).entries()) {
    const dotted = graph.edges[i].dotted ? ' stroke-dasharray="5 4"' : '';
    for (const s of edge.sections ?? []) {
      const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x},${p.y}`).join(' ');
      parts.push(`<polyline class="edge" points="${points}" fill="none" stroke="#666666" stroke-width="1.3"${dotted} marker-end="url(#arrow)"/>`);
    }
    for (const l of edge.labels ?? []) {
      const x = l.x ?? 0;
      const y = l.y ?? 0;
      const lines = edgeLabels[i].map((text) => ({ text, bold: false }));
      parts.push(
        `<g class="edge-label"><rect x="${x}" y="${y}" width="${l.width}" height="${l.height}" rx="3" fill="#ffffff" fill-opacity="0.92"/>${textSvg(lines, x + (l.width ?? 0) / 2, y + 2, LABEL_FONT)}</g>`,
      );
    }
  }
  for (const child of laid.children ?? []) {
    const box = boxes.get(child.id);
    if (!box) continue;
    const x = child.x ?? 0;
    const y = child.y ?? 0;
    const step = box.node.stepId === undefined ? '' : ` data-step="${xmlEscape(box.node.stepId)}"`;
    parts.push(`<g class="node ${box.node.shape}"${step}>${shapeSvg(box, x, y)}${textSvg(box.lines, x + box.width / 2, y + PAD_Y, FONT)}</g>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif">`,
    `<title>${xmlEscape(`Journey ${graph.journey}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666666"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
