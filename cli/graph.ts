/** `unbroken graph`: a picture of one journey, as Mermaid text or an SVG file. */
import type { JourneyPlan } from '../compiler/plan';
import { toMermaid } from './graph/mermaid';
import { journeyGraph } from './graph/model';
import { toSvg } from './graph/svg';

export const GRAPH_FORMATS = ['mermaid', 'svg'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Whether `value` names an output format of `unbroken graph`. */
export function isGraphFormat(value: string): value is GraphFormat {
  return (GRAPH_FORMATS as readonly string[]).includes(value);
}

/** The drawing of a compiled journey in the chosen format. */
export async function renderGraph(plan: JourneyPlan, format: GraphFormat): Promise<string> {
  const graph = journeyGraph(plan);
  return format === 'svg' ? toSvg(graph) : toMermaid(graph);
}
