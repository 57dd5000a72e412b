/**
 * Configuration, read once from the environment and checked with zod. A bad value stops the
 * process with every problem listed and how to fix it; nothing is silently defaulted away.
 */
import { z } from 'zod';
import type { FrequencyCap } from '../activities/types';
import { parseDuration } from '../compiler/durations';
import { isValidTimeZone } from '../core/time';

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

const schema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233').describe('host:port of the Temporal frontend'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('unbroken'),
  TEMPORAL_API_KEY: z.string().min(1).optional().describe('Temporal Cloud API key; turns TLS on'),
  TEMPORAL_TLS: z.enum(['true', 'false']).default('false'),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be smtp://host:port or smtps://user:pass@host:port' }).default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('Unbroken <no-reply@localhost>'),
  DATABASE_URL: z.string().min(1).optional(),
  UNBROKEN_DATA_DIR: z.string().min(1).default('.data'),
  UNBROKEN_DEFINITIONS: z.string().min(1).default('definitions'),
  UNBROKEN_DEFAULT_TIMEZONE: z.string().refine(isValidTimeZone, 'must be an IANA timezone such as Europe/Berlin').default('UTC'),
  UNBROKEN_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('port of the event API'),
  UNBROKEN_WRITE_KEY: z.string().min(16, 'must be at least 16 characters').optional().describe('write key for the event API'),
  UNBROKEN_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(512 * 1024),
  UNBROKEN_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:9464')
    .optional()
    .describe('where the worker serves Prometheus metrics'),
  UNBROKEN_FREQUENCY_CAPS: z.string().default(DEFAULT_FREQUENCY_CAPS).describe('global frequency caps'),
  UNBROKEN_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be the http:// or https:// address customers reach the API at, e.g. https://mail.example.com' })
    .optional()
    .describe('base URL of unsubscribe links'),
  UNBROKEN_UNSUBSCRIBE_SECRET: z.string().min(32, 'must be at least 32 characters, e.g. from `openssl rand -hex 32`').optional(),
  UNBROKEN_UNSUBSCRIBE_TTL: durationText('the lifetime of an unsubscribe link').default('60d'),
  UNBROKEN_QUIET_HOURS: z
    .string()
    .refine((value) => parseQuietHours(value) !== undefined, 'must be a local time window HH:MM-HH:MM with different ends, e.g. 21:00-08:00')
    .optional(),
  SMS_PROVIDER: z.enum(['log', 'twilio'], { error: 'must be log (write SMS to the worker log) or twilio' }).default('log'),
  TWILIO_ACCOUNT_SID: z.string().min(1).optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_FROM: z.string().min(1).optional().describe('sender phone number (E.164)'),
  TWILIO_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('https://api.twilio.com')
    .describe('Twilio-compatible API base, for a regional edge or a test double'),
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
  };
  smtpUrl: string;
  mailFrom: string;
  databaseUrl?: string;
  dataDir: string;
  definitionsDir: string;
  defaultTimezone: string;
  webhookSecret?: string;
  metricsAddress?: string;
  port: number;
  writeKey?: string;
  maxBodyBytes: number;
  /** Global frequency caps (UNBROKEN_FREQUENCY_CAPS); empty when `none`. */
  frequencyCaps: FrequencyCap[];
  /** Base URL unsubscribe links point at, without a trailing slash. */
  publicUrl: string;
  /** Key that signs unsubscribe tokens; absent: `unbroken start` generates one into the data dir. */
  unsubscribeSecret?: string;
  /** How long an unsubscribe link stays valid, in ms. */
  unsubscribeTtlMs: number;
  /** Global quiet hours in the customer's local time; absent: none. */
  quietHours?: QuietHours;
  sms: SmsConfig;
  /** True when TEMPORAL_ADDRESS was not given: `unbroken start` runs its own dev server. */
  embeddedTemporal: boolean;
  /** True when SMTP_URL was not given: `unbroken start` runs its own mail catcher. */
  embeddedSmtp: boolean;
};

/** Keys whose values are never echoed in error messages. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'TEMPORAL_API_KEY',
  'UNBROKEN_WEBHOOK_SECRET',
  'UNBROKEN_WRITE_KEY',
  'UNBROKEN_UNSUBSCRIBE_SECRET',
  'TWILIO_AUTH_TOKEN',
]);

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
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]);
        const value = cleaned[key];
        // A secret that is merely too short must still not end up in a terminal or a log.
        const got = SECRET_KEYS.has(key) && value !== undefined ? `${value.length} characters` : JSON.stringify(value ?? null);
        return `${i.path.join('.')}: ${i.message} (got ${got})`;
      }).concat(
        // Cap entries are checked after the schema; list their problems too, so one run shows all.
        parseFrequencyCaps(cleaned.UNBROKEN_FREQUENCY_CAPS ?? DEFAULT_FREQUENCY_CAPS).problems,
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
  const sms = smsConfig(e, problems);
  if (problems.length) throw new ConfigError(problems);
  const ttl = parseDuration(e.UNBROKEN_UNSUBSCRIBE_TTL);
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_TLS_CERT_PATH !== undefined,
      tlsCertPath: e.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: e.TEMPORAL_TLS_KEY_PATH,
    },
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.UNBROKEN_DATA_DIR,
    definitionsDir: e.UNBROKEN_DEFINITIONS,
    defaultTimezone: e.UNBROKEN_DEFAULT_TIMEZONE,
    webhookSecret: e.UNBROKEN_WEBHOOK_SECRET,
    metricsAddress: e.UNBROKEN_METRICS_ADDRESS,
    port: e.PORT,
    writeKey: e.UNBROKEN_WRITE_KEY,
    maxBodyBytes: e.UNBROKEN_MAX_BODY_BYTES,
    frequencyCaps: caps.caps,
    publicUrl: (e.UNBROKEN_PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ''),
    unsubscribeSecret: e.UNBROKEN_UNSUBSCRIBE_SECRET,
    // Checked by the schema above, so the parse cannot fail here.
    unsubscribeTtlMs: ttl.ok ? ttl.ms : 0,
    quietHours: e.UNBROKEN_QUIET_HOURS === undefined ? undefined : parseQuietHours(e.UNBROKEN_QUIET_HOURS),
    sms,
    embeddedTemporal: cleaned.TEMPORAL_ADDRESS === undefined,
    embeddedSmtp: cleaned.SMTP_URL === undefined,
  };
}

/**
 * Builds the SMS settings: Twilio needs its account, token and sender together, and Twilio
 * settings without SMS_PROVIDER=twilio are refused rather than left unused, so SMS never end
 * up in the log when the operator meant to send them.
 */
function smsConfig(e: z.infer<typeof schema>, problems: string[]): SmsConfig {
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
