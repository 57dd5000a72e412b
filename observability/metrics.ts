/**
 * Every Prometheus metric Unbroken exports, defined in one place. The parts that count (the API,
 * the router, the send and record-step activities) receive a `Metrics` object through their
 * existing deps; `noMetrics` is the default, so unit tests and `simulate` count nothing.
 *
 * Label values never come from request data: they are fixed sets below, route patterns, or
 * journey ids and channel names the compiler validated. Metrics hold no personal data.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why the event API refused an event request; a fixed set, so a caller cannot mint label values. */
export const REJECTION_REASONS = ['invalid_request', 'unauthorized', 'payload_too_large', 'unsupported_media_type', 'unavailable', 'internal', 'other'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What one `sendMessage` call came to: `sent`, a skip reason, `deferred`, or an error (`failed`: permanent, `error`: retried). */
export type MessageResult = string;

/** Events stored but not yet routed into journeys, as the store reports them. */
export interface RoutingBacklog {
  events: number;
  /** `receivedAt` (ISO) of the oldest unrouted event; absent when there is none. */
  oldestReceivedAt?: string;
}

/** What the instrumented parts call; one method per thing that happens. */
export interface Metrics {
  eventAccepted(type: 'track' | 'identify'): void;
  eventRejected(reason: RejectionReason): void;
  journeyEntered(journey: string): void;
  journeyEnded(journey: string, outcome: string): void;
  messageFinished(channel: string, result: MessageResult): void;
  sendDuration(channel: string, seconds: number): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
}

/** Counts nothing: the default wherever no registry is wired in. */
export const noMetrics: Metrics = {
  eventAccepted: () => undefined,
  eventRejected: () => undefined,
  journeyEntered: () => undefined,
  journeyEnded: () => undefined,
  messageFinished: () => undefined,
  sendDuration: () => undefined,
  httpRequest: () => undefined,
};

/** Prefix of every metric we define (and of the default process metrics). */
export const METRIC_PREFIX = 'unbroken_';

/** Metrics of one process, in their own registry (so tests running several systems do not mix). */
export class ProcessMetrics implements Metrics {
  readonly registry = new Registry();
  private backlogSource?: () => Promise<RoutingBacklog>;

  private readonly accepted = new Counter({
    name: 'unbroken_events_accepted_total',
    help: 'Events stored and routed (duplicates of an already routed messageId are not counted), by call type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private readonly rejected = new Counter({
    name: 'unbroken_events_rejected_total',
    help: 'Event requests (/v1/track, /v1/identify, /v1/batch) refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly entries = new Counter({
    name: 'unbroken_journey_entries_total',
    help: 'Customers entered into a journey (runs started), by journey.',
    labelNames: ['journey'] as const,
    registers: [this.registry],
  });
  private readonly outcomes = new Counter({
    name: 'unbroken_journey_outcomes_total',
    help: 'Journey runs ended, by journey and outcome (completed, converted, exited, failed).',
    labelNames: ['journey', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly messages = new Counter({
    name: 'unbroken_messages_total',
    help: 'Send steps finished, by channel and result (sent, a skip reason, deferred, failed, error).',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry],
  });
  private readonly sendSeconds = new Histogram({
    name: 'unbroken_send_duration_seconds',
    help: 'Time to hand one message to its channel (SMTP, SMS provider, webhook), by channel.',
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly httpRequests = new Counter({
    name: 'unbroken_http_requests_total',
    help: 'HTTP requests to the event API, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpSeconds = new Histogram({
    name: 'unbroken_http_request_duration_seconds',
    help: 'Event API response time, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** One backlog read per scrape, shared by both gauges. */
  private backlogRead?: Promise<RoutingBacklog | undefined>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const events: Gauge = new Gauge({
      name: 'unbroken_routing_backlog_events',
      help: 'Events stored but not yet routed into journeys (read from the store at scrape time).',
      registers: [this.registry],
      collect: async () => {
        const backlog = await this.backlog();
        if (backlog) events.set(backlog.events);
      },
    });
    const lag: Gauge = new Gauge({
      name: 'unbroken_routing_lag_seconds',
      help: 'Age of the oldest event not yet routed, 0 when none (read from the store at scrape time).',
      registers: [this.registry],
      collect: async () => {
        const backlog = await this.backlog();
        if (!backlog) return;
        const oldest = backlog.oldestReceivedAt;
        lag.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
      },
    });
  }

  /** Reads the routing backlog from `source` at each scrape (a process with a store calls this once). */
  watchRoutingBacklog(source: () => Promise<RoutingBacklog>): void {
    this.backlogSource = source;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  eventAccepted(type: 'track' | 'identify'): void {
    this.accepted.inc({ type });
  }

  eventRejected(reason: RejectionReason): void {
    this.rejected.inc({ reason });
  }

  journeyEntered(journey: string): void {
    this.entries.inc({ journey });
  }

  journeyEnded(journey: string, outcome: string): void {
    this.outcomes.inc({ journey, outcome });
  }

  messageFinished(channel: string, result: MessageResult): void {
    this.messages.inc({ channel, result });
  }

  sendDuration(channel: string, seconds: number): void {
    this.sendSeconds.observe({ channel }, seconds);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpSeconds.observe({ method, route }, seconds);
  }

  /**
   * A store that cannot answer leaves both gauges as they were rather than failing the whole
   * scrape, which still shows everything else (and /readyz names the store).
   */
  private backlog(): Promise<RoutingBacklog | undefined> {
    const source = this.backlogSource;
    if (!source) return Promise.resolve(undefined);
    this.backlogRead ??= source()
      .catch(() => undefined)
      .finally(() => setImmediate(() => (this.backlogRead = undefined)));
    return this.backlogRead;
  }
}

/** The rejection reason of an event request that ended with `status`. */
export function rejectionReason(status: number): RejectionReason {
  switch (status) {
    case 400:
      return 'invalid_request';
    case 401:
      return 'unauthorized';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 503:
      return 'unavailable';
    case 500:
      return 'internal';
    default:
      return 'other';
  }
}

/** Times `work` as one hand-off of a message to `channel`, whether it succeeds or throws. */
export async function timeSend<T>(metrics: Metrics | undefined, channel: string, work: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    metrics?.sendDuration(channel, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** What a send step answered, as far as counting goes (activities/types.ts SendMessageResult). */
interface SendOutcome {
  status: 'sent' | 'skipped' | 'deferred';
  channel: string;
  reason?: string;
}

/**
 * Counts one send by the channel it settled on and its result: `sent`, the skip reason,
 * `deferred`; a throw counts under the first channel as `failed` (permanent, not retried) or
 * `error` (Temporal retries it).
 */
export async function countSend<R extends SendOutcome>(metrics: Metrics | undefined, channel: string, work: () => Promise<R>): Promise<R> {
  let result: R;
  try {
    result = await work();
  } catch (err) {
    const permanent = typeof err === 'object' && err !== null && (err as { nonRetryable?: unknown }).nonRetryable === true;
    metrics?.messageFinished(channel, permanent ? 'failed' : 'error');
    throw err;
  }
  metrics?.messageFinished(result.channel, result.status === 'skipped' ? (result.reason ?? 'skipped') : result.status);
  return result;
}
