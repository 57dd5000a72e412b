/**
 * What a log line may not carry: credentials (headers, keys, passwords, tokens, URLs with a user
 * and password, unsubscribe links) and message bodies. Applied by the logger (observability/log.ts)
 * to every field, message and binding, so a careless `log.info({ config })` still leaks nothing.
 */
import { redactUrl } from '../core/redact';

/** What a removed value is replaced by. */
export const REDACTED = '[redacted]';

/** Nesting beyond this is cut: a log line is not a heap dump, and cycles end here too. */
const MAX_DEPTH = 8;

/**
 * Keys whose values go, compared lower-cased without `-` and `_`: any key containing one of
 * these parts (`x-api-key`, `authToken`, `set-cookie`, `UNBROKEN_WRITE_KEY`, `credential`, the
 * unsubscribe route's parameter) ...
 */
const SECRET_KEY_PARTS = ['authorization', 'cookie', 'password', 'passwd', 'secret', 'token', 'apikey', 'writekey', 'credential'];
/** ... and keys that are exactly one of these: nodemailer's `auth.pass`, and message bodies. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['pass', 'html', 'text', 'body']);

/** Whether a field of that name holds a secret or a message body. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(k) || SECRET_KEY_PARTS.some((part) => k.includes(part));
}

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
// Unsubscribe and survey links carry their credential in the path: the signed token, or the short code.
const LINK_PATH = /\/(unsubscribe|u|s)\/[^/?#\s"'<>]+/g;
const LINK_ROUTES: Record<string, string> = { unsubscribe: '/unsubscribe/:token', u: '/u/:code', s: '/s/:token' };
const SECRET_PARAM = /((?:^|[?&\s])[^=&#\s?/]*(?:token|secret|password|key)[^=&#\s?/]*=)[^&#\s"'<>]+/gi;
const AUTH_SCHEME = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/g;

/**
 * Hides credentials inside free text: URL user information (`smtp://user:***@host`),
 * unsubscribe and survey tokens and codes in paths (`/unsubscribe/:token`, `/u/:code`, `/s/:token`), secret-looking query
 * parameters (`?token=…`, also `token=…` in a sentence), and `Basic …`/`Bearer …` credentials.
 */
export function redactText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (url) => redactUrl(url))
    .replace(LINK_PATH, (_path, route: string) => LINK_ROUTES[route])
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`);
}

/**
 * A copy of `value` safe to log: secret keys replaced at any depth, text redacted, errors turned
 * into `{ type, message, stack, …fields, cause }` with the same treatment. The input is untouched.
 */
export function redact(value: unknown): unknown {
  return redactAt(value, 0, new Set());
}

function redactAt(value: unknown, depth: number, path: Set<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (value instanceof URL) return redactText(value.href);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (path.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactAt(item, depth + 1, path));
    const fields = value instanceof Error ? errorFields(value) : Object.entries(value);
    return Object.fromEntries(
      fields.map(([key, item]) => [key, isSecretKey(key) && item !== undefined && item !== null ? REDACTED : redactAt(item, depth + 1, path)]),
    );
  } finally {
    path.delete(value);
  }
}

/** An error's fields as pino would log them, its own fields (`code`, `statusCode`, …) and cause included. */
function errorFields(error: Error): [string, unknown][] {
  const fields: [string, unknown][] = [
    ['type', error.name],
    ['message', error.message],
    ['stack', error.stack],
  ];
  fields.push(...Object.entries(error).filter(([key]) => !['name', 'message', 'stack', 'cause'].includes(key)));
  // `new Error(m, { cause })` makes `cause` non-enumerable, so it is read by name.
  if (error.cause !== undefined) fields.push(['cause', error.cause]);
  return fields;
}
