/** The customer profile as journeys see it, and the changes a journey may make to it. */
import type { Profile, ProfileChanges } from '../profiles/store';

/** The profile of a customer nobody has written yet. */
export function emptyProfile(id: string): Profile {
  return { id, tags: [] };
}

/**
 * The kinds of change an `update_profile` step makes, in the order they apply, with the name a
 * journey writes them under. The one list the compiler, the workflow and the activity share.
 */
export const PROFILE_CHANGE_FIELDS = [
  { field: 'set', yaml: 'set' },
  { field: 'unset', yaml: 'unset' },
  { field: 'increment', yaml: 'increment' },
  { field: 'addTags', yaml: 'add_tags' },
  { field: 'removeTags', yaml: 'remove_tags' },
] as const satisfies readonly { field: keyof ProfileChanges; yaml: string }[];

/** Copies the change fields that are present, and nothing else, out of a step or an input. */
export function profileChanges(source: ProfileChanges): ProfileChanges {
  const changes: Record<string, unknown> = {};
  for (const { field } of PROFILE_CHANGE_FIELDS) if (source[field] !== undefined) changes[field] = source[field];
  return changes as ProfileChanges;
}

/** The changes under the names the journey wrote them (`add_tags`), for timelines and reports. */
export function summariseChanges(source: ProfileChanges): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  for (const { field, yaml } of PROFILE_CHANGE_FIELDS) if (source[field] !== undefined) summary[yaml] = source[field];
  return summary;
}

/**
 * The summary a timeline shows after the change: `set` values as the profile holds them now, so
 * `{{ now }}` reads as the time it rendered to, not as the Liquid the journey wrote.
 */
export function summariseApplied(source: ProfileChanges, after: Profile): Record<string, unknown> {
  const summary = summariseChanges(source);
  if (source.set) summary.set = Object.fromEntries(Object.keys(source.set).map((key) => [key, after[key] ?? null]));
  return summary;
}
