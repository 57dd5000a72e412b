/**
 * The journey and template languages as zod schemas. They are built twice from one definition:
 * `json` mode is the full, recursive shape exported as JSON Schema for editors; `validate` mode
 * has the same keys and descriptions but leaves the values the compiler checks itself
 * (durations, conditions, windows, nested step lists) as `unknown`, so those get hand-written
 * messages instead of zod's generic union errors.
 */
import { z } from 'zod';
import { SURVEY_SCALES } from '../core/surveys';
import { DURATION_PATTERN, SIGNED_DURATION_PATTERN } from './durations';

/** Every key that makes a map a step; a step has exactly one. */
export const STEP_KINDS = ['wait', 'wait_until', 'wait_for', 'send', 'update_profile', 'if', 'split', 'do', 'exit'] as const;
export type StepKey = (typeof STEP_KINDS)[number];

/** Keys that only make sense next to one step key. */
export const COMPANION_KEYS: Record<string, StepKey> = {
  then: 'if',
  else: 'if',
  on_event: 'wait_for',
  on_timeout: 'wait_for',
  with: 'do',
};

/** Comparison operators of the condition language. */
export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'contains', 'exists', 'before', 'after', 'starts_with', 'ends_with', 'matches'] as const;
/** Tests that compare text, so `case: insensitive` applies to them. */
export const TEXT_OPERATORS = ['eq', 'ne', 'in', 'nin', 'contains', 'starts_with', 'ends_with', 'matches'] as const;
/** Values of a test map's `case:` key. */
export const CASE_MODES = ['insensitive', 'sensitive'] as const;
/** Keys that combine conditions instead of testing a path. */
export const COMBINATORS = ['all', 'any', 'not'] as const;
/** First segment every condition path and expression must start with. */
export const ROOTS = ['profile', 'trigger', 'event', 'journey', 'consent', 'received', 'events'] as const;
/** Weekday names in `days:` lists, indexed 0 = Sunday like `TimeWindow.days`. */
export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** Channels a template may use. */
export const CHANNELS = ['email', 'sms', 'webhook'] as const;

/** Journey and template ids, and file names: lowercase words joined by dashes. */
export const KEBAB_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
/** Step ids and split variant names: kebab-case or snake_case words. */
export const STEP_ID_RE = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;
const HOURS_RE = /^\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}$/;
const TIME_RE = /^\d{1,2}:\d{2}$/;

export type SchemaMode = 'json' | 'validate';

function doc<T extends z.ZodType>(schema: T, description: string, examples?: unknown[]): T {
  return schema.meta(examples === undefined ? { description } : { description, examples });
}

