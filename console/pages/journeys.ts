/** The journeys page: every deployed journey with its numbers and a pause or resume button. */
import { conversionRate as journeyConversion } from '../../core/statistics';
import type { DeployedJourney, JourneyOverview } from '../../profiles/store';
import { csrfField, escapeHtml, table, time, type ConsolePage } from './layout';

/** One row of the page: what is deployed and what happened in it. */
export interface JourneyRow {
  deployed: DeployedJourney;
  numbers: JourneyOverview;
}

/** Converted runs out of entered ones, or undefined before anyone entered. */
export function conversionRate(numbers: JourneyOverview): number | undefined {
  return journeyConversion(numbers.entered.all, numbers.outcomes);
}

/** A rate as a percentage with one decimal, `—` when there is none. */
export function percent(rate: number | null | undefined): string {
  return rate === undefined || rate === null ? '—' : `${(rate * 100).toFixed(1)} %`;
}

/** The address of a journey's own page (console/pages/journey.ts). */
export function journeyHref(journeyId: string): string {
  return `/console/journeys/${encodeURIComponent(journeyId)}`;
}

/** The pause (or, when paused, resume) button of a journey, posting to its route with the CSRF token. */
export function pauseForm(d: DeployedJourney, csrf: string): string {
  const label = d.paused ? 'Resume' : 'Pause';
  return (
    `<form class="inline" method="post" action="/console/journeys/${encodeURIComponent(d.journeyId)}/${label.toLowerCase()}">${csrfField(csrf)}` +
    `<button type="submit" aria-label="${label} ${escapeHtml(d.journeyId)}">${label}</button></form>`
  );
}

export function journeysPage(rows: readonly JourneyRow[], csrf: string, notice?: string): ConsolePage {
  const intro = notice === undefined ? '' : `<p role="status" class="good">${escapeHtml(notice)}</p>`;
  if (rows.length === 0) return { title: 'Journeys', csrf, body: `${intro}<p>No journey is deployed yet: put journey files in the definitions folder and run <code>unbroken deploy</code>.</p>` };
  const cells = rows.map(({ deployed: d, numbers: n }) => {
    const id = escapeHtml(d.journeyId);
    const status = d.paused ? '<span class="bad">paused</span>' : '<span class="good">live</span>';
    const outcomes = Object.entries(n.outcomes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([outcome, count]) => `${escapeHtml(outcome)} ${count}`)
      .join(', ');
    return [
      `<a href="${journeyHref(d.journeyId)}" data-journey="${id}">${id}</a>`,
      status,
      `<code title="${escapeHtml(d.version)}">${escapeHtml(d.version.slice(0, 12))}</code>`,
      time(d.deployedAt),
      String(n.entered.today),
      String(n.entered.week),
      String(n.entered.all),
      String(n.active),
      outcomes === '' ? '<span class="muted">none yet</span>' : outcomes,
      percent(conversionRate(n)),
      String(n.sent),
      String(n.skipped),
      pauseForm(d, csrf),
    ];
  });
  return {
    title: 'Journeys',
    csrf,
    body:
      intro +
      table(
        ['Journey', 'Status', 'Version', 'Deployed', 'Entered today', '7 days', 'all', 'Inside now', 'Outcomes', 'Conversion', 'Sent', 'Skipped', 'New entries'],
        cells,
        { numeric: [4, 5, 6, 7, 9, 10, 11], caption: 'Over all versions. Today is since midnight UTC; conversion is converted runs out of entered ones.' },
      ) +
      '<p class="muted">Pausing stops new entries; customers already inside go on.</p>',
  };
}
