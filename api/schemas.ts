/**
 * Request bodies of the Segment-compatible event API (track, identify, batch), checked with zod.
 *
 * Unknown top-level keys are dropped rather than refused: Segment libraries send extras such as
 * `integrations`, `_metadata` or `writeKey` that Unbroken has no use for. Known keys with the
 * wrong type are refused, so a client bug surfaces as a 400 naming the field instead of an event
 * that silently never matches a journey.
 */
import { z } from 'zod';
import { hasControlCharacter, hasLoneSurrogate, parseEmailAddress, parsePhoneNumber } from '../core/addresses';
import { isValidTimeZone } from '../core/time';

/** Longest accepted userId / anonymousId. */
export const MAX_ID_LENGTH = 256;
/** Longest accepted event name. */
export const MAX_EVENT_NAME_LENGTH = 200;
/** Longest accepted messageId. */
export const MAX_MESSAGE_ID_LENGTH = 200;
/** Most items accepted in one `/v1/batch` call. */
export const MAX_BATCH_ITEMS = 500;
/**
 * Deepest nesting of objects and arrays accepted in `properties`, `traits` and `context` (the
 * field itself is level 1). Real events stay far below it; a deeper body is refused at the door
 * instead of overflowing the stack of whatever later walks it.
 */
export const MAX_NESTING_DEPTH = 32;

/** Segment spec types Unbroken does not ingest; named in the error so a client knows why. */
const UNSUPPORTED_TYPES = ['page', 'screen', 'group', 'alias'];

