/**
 * Configuration, read once from the environment and checked with zod. A bad value stops the
 * process with every problem listed and how to fix it; nothing is silently defaulted away.
 */
import { z } from 'zod';

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

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
  UNBROKEN_DEFAULT_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA timezone such as Europe/Berlin').default('UTC'),
  UNBROKEN_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('port of the event API'),
  UNBROKEN_WRITE_KEY: z.string().min(16, 'must be at least 16 characters').optional().describe('write key for the event API'),
  UNBROKEN_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(512 * 1024),
  UNBROKEN_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:9464')
    .optional()
    .describe('where the worker serves Prometheus metrics'),
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
  /** True when TEMPORAL_ADDRESS was not given: `unbroken start` runs its own dev server. */
  embeddedTemporal: boolean;
  /** True when SMTP_URL was not given: `unbroken start` runs its own mail catcher. */
  embeddedSmtp: boolean;
};

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
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])] ?? null)})`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if ((e.TEMPORAL_TLS_CERT_PATH === undefined) !== (e.TEMPORAL_TLS_KEY_PATH === undefined)) {
    problems.push('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH: set both for mTLS, or neither');
  }
  if (problems.length) throw new ConfigError(problems);
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
    embeddedTemporal: cleaned.TEMPORAL_ADDRESS === undefined,
    embeddedSmtp: cleaned.SMTP_URL === undefined,
  };
}
