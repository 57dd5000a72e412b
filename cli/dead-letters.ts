/**
 * What `unbroken stats` and `unbroken dead-letters` show about routing: events stored but not yet
 * routed into journeys, and events set aside after their routing kept failing (routing/loop.ts).
 */
import type { DeadLetter, LiveStore } from '../profiles/store';

/** The routing backlog and the dead-letter count. */
export interface RoutingSummary {
  /** Stored events waiting to be routed, and when the oldest arrived. */
  backlog: { events: number; oldestReceivedAt?: string };
  /** Events set aside; `unbroken dead-letters` lists them. */
  deadLettered: number;
}

/** Reads the backlog and counts the dead letters (two indexed queries). */
export async function routingSummary(store: Pick<LiveStore, 'routingBacklog' | 'deadLetters'>): Promise<RoutingSummary> {
  const [backlog, dead] = await Promise.all([store.routingBacklog(), store.deadLetters({ limit: 0 })]);
  return { backlog, deadLettered: dead.total };
}

export function formatRoutingSummary(s: RoutingSummary): string {
  const waiting = s.backlog.events === 0 ? 'no events waiting' : `${s.backlog.events} event(s) waiting, the oldest received ${s.backlog.oldestReceivedAt}`;
  const dead = s.deadLettered === 0 ? 'none dead-lettered' : `${s.deadLettered} dead-lettered (see \`unbroken dead-letters\`)`;
  return `routing: ${waiting}; ${dead}`;
}

/** One line per dead letter: when, which event of whom, after how many attempts, and why. */
export function formatDeadLetters(d: { total: number; events: DeadLetter[] }): string {
  if (d.total === 0) return 'no dead-lettered events';
  const lines = [`${d.total} dead-lettered event(s)${d.events.length < d.total ? `, the first ${d.events.length} shown` : ''}:`];
  for (const { event, attempts, deadAt, reason } of d.events) {
    const what = event.type === 'track' ? `track "${event.event ?? ''}"` : event.type;
    lines.push(`  ${deadAt}  ${event.messageId}  ${what} of customer ${event.customerId}, ${attempts} attempt(s): ${reason}`);
  }
  lines.push('', 'After fixing the cause: unbroken dead-letters --retry [--id MESSAGE_ID ...]');
  return lines.join('\n');
}