/** Error text for a value that is missing or has the wrong JSON type. */
function typeError(expected: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}, got ${describe(issue.input)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Why text is unfit for an id or a name: a control character, or a lone surrogate (not Unicode). */
function textProblem(text: string): string | undefined {
  if (hasControlCharacter(text)) return 'must not contain control characters or line breaks';
  if (hasLoneSurrogate(text)) return 'must be valid Unicode text (it holds a lone surrogate)';
  return undefined;
}

/** Adds `textProblem` to a string schema. */
function cleanText(schema: z.ZodString) {
  return schema.superRefine((text, ctx) => {
    const problem = textProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/**
 * Whether `value` nests deeper than `limit` levels of objects and arrays. Walks with its own
 * stack, not recursion, so no depth of input can overflow it.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

/**
 * userId / anonymousId: Segment allows numbers and some databases hand them out, so they are
 * turned into strings here, once, and every store lookup sees one spelling. `null` means "not
 * given": analytics.js sends `"userId": null` for visitors it has not identified yet.
 */
const id = z
  .union([z.string(), z.number()], { error: typeError('a string or a number') })
  .nullable()
  .optional()
  .superRefine((value, ctx) => {
    // A number past 2^53 has already been rounded by JSON parsing: it would merge with another id.
    const problem =
      typeof value === 'number'
        ? Number.isSafeInteger(value)
          ? undefined
          : `must be a whole number up to ${Number.MAX_SAFE_INTEGER}; send larger or fractional ids as strings`
        : typeof value === 'string'
          ? textProblem(value)
          : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => (value === null || value === undefined ? undefined : String(value)))
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
      .optional(),
  );

const object = z.record(z.string(), z.unknown(), { error: typeError('an object') }).superRefine((value, ctx) => {
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) {
    ctx.addIssue({ code: 'custom', message: `must not nest objects and arrays more than ${MAX_NESTING_DEPTH} levels deep` });
  }
});

const isoTimestamp = z
  .string({ error: typeError('an ISO-8601 timestamp string') })
  .pipe(z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp with a time zone, e.g. 2024-05-01T12:00:00Z' }))
  // Stored times are UTC text compared as strings: a year outside 0001–9999 in UTC (e.g.
  // 9999-12-31T23:59:59-14:00) would be written `+010000-…` and sort before every other time.
  .refine(fourDigitUtcYear, 'must fall between the years 0001 and 9999 in UTC');

/** True unless the time parses to a UTC year outside 0001–9999 (text that does not parse is the format check's to report). */
function fourDigitUtcYear(value: string): boolean {
  const year = new Date(value).getUTCFullYear();
  return Number.isNaN(year) || (year >= 1 && year <= 9999);
}

const messageId = cleanText(z.string({ error: typeError('a string') }))
  .min(1, 'must not be empty')
  .max(MAX_MESSAGE_ID_LENGTH, `must be at most ${MAX_MESSAGE_ID_LENGTH} characters`);

const eventName = cleanText(z.string({ error: typeError('a string') }))
  .max(MAX_EVENT_NAME_LENGTH, `must be at most ${MAX_EVENT_NAME_LENGTH} characters`)
  .refine((name) => name.trim() !== '', 'must not be empty');

/** Fields every call shares. */
const common = {
  userId: id,
  anonymousId: id,
  timestamp: isoTimestamp.optional(),
  sentAt: isoTimestamp.optional(),
  messageId: messageId.optional(),
  context: object.optional(),
};

/** An event without any identity cannot be attached to a customer; say so on `userId`. */
function requireIdentity(value: { userId?: string; anonymousId?: string }, ctx: z.RefinementCtx): void {
  if (value.userId === undefined && value.anonymousId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['userId'], message: 'userId or anonymousId is required' });
  }
}

const trackFields = {
  ...common,
  event: eventName,
  properties: object.optional(),
};

/**
 * `traits.subscriptions` sets subscription state per channel and category; checked here so a bad
 * shape is a 400 naming the field, not a store failure the client would retry.
 */
const subscriptionValue = z.union([z.boolean(), z.enum(['subscribed', 'unsubscribed']), z.null()], {
  error: 'must be true, false, "subscribed" or "unsubscribed"',
});
const subscriptionsTrait = z
  .record(z.string().min(1), z.record(z.string().min(1), subscriptionValue, { error: typeError('a map of categories') }).nullable(), {
    error: typeError('a map of channels, e.g. { "email": { "marketing": false } }'),
  })
  .nullable();

/**
 * `traits.email`: exactly one email address, stored in its canonical form (the bare address,
 * lower-case); `null` or `""` removes it. A list, a group, a header line or a value that is no
 * address is a 400 naming the field, never something a send later guesses at.
 */
const emailTrait = z
  .string({ error: typeError('an email address string') })
  .nullable()
  .transform((value, ctx) => {
    if (value === null || value === '') return value;
    const parsed = parseEmailAddress(value);
    if (parsed.ok) return parsed.address;
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  });

/** `traits.phone`: one phone number, stored in E.164 (`+4915112345678`); `null` or `""` removes it. */
const phoneTrait = z
  .string({ error: typeError('a phone number string, e.g. "+4915112345678"') })
  .nullable()
  .transform((value, ctx) => {
    if (value === null || value === '') return value;
    const parsed = parsePhoneNumber(value);
    if (parsed.ok) return parsed.address;
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  });

/** `traits.tags`: a list of strings; `null` empties it. */
const tagsTrait = z.array(z.string({ error: typeError('a string') }), { error: typeError('an array of strings, e.g. ["vip"]') }).nullable();

/** `traits.timezone`: an IANA time zone such as `Europe/Berlin`; `null` or `""` removes it. */
const timezoneTrait = z
  .string({ error: typeError('an IANA time zone string, e.g. "Europe/Berlin"') })
  .nullable()
  .refine((zone) => zone === null || zone === '' || isValidTimeZone(zone), 'must be an IANA time zone, e.g. "Europe/Berlin"');

const identifyFields = {
  ...common,
  traits: object
    .pipe(
      z.looseObject({
        subscriptions: subscriptionsTrait.optional(),
        email: emailTrait.optional(),
        phone: phoneTrait.optional(),
        tags: tagsTrait.optional(),
        timezone: timezoneTrait.optional(),
      }),
    )
    .optional(),
};

/** Body of `POST /v1/track`; `type` may be omitted but, if sent, must say `track`. */
export const trackSchema = z
  .object({ ...trackFields, type: z.literal('track', { error: 'must be "track" on /v1/track' }).optional() }, { error: typeError('a JSON object') })
  .superRefine(requireIdentity)
  .transform((value) => ({ ...value, type: 'track' as const }));

/** Body of `POST /v1/identify`; `type` may be omitted but, if sent, must say `identify`. */
export const identifySchema = z
  .object({ ...identifyFields, type: z.literal('identify', { error: 'must be "identify" on /v1/identify' }).optional() }, { error: typeError('a JSON object') })
  .superRefine(requireIdentity)
  .transform((value) => ({ ...value, type: 'identify' as const }));

const batchItem = z.discriminatedUnion(
  'type',
  [
    z.object({ ...trackFields, type: z.literal('track') }).superRefine(requireIdentity),
    z.object({ ...identifyFields, type: z.literal('identify') }).superRefine(requireIdentity),
  ],
  {
    error: (issue) => {
      const input = issue.input as { type?: unknown } | undefined;
      if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
        return `must be an object, got ${describe(input)}`;
      }
      const type = input.type;
      if (typeof type === 'string' && UNSUPPORTED_TYPES.includes(type)) {
        return `"${type}" calls are not supported; send "track" or "identify"`;
      }
      return type === undefined ? 'is required: "track" or "identify"' : `must be "track" or "identify", got ${JSON.stringify(type)}`;
    },
  },
);

/** Body of `POST /v1/batch`: up to 500 track/identify calls, with a context shared by all. */
export const batchSchema = z.object(
  {
    batch: z
      .array(batchItem, { error: typeError('an array of track or identify calls') })
      .min(1, 'must hold at least one call')
      .max(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} calls; split it into several requests`),
    context: object.optional(),
    sentAt: isoTimestamp.optional(),
  },
  { error: typeError('a JSON object') },
);

/** A validated track call. */
export type TrackCall = z.output<typeof trackSchema>;
/** A validated identify call. */
export type IdentifyCall = z.output<typeof identifySchema>;
/** A validated batch body. */
export type BatchBody = z.output<typeof batchSchema>;
/** One validated call, whatever endpoint it came through. */
export type Call = TrackCall | IdentifyCall;

/** One bad field of a rejected request, path dotted (`batch.2.event`), `body` for the whole body. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Turns zod issues into `{ field, message }` pairs, the shape the API returns. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length === 0 ? 'body' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/**
 * The calls of a batch body, each with the batch's shared context under its own (the call's keys
 * win, as in Segment's batch semantics).
 */
export function batchCalls(body: BatchBody): Call[] {
  return body.batch.map((item) => {
    const context = body.context === undefined && item.context === undefined ? undefined : { ...body.context, ...item.context };
    return context === undefined ? item : { ...item, context };
  });
}

/**
 * Body of `POST /v1/suppressions`: an address that must never be sent to again, stored in its
 * canonical form (the same form identify stores and every send compares).
 */
export const suppressionSchema = z
  .strictObject(
    {
      channel: z.enum(['email', 'sms'], { error: 'must be "email" or "sms"' }),
      address: z.string({ error: typeError('a string') }).trim().min(3, 'must be an email address or phone number').max(320, 'must be at most 320 characters'),
      reason: z.enum(['hard_bounce', 'complaint', 'manual'], { error: 'must be "hard_bounce", "complaint" or "manual"' }),
    },
    { error: typeError('a JSON object') },
  )
  .transform((value, ctx) => {
    const parsed = value.channel === 'email' ? parseEmailAddress(value.address) : parsePhoneNumber(value.address);
    if (parsed.ok) return { ...value, address: parsed.address };
    ctx.addIssue({ code: 'custom', path: ['address'], message: parsed.reason });
    return z.NEVER;
  });
