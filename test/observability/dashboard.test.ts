/**
 * docs/grafana-dashboard.json cannot go stale: every metric its queries read is one the registry
 * defines, or one of Temporal's own that the worker's metrics address serves beside ours.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ProcessMetrics } from '../../observability/metrics';

const dashboardPath = path.join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json');

/**
 * Temporal's metrics the dashboard may use: histograms of the SDK core's Prometheus exporter
 * (durations in milliseconds), present once the worker has run workflow and activity tasks.
 */
const TEMPORAL_METRICS = ['temporal_workflow_task_schedule_to_start_latency', 'temporal_workflow_task_execution_latency', 'temporal_activity_execution_latency'];

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

function queries(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(fs.readFileSync(dashboardPath, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Metric names in a PromQL expression, histogram series suffixes removed. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:unbroken|temporal)_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
}

test('every metric the dashboard queries exists in the registry or is a listed Temporal metric', async () => {
  const registry = new ProcessMetrics().registry;
  const known = new Set([...(await registry.getMetricsAsJSON()).map((m) => m.name), ...TEMPORAL_METRICS]);
  const unknown = queries().flatMap(({ panel, expr }) => metricNames(expr).filter((n) => !known.has(n)).map((n) => `${panel}: ${n}`));
  expect(unknown).toEqual([]);
});

test('the dashboard shows every metric Unbroken defines, and every panel queries something', async () => {
  const used = new Set(queries().flatMap(({ expr }) => metricNames(expr)));
  const ours = [
    'unbroken_events_accepted_total',
    'unbroken_events_rejected_total',
    'unbroken_journey_entries_total',
    'unbroken_journey_outcomes_total',
    'unbroken_messages_total',
    'unbroken_send_duration_seconds',
    'unbroken_http_requests_total',
    'unbroken_http_request_duration_seconds',
    'unbroken_routing_backlog_events',
    'unbroken_routing_lag_seconds',
  ];
  expect(ours.filter((name) => !used.has(name))).toEqual([]);
  const dashboard = JSON.parse(fs.readFileSync(dashboardPath, 'utf8')) as { panels: Panel[] };
  expect(dashboard.panels.filter((p) => p.type !== 'row' && !p.targets?.length).map((p) => p.title)).toEqual([]);
});