/** Builds both languages for one mode. */
export function buildSchemas(mode: SchemaMode) {
  // In validate mode the compiler checks these values itself, with better messages.
  const checked = (json: z.ZodType): z.ZodType => (mode === 'json' ? json : z.unknown());

  const kebabId = (what: string) =>
    z.string().regex(KEBAB_RE, { message: `${what} must be kebab-case: lowercase letters, digits and dashes, e.g. "abandoned-cart"` });

  const duration = (description: string, examples: string[]) =>
    doc(checked(z.string().regex(new RegExp(DURATION_PATTERN))), description, examples);

  const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

  const tests = doc(
    z.strictObject({
      eq: doc(scalar, 'Equal to.', ['pro']).optional(),
      ne: doc(scalar, 'Not equal to.', ['free']).optional(),
      gt: doc(z.union([z.number(), z.string()]), 'Greater than (numbers, or ISO dates as text).', [100]).optional(),
      gte: doc(z.union([z.number(), z.string()]), 'Greater than or equal to.', [20]).optional(),
      lt: doc(z.union([z.number(), z.string()]), 'Less than.', [3]).optional(),
      lte: doc(z.union([z.number(), z.string()]), 'Less than or equal to.', [5]).optional(),
      in: doc(z.array(scalar), 'One of these values.', [['DE', 'AT', 'CH']]).optional(),
      nin: doc(z.array(scalar), 'None of these values.', [['test', 'internal']]).optional(),
      contains: doc(scalar, 'The list (or text) contains this value.', ['do-not-disturb']).optional(),
      exists: doc(z.boolean(), 'true: the value is set; false: it is missing.', [true]).optional(),
      before: doc(z.string(), 'Earlier than an ISO date, or than a time relative to now ("-30d" = 30 days ago).', ['-30d', '2025-01-01']).optional(),
      after: doc(z.string(), 'Later than an ISO date, or than a time relative to now.', ['-7d']).optional(),
      starts_with: doc(z.string(), 'The text starts with this text. Quote numbers: starts_with: "+49".', ['+49']).optional(),
      ends_with: doc(z.string(), 'The text ends with this text.', ['@example.com']).optional(),
      matches: doc(
        z.string(),
        'The text matches this regular expression (RE2 syntax, checked by validate) anywhere; anchor it with ^ and $ to match the whole text. ' +
          'No {{ }} expressions. Matching takes time linear in the text, so no pattern can hang a journey.',
        ['^[A-Z]{2}-\\d{4}$'],
      ).optional(),
      case: doc(
        z.enum(CASE_MODES),
        'insensitive: eq, ne, in, nin, contains, starts_with, ends_with and matches ignore upper/lower case ("VIP" equals "vip"). ' +
          'Paths ending in email (profile.email, event.properties.billing_email) compare that way by default; case: sensitive turns it off.',
        ['insensitive'],
      ).optional(),
    }),
    'Tests for one value; several tests must all hold.',
    [{ gte: 20 }],
  );
  // One shared lazy reference makes the condition recursive while JSON Schema still gets a single
  // `condition` definition (getters or fresh lazies would mint a new anonymous definition per use).
  const conditionRef: z.ZodType = z.lazy(() => conditionShape);
  const conditionShape: z.ZodType = z
    .object({
      all: doc(z.array(conditionRef), 'All of these conditions hold.').optional(),
      any: doc(z.array(conditionRef), 'At least one of these conditions holds.').optional(),
      not: doc(conditionRef, 'This condition does not hold.').optional(),
      in_audience: doc(
        kebabId('audience id'),
        'The customer is in this audience (definitions/audiences/<id>.yaml). In audiences, a journey trigger\'s where and if steps.',
        ['lapsed-customers'],
      ).optional(),
    })
    .catchall(z.union([tests, scalar, z.array(scalar)]))
    .meta({
      id: 'condition',
      description:
        'A map of dotted paths (profile.*, trigger.*, event.*, journey.*, received.*, consent.<channel>.<category>) to tests; all entries must hold. ' +
        'received.* is the event the latest wait_for received (received.properties.score), readable after a wait_for. ' +
        'consent.sms.marketing reads subscribed, unsubscribed or unknown (no statement). ' +
        'events.<event name>.count, .first_at, .last_at and windowed counts like .count_7d read the customer\'s track events ' +
        '(in audiences, a trigger\'s where and if steps). ' +
        '`{ path: value }` is short for `{ path: { eq: value } }`. Combine with all / any / not.',
      examples: [{ 'profile.plan': 'pro' }, { 'trigger.properties.total': { gte: 20 } }, { 'received.properties.score': { lte: 6 } }],
    });
  const condition: z.ZodType = mode === 'json' ? conditionRef : z.unknown();

  const where = (extra: string, example: Record<string, unknown>) =>
    doc(condition, `Optional filter: only events for which this condition holds count. ${extra}`, [example]).optional();
  const eventWhere = { 'event.properties.cart_id': { eq: '{{ trigger.properties.cart_id }}' } };

  const eventName = doc(z.string().min(1), 'Name of a track event (Segment spec), exactly as your app sends it.', ['order_completed']);

  const matcher = (description: string, whereText: string, example: Record<string, unknown> = eventWhere) =>
    doc(z.strictObject({ event: eventName, where: where(whereText, example) }), description, [{ event: 'order_completed' }]);

  const days = doc(
    checked(z.array(z.enum(DAY_NAMES))),
    'Weekdays the window is open; all seven when omitted.',
    [['mon', 'tue', 'wed', 'thu', 'fri']],
  ).optional();
  const timezone = doc(
    checked(z.string()),
    '"customer" (the profile\'s timezone, falling back to the configured default) or an IANA zone like "Europe/Berlin".',
    ['customer', 'Europe/Berlin'],
  ).optional();
  const hours = doc(checked(z.string().regex(HOURS_RE)), 'Local time range "HH:MM-HH:MM"; the end is exclusive.', ['09:00-20:00']);

  // Step lists: recursive in json mode; in validate mode the compiler walks them itself.
  const steps = (description: string): z.ZodType =>
    doc(mode === 'json' ? z.array(z.lazy(() => step)) : z.array(z.unknown()), description);

  const waitUntilWindow = z.strictObject({
    days,
    hours: hours.optional(),
    time: doc(checked(z.string().regex(TIME_RE)), 'A local time of day "HH:MM" (instead of hours).', ['09:00']).optional(),
    timezone,
  });
  const waitUntilDate = z.strictObject({
    date: doc(
      checked(z.string()),
      'The date to wait for: an expression over the profile or trigger, or an ISO date. A date without a time ("2026-12-24") ' +
        'is a day on the customer\'s clock (profile timezone, else the configured default) starting at local midnight; ' +
        'the journey follows the date if it changes while the customer waits.',
      ['{{ profile.renewal_at }}', '{{ profile.birthday }}'],
    ),
    offset: doc(
      checked(z.string().regex(new RegExp(SIGNED_DURATION_PATTERN))),
      'Shift from that date; negative means before it. For a date without a time it counts local days and hours.',
      ['-7d', '2h'],
    ).optional(),
    time: doc(
      checked(z.string().regex(TIME_RE)),
      'Local time of day "HH:MM" on the date\'s day, in the customer\'s timezone (before the offset is applied).',
      ['09:00'],
    ).optional(),
    on_invalid: doc(
      z.enum(['exit', 'continue']),
      'When the date is missing or not a date: exit (default) ends the journey with outcome "exited" and reason invalid_date; ' +
        'continue goes on with the next step at once.',
      ['continue'],
    ).optional(),
  });
  const waitFor = z.strictObject({
    event: eventName,
    where: where('`event.*` is the event under test.', eventWhere),
    within: duration('How long to wait for the event before taking on_timeout.', ['23h', '3d']),
    since: doc(
      z.enum(['start', 'entry']),
      'Which events count: start (default) only those arriving while this step waits; entry also one the customer ' +
        'sent earlier in this run, since entering the journey, that no earlier wait_for took (the oldest matching one wins, ' +
        'and the step branches to on_event at once). Use entry when the event can arrive before the wait starts, e.g. an ' +
        'answer to a survey that arrived while a reminder was held back by the send window.',
      ['entry'],
    ).optional(),
  });
  const sendObject = z.strictObject({
    template: doc(z.string().min(1), 'Id of a template in templates/<id>.yaml.', ['cart-reminder']),
    to: doc(z.string().min(1), 'Send to this address instead of the profile\'s (Liquid allowed).', ['{{ profile.manager_email }}']).optional(),
    data: doc(z.record(z.string(), z.unknown()), 'Extra values for the template, available as `data.*` (Liquid allowed in text).', [
      { coupon: 'SAVE10' },
    ]).optional(),
    category: doc(
      z.string().regex(KEBAB_RE, { message: 'category must be a kebab-case word, e.g. "transactional"' }),
      'Overrides the template\'s category for this send.',
      ['transactional'],
    ).optional(),
    on_cap: doc(
      z.enum(['skip', 'defer']),
      'When a frequency cap is full: skip this message (default), or defer it until a slot frees.',
      ['defer'],
    ).optional(),
    channels: doc(
      z.array(z.enum(CHANNELS)).min(1),
      'Channels to try in order: the message goes out on the first one the customer can (has an address) and may ' +
        '(consent, not suppressed) receive; the others are recorded as passed over. The template needs content for ' +
        'each: its own channel, or a section named after the channel (sms:, email:, webhook:).',
      [['sms', 'email']],
    ).optional(),
  });
  const updateProfile = z.strictObject({
    set: doc(z.record(z.string(), z.unknown()), 'Traits to set (Liquid allowed in text values; `{{ now }}` is the journey clock).', [
      { last_cart_nudge_at: '{{ now }}' },
    ]).optional(),
    unset: doc(z.array(z.string().min(1)), 'Traits to remove.', [['cart_token']]).optional(),
    increment: doc(z.record(z.string(), z.number()), 'Numeric traits to add to (use a negative number to subtract).', [{ cart_nudges: 1 }]).optional(),
    add_tags: doc(z.array(z.string().min(1)), 'Tags to add to the profile.', [['cart-abandoner']]).optional(),
    remove_tags: doc(z.array(z.string().min(1)), 'Tags to remove from the profile.', [['vip-trial']]).optional(),
  });
  const variant = z.strictObject({
    name: doc(
      z.string().regex(STEP_ID_RE, { message: 'variant name must be kebab-case or snake_case, e.g. "short-copy"' }),
      'Variant name, used in step ids and reports.',
      ['control', 'discount'],
    ),
    weight: doc(z.number().positive(), 'Relative share of customers who get this variant.', [50]),
    steps: steps('Steps for customers in this variant (may be empty for a control group).'),
  });
  const split = z.strictObject({
    variants: doc(mode === 'json' ? z.array(variant).min(1) : z.array(z.unknown()).min(1), 'The variants; each customer gets one, stably.', [
      [{ name: 'a', weight: 50, steps: [] }],
    ]),
    holdout: doc(z.number().min(0).max(100), 'Percent of customers held out: they get no messages here and are counted.', [10]).optional(),
  });

  const stepBase = {
    id: doc(
      z.string().regex(STEP_ID_RE, { message: 'step id must be kebab-case or snake_case, e.g. "first-reminder"' }),
      'Stable step id for analytics, status and logs; derived from the position when omitted.',
      ['first-reminder'],
    ).optional(),
    name: doc(z.string(), 'Display name of the step.', ['First reminder']).optional(),
  };
  const stepKinds = {
    wait: z.strictObject({ ...stepBase, wait: duration('Pause the journey for this long (1s to 400d).', ['1h', '2d', '1d12h']) }),
    wait_until: z.strictObject({
      ...stepBase,
      wait_until: doc(
        mode === 'json' ? z.union([waitUntilWindow, waitUntilDate]) : z.unknown(),
        'Wait until the next moment inside a time window, or until a date from the profile/trigger shifted by an offset.',
        [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-17:00' }, { date: '{{ profile.renewal_at }}', offset: '-7d' }],
      ),
    }),
    wait_for: z.strictObject({
      ...stepBase,
      wait_for: doc(
        waitFor,
        'Wait for an event, at most `within`; then continue with on_event or on_timeout. The event received is `received.*` ' +
          '(e.g. received.properties.score) in the conditions, send data, templates and update_profile values of the steps after it; a timeout leaves `received` as it was.',
        [{ event: 'cart_viewed', within: '23h' }],
      ),
      on_event: steps('Steps when the event arrived in time; `received.*` is that event.').optional(),
      on_timeout: steps('Steps when it did not; `received.*` is still what an earlier wait_for received, if any.').optional(),
    }),
    send: z.strictObject({
      ...stepBase,
      send: doc(
        mode === 'json' ? z.union([z.string().min(1), sendObject]) : z.unknown(),
        'Render and send a template through its channel: a template id, or a map with template, to, data, category.',
        ['cart-reminder', { template: 'cart-reminder', data: { coupon: 'SAVE10' } }],
      ),
    }),
    update_profile: z.strictObject({
      ...stepBase,
      update_profile: doc(updateProfile, 'Change the customer profile.', [{ set: { plan: 'pro' }, add_tags: ['upgraded'] }]),
    }),
    if: z.strictObject({
      ...stepBase,
      if: doc(condition, 'Branch on a condition.', [{ 'profile.vip': true }]),
      then: steps('Steps when the condition holds.'),
      else: steps('Steps when it does not (optional).').optional(),
    }),
    split: z.strictObject({
      ...stepBase,
      split: doc(split, 'A/B split: each customer is assigned one variant, stably per customer and split id.', [
        { variants: [{ name: 'a', weight: 50, steps: [] }, { name: 'b', weight: 50, steps: [] }], holdout: 10 },
      ]),
    }),
    do: z.strictObject({
      ...stepBase,
      do: doc(z.string().min(1), 'Name of a registered activity to call.', ['notify-slack']),
      with: doc(z.record(z.string(), z.unknown()), 'Input for the activity; checked against its schema when compiling.', [{ channel: '#sales' }]).optional(),
    }),
    exit: z.strictObject({ ...stepBase, exit: doc(z.string().min(1), 'End the journey here (outcome "exited") with this reason.', ['not-eligible']) }),
  } satisfies Record<StepKey, z.ZodType>;
  const [first, second, ...rest]: z.ZodType[] = Object.values(stepKinds);
  const step: z.ZodType = z
    .union([first, second, ...rest])
    .meta({ id: 'step', description: 'One step: a map with exactly one step key, plus optional id and name.' });

  const journey = z
    .strictObject({
      journey: doc(kebabId('journey id'), 'Journey id: kebab-case, unique, equal to the file name.', ['abandoned-cart']),
      name: doc(z.string(), 'Display name.', ['Abandoned cart recovery']).optional(),
      description: doc(z.string(), 'What the journey is for, in a sentence or two.', ['Remind shoppers who left a cart.']).optional(),
      trigger: doc(
        z.strictObject({
          event: doc(eventName, 'The track event that lets a customer in (Segment spec), exactly as your app sends it. Give event or audience, not both.', [
            'cart_abandoned',
          ]).optional(),
          audience: doc(
            kebabId('audience id'),
            'Enter a customer when an identify or track of theirs finds them in this audience (definitions/audiences/<id>.yaml); ' +
              'trigger.* is that identify or track. Give event or audience, not both. Beside schedule: the audience enrolled at each of its times.',
            ['lapsed-customers'],
          ).optional(),
          schedule: doc(
            z.strictObject({
              cron: doc(
                z.string().min(1),
                'Five fields: minute hour day-of-month month day-of-week (numbers, *, ranges, lists, steps, names like mon or jan), read in timezone.',
                ['0 10 * * mon', '30 8 1 * *'],
              ),
              timezone: doc(z.string().min(1), 'The IANA zone the cron times are read in; UTC when omitted.', ['Europe/Berlin']).optional(),
            }),
            'Enrol the audience named beside it (audience: <id>) at each time of a cron schedule, e.g. a weekly newsletter. Each time is one occurrence: ' +
              'a customer enters at most once per occurrence. `unbroken trigger <journey-id>` runs one occurrence now.',
            [{ cron: '0 10 * * mon', timezone: 'Europe/Berlin' }],
          ).optional(),
          date: doc(
            checked(z.string().regex(/^profile(\.[A-Za-z_][A-Za-z0-9_]*)+$/)),
            'Enter each customer on a date of their profile (an ISO date like "1990-12-03"), at `at` local time: every year on its month and day, or once. ' +
              'trigger.event is date_reached, trigger.properties.occurrence the year (or the date, for once). A customer enters once per occurrence.',
            ['profile.birthday', 'profile.renewal_date'],
          ).optional(),
          every: doc(
            checked(z.enum(['year', 'once'])),
            'With date: year (the default) fires on the month and day every year, 29 February on 28 February in other years; once fires on the date itself.',
            ['year', 'once'],
          ).optional(),
          offset: doc(
            checked(z.string().regex(/^[+-]?\d{1,3}d$/)),
            'With date: whole days before (-) or after the date to fire on; 0 when omitted. The time of day is at.',
            ['-7d', '1d'],
          ).optional(),
          at: doc(
            checked(z.string().regex(TIME_RE)),
            'With date: the local time of day to fire at, "HH:MM" on a 24-hour clock; "09:00" when omitted. A profile that gets its date later that day still fires that day.',
            ['09:00'],
          ).optional(),
          timezone: doc(
            checked(z.string().min(1)),
            'With date: whose clock at is read on: customer (the default: the profile\'s timezone, else the deployment\'s default) or an IANA zone.',
            ['customer', 'Europe/Berlin'],
          ).optional(),
          where: where('`trigger.*` is the entering event.', { 'trigger.properties.total': { gte: 20 } }),
          key: doc(
            z.string().min(1),
            'Optional: one run per customer AND this value instead of one per customer, e.g. one per cart. ' +
              'A single quoted {{ trigger.… }} expression; re_entry, "already inside" and per_key caps then apply per key. ' +
              'An event whose key is missing or empty enters nobody.',
            ['{{ trigger.properties.cart_id }}'],
          ).optional(),
        }),
        'How a customer enters: a track event (optionally one run per key), an audience they start matching, an audience enrolled on a schedule, or a date of their profile, optionally filtered.',
        [
          { event: 'cart_abandoned' },
          { event: 'cart_abandoned', key: '{{ trigger.properties.cart_id }}' },
          { audience: 'lapsed-customers' },
          { schedule: { cron: '0 10 * * mon', timezone: 'Europe/Berlin' }, audience: 'newsletter-subscribers' },
          { date: 'profile.birthday', every: 'year', at: '09:00' },
        ],
      ),
      re_entry: doc(
        checked(z.union([z.enum(['never', 'always']), z.string().regex(new RegExp(DURATION_PATTERN))])),
        'May a customer enter again? never (the default), always, or a cool-down duration since the last entry. ' +
          'A schedule or date trigger enters each customer at most once per occurrence whatever this says; for them always is the default.',
        ['never', '30d'],
      ).optional(),
      goal: matcher('Conversion event: ends the journey at once with outcome "converted".', '`event.*` is the goal event.').optional(),
      exit_when: doc(
        z.array(
          doc(
            z.strictObject({
              event: eventName.optional(),
              where: where('`event.*` is that event.', eventWhere),
              left_audience: doc(
                z.literal(true),
                'Only for a journey with trigger: { audience: … }: end the run as soon as an identify or track finds the customer no longer in that audience.',
                [true],
              ).optional(),
            }),
            'An event that ends the journey with outcome "exited" (event, optional where), or left_audience: true.',
            [{ event: 'cart_emptied' }, { left_audience: true }],
          ),
        ),
        'Events that end the journey at once, outcome "exited".',
        [[{ event: 'cart_emptied' }], [{ left_audience: true }]],
      ).optional(),
      send_window: doc(
        z.strictObject({ days, hours: hours.optional(), timezone }),
        'Quiet hours for every send in the journey: sends outside wait for the window to open.',
        [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '09:00-20:00', timezone: 'customer' }],
      ).optional(),
      frequency_cap: doc(
        z.strictObject({
          max: doc(z.number().int().min(1), 'How many messages at most.', [1]),
          per: duration('The sliding window the maximum applies to.', ['24h', '7d']),
          per_key: doc(
            z.boolean(),
            'true: count only the sends of runs with the same trigger key (e.g. at most 2 reminders per cart); needs trigger.key.',
            [true],
          ).optional(),
        }),
        'At most this many non-transactional messages per channel and category from this journey, per customer, in the window; on top of the global caps.',
        [{ max: 1, per: '24h' }],
      ).optional(),
      survey_reminders: doc(
        z.number().int().min(0).max(10),
        'How many times one run may ask the same survey again when there is no answer (a reminder); 1 when omitted, 0 for none. ' +
          'Further sends of that survey are skipped (survey_fatigue), as are surveys to customers another survey asked recently.',
        [1],
      ).optional(),
      rate: doc(
        z.number().int().min(1).max(1000),
        'For a journey that starts from an audience, a schedule or a date: how many customers per second the audience sweep, a schedule and `unbroken trigger` (a broadcast) enter at most; 10 when omitted. ' +
          'Customers an event enters are not paced.',
        [10, 50],
      ).optional(),
      steps: steps('What happens, in order.'),
    })
    .meta({ title: 'Unbroken journey', description: 'A customer journey: trigger, steps, goal and exits.' });

  const liquid = (description: string, examples: string[]) => doc(z.string(), `${description} Liquid template.`, examples);
  // The same message for other channels, for sends that list `channels: [sms, email]`. Required
  // parts are optional here: the compiler says which one a section lacks (email: text or html).
  const section = (channel: string, shape: z.ZodRawShape, example: Record<string, string>) =>
    doc(
      z.strictObject(shape),
      `This message as ${channel === 'email' ? 'an' : 'a'} ${channel}, for sends whose channels: list ${channel}; the same keys as a ${channel} template. Not for the template's own channel.`,
      [example],
    ).optional();
  const channelSections = {
    email: section(
      'email',
      {
        subject: liquid('Email subject (required).', ['Your cart is waiting']).optional(),
        from: liquid('Sender; the configured default when omitted.', ['Shop <shop@example.com>']).optional(),
        text: liquid('Plain-text body (text or html required).', ['Your cart is waiting.']).optional(),
        html: liquid('HTML body; values are HTML-escaped.', ['<p>Your cart is waiting.</p>']).optional(),
      },
      { subject: 'Your cart is waiting', text: 'Your cart is saved for you.' },
    ),
    sms: section(
      'sms',
      {
        body: liquid('Text of the sms (required).', ['Your cart is waiting: {{ data.link }}']).optional(),
        from: liquid('Sender number or id; the configured default when omitted.', ['+15551234567']).optional(),
      },
      { body: 'Your cart is waiting: {{ data.link }}' },
    ),
    webhook: section(
      'webhook',
      {
        url: liquid('Address to POST to (required).', ['https://hooks.example.com/cart']).optional(),
        body: liquid('JSON request body (required).', ['{"customer": {{ profile.id | json }}}']).optional(),
      },
      { url: 'https://hooks.example.com/cart', body: '{"customer": {{ profile.id | json }}}' },
    ),
  };
  const template = z
    .strictObject({
      template: doc(kebabId('template id'), 'Template id: kebab-case, equal to the file name.', ['cart-reminder']),
      channel: doc(z.enum(CHANNELS), 'How the message is delivered: email, sms or webhook.', ['email']),
      category: doc(
        z.string().regex(KEBAB_RE, { message: 'category must be a kebab-case word, e.g. "transactional"' }),
        'marketing (default: respects unsubscribe, caps and quiet hours), transactional, or another kebab-case word.',
        ['marketing', 'transactional'],
      ).optional(),
      subject: liquid('Email subject (required for email).', ["{{ profile.first_name | default: 'Hi' }}, you left something in your cart"]).optional(),
      from: liquid('Sender, e.g. "Shop <shop@example.com>"; the configured default when omitted.', ['Shop <shop@example.com>']).optional(),
      text: liquid('Plain-text email body (email needs text or html).', ['Your cart is waiting.']).optional(),
      html: liquid('HTML email body; values are HTML-escaped.', ['<p>Hi {{ profile.first_name | default: "there" }},</p>']).optional(),
      body: liquid('Message body: the text of an sms (required), or the request body of a webhook.', ['Your cart is waiting: {{ data.link }}']).optional(),
      url: liquid('Webhook address to POST to (required for webhook).', ['https://hooks.example.com/cart']).optional(),
      survey: doc(
        z.strictObject({
          id: doc(
            kebabId('survey id'),
            'Survey id, kebab-case. Answers, reports (unbroken feedback --survey) and the profile traits last_<id>_score and last_<id>_at ' +
              '(dashes become underscores) are named by it; every template asking it must use the same scale.',
            ['delivery-nps'],
          ),
          scale: doc(
            z.enum(SURVEY_SCALES),
            'nps (0–10, how likely to recommend), csat (1–5, how satisfied), ces (1–7, how easy) or thumbs (0 = down, 1 = up).',
            ['nps'],
          ),
          question: doc(
            z.string().regex(/\S/, { message: 'the survey question must not be empty' }),
            'The question shown above the score buttons and on the answer page. Liquid template.',
            ['How likely are you to recommend us to a friend?'],
          ),
        }),
        'Makes the message a survey. Email shows the question and a row of score buttons, each a signed link that answers with ' +
          'that score, placed at {{ survey_buttons }} in html and {{ survey_links }} in text, else after the body (text and html ' +
          'may then be left out). Sms adds the question and a link to the answer page ({{ survey_url }}). Not for webhooks.',
        [{ id: 'delivery-nps', scale: 'nps', question: 'How likely are you to recommend us to a friend?' }],
      ).optional(),
      ...channelSections,
    })
    .meta({
      title: 'Unbroken message template',
      description:
        'A message template rendered with Liquid at send time. It reads profile.*, trigger.*, journey.*, data.*, now, unsubscribe_url, unsubscribe_short_url (a short link for sms), ' +
        'received.* (the event the latest wait_for received) when sent after a wait_for, and with survey: survey_buttons, survey_links and survey_url.',
    });

  const audience = z
    .strictObject({
      audience: doc(kebabId('audience id'), 'Audience id: kebab-case, equal to the file name.', ['lapsed-customers']),
      name: doc(z.string().min(1), 'A name for people, shown in reports.', ['Lapsed customers']).optional(),
      description: doc(z.string(), 'What the audience is for.', ['Ordered before, but not in the last 60 days']).optional(),
      where: doc(
        condition,
        'Who is in the audience: a condition over profile.*, consent.<channel>.<category>, events.<event name>.<aggregate> ' +
          '(count, first_at, last_at, count_7d …) and in_audience. All entries must hold.',
        [{ 'profile.email': { exists: true }, 'events.order_completed.count': { gte: 1 }, 'events.order_completed.last_at': { before: '-60d' } }],
      ),
    })
    .meta({
      title: 'Unbroken audience',
      description:
        'A named condition over what Unbroken knows about a customer (profile, consent, track events by their own timestamp). ' +
        'Journeys test it with in_audience in their trigger\'s where; unbroken audience <id> previews who matches now.',
    });

  return { journey, template, audience, stepKinds, waitUntilWindow, waitUntilDate, waitFor, sendObject, updateProfile, split, variant };
}

/** The schemas the compiler validates with. */
export const validateSchemas = buildSchemas('validate');

/** JSON Schema for journey files, as committed in definitions/schema/. */
export function journeyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(buildSchemas('json').journey, { io: 'input' }) as Record<string, unknown>;
}

/** JSON Schema for audience files, as committed in definitions/schema/. */
export function audienceJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(buildSchemas('json').audience, { io: 'input' }) as Record<string, unknown>;
}

/** JSON Schema for template files, as committed in definitions/schema/. */
export function templateJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(buildSchemas('json').template, { io: 'input' }) as Record<string, unknown>;
}
