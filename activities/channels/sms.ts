import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { parsePhoneNumber } from '../../core/addresses';
import { PERMANENT_DELIVERY_ERROR } from '../errors';
import type { SmsProvider } from '../types';
import { postRequest, requireHttpUrl } from './http';

/** Default time one provider request may take: well inside sendMessage's 30 s start-to-close timeout. */
export const SMS_TIMEOUT_MS = 10_000;

/**
 * The number in E.164 form (`+4915112345678`), by the one rule of core/addresses.ts (spaces,
 * dashes, dots and parentheses dropped). Anything else fails with a non-retryable
 * `PermanentDeliveryError`: no retry can make a bad number deliverable, and checking here spares
 * a paid provider round trip.
 */
export function normalizePhoneNumber(raw: string): string {
  const parsed = parsePhoneNumber(raw);
  if (!parsed.ok) {
    throw ApplicationFailure.nonRetryable(`invalid phone number ${JSON.stringify(raw)}: ${parsed.reason}`, PERMANENT_DELIVERY_ERROR);
  }
  return parsed.address;
}

/** Options of {@link logSmsProvider}. */
export interface LogSmsOptions {
  /** Where each line goes; standard error by default. */
  write?: (line: string) => void;
}

/** Development provider: writes one line per SMS instead of sending; providerId is `log-<hash of the idempotency key>`. */
export function logSmsProvider(options: LogSmsOptions = {}): SmsProvider {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    name: 'log',
    async send(message) {
      // Validate as the real provider would, so a bad number shows up in development too.
      const to = normalizePhoneNumber(message.to);
      // Derived from the key, so a retried send reports the same id, like a real provider would.
      const providerId = `log-${keyDigest(message.idempotencyKey)}`;
      // JSON-quoting keeps a multi-line body on one line.
      write(`sms ${providerId} to=${to}${message.from ? ` from=${message.from}` : ''} body=${JSON.stringify(message.body)}`);
      return { providerId };
    },
  };
}

/** Options of {@link twilioSmsProvider}. */
export interface TwilioOptions {
  /** TWILIO_ACCOUNT_SID, e.g. `AC…`. */
  accountSid: string;
  /** TWILIO_AUTH_TOKEN. */
  authToken: string;
  /** TWILIO_FROM: default sender — a number, an alphanumeric sender id, or a Messaging Service SID (`MG…`). */
  from: string;
  /** TWILIO_BASE_URL: another Twilio-compatible API or a test server; `https://api.twilio.com` by default. */
  baseUrl?: string;
  /** Per-request timeout in ms; defaults to {@link SMS_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Twilio 401 means our credentials are wrong: an operator can fix that while the retries run,
 * and the customer should not lose the message for it (the same rule as SMTP auth failures in
 * mailer.ts). Every other 4xx is about the message itself and stays permanent.
 */
const TWILIO_RETRYABLE: ReadonlySet<number> = new Set([401]);

/** Messaging Service SIDs go in `MessagingServiceSid`, not `From`. */
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/**
 * Sends through Twilio's Messages API (or a compatible one): one form-encoded POST per SMS with
 * Basic auth and `I-Twilio-Idempotency-Token`, classified like every other HTTP delivery.
 */
export function twilioSmsProvider(options: TwilioOptions): SmsProvider {
  const problems = [
    !options.accountSid && 'accountSid is empty',
    !options.authToken && 'authToken is empty',
    !options.from && 'from is empty',
  ].filter((p): p is string => typeof p === 'string');
  const base = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
  let endpoint: URL | undefined;
  try {
    endpoint = requireHttpUrl(`${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`, 'twilio baseUrl');
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (!endpoint || problems.length > 0) throw new Error(`twilio SMS provider: ${problems.join('; ')}`);
  const url = endpoint; // narrowed once, for the closure below

  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const timeoutMs = options.timeoutMs ?? SMS_TIMEOUT_MS;

  return {
    name: 'twilio',
    async send(message) {
      const to = normalizePhoneNumber(message.to);
      const from = message.from || options.from;
      const form = new URLSearchParams({ To: to, Body: message.body });
      form.set(MESSAGING_SERVICE_SID.test(from) ? 'MessagingServiceSid' : 'From', from);
      const answer = await postRequest({
        url,
        headers: new Headers({
          Authorization: authorization,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          'User-Agent': 'unbroken',
          'I-Twilio-Idempotency-Token': message.idempotencyKey,
        }),
        body: form.toString(),
        timeoutMs,
        label: 'twilio',
        retryableStatuses: TWILIO_RETRYABLE,
        // TWILIO_BASE_URL is set by ops, not by journeys or customers; a test server or a
        // provider inside the network is theirs to choose.
        destinations: { trusted: true },
        failureCode: twilioErrorCode,
      });
      return { providerId: messageSid(answer.text, message.idempotencyKey) };
    },
  };
}

/**
 * The `sid` of Twilio's answer. A 2xx without one (a loosely compatible provider) still means the
 * message was accepted, so it must not be retried into a duplicate; the id is then derived from
 * the idempotency key instead.
 */
function messageSid(text: string, idempotencyKey: string): string {
  try {
    const sid = (JSON.parse(text) as { sid?: unknown } | null)?.sid;
    if (typeof sid === 'string' && sid) return sid;
  } catch {
    // fall through: accepted without a readable body
  }
  return `twilio-${keyDigest(idempotencyKey)}`;
}

/** Twilio's numeric error code (`21211`: invalid To number) from an error answer; its message may echo the number and is not kept. */
function twilioErrorCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown } | null)?.code;
    return typeof code === 'number' && Number.isSafeInteger(code) ? `Twilio error ${code}` : undefined;
  } catch {
    return undefined;
  }
}

/** A short, stable id for a side effect: the same on every retry of it. */
function keyDigest(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16);
}

/** Which SMS provider to build; mirrors SMS_PROVIDER and the TWILIO_* settings. */
export interface SmsConfig {
  provider: 'log' | 'twilio';
  twilio?: TwilioOptions;
  log?: LogSmsOptions;
}

/** Builds the configured SMS provider; throws when `twilio` is chosen without its settings. */
export function createSmsProvider(config: SmsConfig): SmsProvider {
  switch (config.provider) {
    case 'log':
      return logSmsProvider(config.log);
    case 'twilio':
      if (!config.twilio) throw new Error('SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM');
      return twilioSmsProvider(config.twilio);
    default:
      throw new Error(`unknown SMS provider "${String((config as { provider: unknown }).provider)}": use log or twilio`);
  }
}
