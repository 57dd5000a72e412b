/**
 * `unbroken audience <id>`: how many customers match an audience now, and a few of them, so a
 * marketer knows the reach before deploying a journey that reads it.
 */
import type { AudiencePlan } from '../compiler/plan';
import type { LiveStore } from '../profiles/store';

/** The documented `--json` answer: `{"audience","count","sample"}`. */
export interface AudiencePreview {
  audience: string;
  count: number;
  /** Ids of matching customers, in id order, at most the sample size asked for. */
  sample: string[];
}

/** Ids shown when the command is not told otherwise. */
export const DEFAULT_SAMPLE = 10;
/** Most ids one preview shows: it is a glimpse, not an export. */
export const MAX_SAMPLE = 1000;

/** Who matches `plan` in the store at `nowMs`. */
export async function previewAudience(store: LiveStore, plan: AudiencePlan, nowMs: number, sampleSize = DEFAULT_SAMPLE): Promise<AudiencePreview> {
  const { count, sample } = await store.audience(plan.where, { nowMs, sampleSize });
  return { audience: plan.audience, count, sample };
}

/** The preview for people: the count on the first line, then the sample. */
export function formatAudience(preview: AudiencePreview, name?: string): string {
  const title = name ? `${preview.audience} (${name})` : preview.audience;
  const people = `${preview.count.toLocaleString('en-US')} customer${preview.count === 1 ? '' : 's'}`;
  const lines = [`audience ${title}: ${people} match now`];
  if (preview.sample.length > 0) {
    const more = preview.count > preview.sample.length ? `, and ${(preview.count - preview.sample.length).toLocaleString('en-US')} more` : '';
    lines.push(`  for example: ${preview.sample.join(', ')}${more}`);
  }
  return lines.join('\n');
}
