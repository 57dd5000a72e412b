/**
 * A journey drawing as Mermaid flowchart text, which GitHub renders in pull requests and
 * Markdown files. Node keys are generated (`n0`, `n1`, …); every label is quoted and escaped
 * with Mermaid's `#code;` entities, so no step id or condition can break out of its label.
 */
import type { GraphNode, JourneyGraph } from './model';
import { wrapText } from './text';

/** Characters a quoted Mermaid label can hold as they are; everything else becomes `#code;`. */
const PLAIN = /[\p{L}\p{M}\p{N}% \-_.,:/()[\]{}|+=?!@*~$^'·…—–≥≤≠“”]/u;

/** `text` as the inside of a quoted Mermaid label. */
export function mermaidEscape(text: string): string {
  let out = '';
  for (const ch of text) out += PLAIN.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  return out;
}

/** Lines of a label, joined with Mermaid's line break after escaping each. */
function label(lines: string[]): string {
  return `"${lines.map(mermaidEscape).join('<br>')}"`;
}

/** Mermaid wraps only Markdown labels; these are wrapped here at about 30 characters. */
const WRAP = (text: string) => wrapText(text, 10, 200);

function nodeLine(node: GraphNode): string {
  const text = label([node.title, ...WRAP(node.text)]);
  switch (node.shape) {
    case 'start':
      return `  ${node.key}([${text}])`;
    case 'decision':
      return `  ${node.key}{{${text}}}`;
    case 'end':
      return `  ${node.key}([${text}])`;
    default:
      return `  ${node.key}[${text}]`;
  }
}

/** The Mermaid flowchart of a journey, top to bottom, ending in a newline. */
export function toMermaid(graph: JourneyGraph): string {
  const lines = ['flowchart TD'];
  for (const node of graph.nodes) lines.push(nodeLine(node));
  for (const e of graph.edges) {
    const arrow = e.dotted ? '-.->' : '-->';
    lines.push(e.label === undefined ? `  ${e.from} ${arrow} ${e.to}` : `  ${e.from} ${arrow}|${label(WRAP(e.label))}| ${e.to}`);
  }
  // `end` is a Mermaid keyword, hence the class names' suffix.
  lines.push('  classDef startNode fill:#e8f0fe,stroke:#3b6fd8', '  classDef decisionNode fill:#fff6e0,stroke:#c98a00', '  classDef endNode fill:#e9f7ee,stroke:#2e8b57');
  for (const shape of ['start', 'decision', 'end'] as const) {
    const keys = graph.nodes.filter((n) => n.shape === shape).map((n) => n.key);
    if (keys.length) lines.push(`  class ${keys.join(',')} ${shape}Node`);
  }
  return `${lines.join('\n')}\n`;
}
