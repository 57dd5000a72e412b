import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ProfileStoreError } from './errors';
import {
  applyProfileChanges,
  applyTraits,
  assembleStats,
  customerFromColumns,
  decideCaps,
  decideEntry,
  decideSubscription,
  emptyCustomer,
  ENDING_KINDS,
  isoTime,
  jsonOrNull,
  mergeCustomers,
  normaliseAddress,
  requireSomeId,
  splitSubscriptionTraits,
  toDeployedJourney,
  toEnrolment,
  toMessageRecord,
  toProfile,
  toStepRecord,
  toStoredEvent,
  validateCapCheck,
  windowStart,
  type CapUsage,
  type CustomerState,
  type EnrolmentColumns,
  type EventColumns,
  type MessageColumns,
  type Migration,
  type PastEntry,
  type StatsRows,
  type StepColumns,
  type SubscriptionChange,
} from './shared';
import type {
  CapCheck,
  CapDecision,
  DeliveryStore,
  DeployedJourney,
  DeployResult,
  EnrolDecision,
  Enrolment,
  JourneyStats,
  LiveStore,
  MessageRecord,
  Profile,
  ProfileChanges,
  ProfileStore,
  RecordEventResult,
  StepRecord,
  StoredEvent,
  SubscriptionStatus,
} from './store';

export type { Migration } from './shared';

/** The store's schema history, applied in order on open. Append new entries; never edit old ones. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'customers, profile changes, step records, messages',
    sql: `
      CREATE TABLE customers (
        id          TEXT PRIMARY KEY,
        email       TEXT,
        phone       TEXT,
        timezone    TEXT,
        traits      TEXT NOT NULL DEFAULT '{}',
        tags        TEXT NOT NULL DEFAULT '[]',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );
      CREATE TABLE profile_changes (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        applied_at      TEXT NOT NULL
      );
      CREATE TABLE step_records (
        idempotency_key TEXT PRIMARY KEY,
        workflow_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        version         TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        kind            TEXT NOT NULL,
        at              TEXT NOT NULL,
        detail          TEXT
      );
      CREATE INDEX step_records_workflow ON step_records (workflow_id);
      CREATE INDEX step_records_customer ON step_records (customer_id);
      CREATE TABLE messages (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        template        TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped')),
        result          TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      );
      CREATE INDEX messages_customer ON messages (customer_id);
    `,
  },
  {
    version: 2,
    name: 'live system: events, identity links, deployed journeys, enrolments',
    sql: `
      CREATE TABLE events (
        message_id   TEXT PRIMARY KEY,
        type         TEXT NOT NULL CHECK (type IN ('track', 'identify')),
        customer_id  TEXT NOT NULL,
        user_id      TEXT,
        anonymous_id TEXT,
        event        TEXT,
        properties   TEXT,
        traits       TEXT,
        context      TEXT,
        timestamp    TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        routed_at    TEXT
      );
      CREATE INDEX events_customer ON events (customer_id);
      CREATE TABLE identity_links (
        anonymous_id TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL,
        linked_at    TEXT NOT NULL
      );
      CREATE INDEX identity_links_user ON identity_links (user_id);
      CREATE TABLE journeys (
        journey_id  TEXT PRIMARY KEY,
        version     TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        deployed_at TEXT NOT NULL
      );
      CREATE TABLE journey_versions (
        journey_id  TEXT NOT NULL,
        version     TEXT NOT NULL,
        plan        TEXT NOT NULL,
        deployed_at TEXT NOT NULL,
        PRIMARY KEY (journey_id, version)
      );
      CREATE TABLE enrolments (
        workflow_id  TEXT PRIMARY KEY,
        journey_id   TEXT NOT NULL,
        customer_id  TEXT NOT NULL,
        entry        INTEGER NOT NULL,
        version      TEXT NOT NULL,
        entered_at   TEXT NOT NULL,
        input        TEXT NOT NULL DEFAULT 'null',
        ended_at     TEXT,
        outcome      TEXT,
        current_step TEXT,
        UNIQUE (journey_id, customer_id, entry)
      );
      CREATE INDEX enrolments_customer ON enrolments (customer_id);
      -- The last line of defence against a customer being inside a journey twice.
      CREATE UNIQUE INDEX enrolments_one_active ON enrolments (journey_id, customer_id) WHERE ended_at IS NULL;
      CREATE INDEX step_records_journey ON step_records (journey_id, kind);
    `,
  },
  {
    version: 3,
    name: 'delivery: subscriptions, suppressions, send slots for frequency caps',
    sql: `
      CREATE TABLE subscriptions (
        customer_id TEXT NOT NULL,
        channel     TEXT NOT NULL,
        category    TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
        source      TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (customer_id, channel, category)
      );
      -- Addresses are stored normalised (trimmed, lower-case) so one mailbox is one row.
      CREATE TABLE suppressions (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        reason  TEXT NOT NULL,
        at      TEXT NOT NULL,
        PRIMARY KEY (channel, address)
      );
      -- One row per send that counts against frequency caps; "at" is ISO-8601 UTC text, so
      -- text comparison is time order.
      CREATE TABLE send_slots (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        channel         TEXT NOT NULL,
        category        TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        at              TEXT NOT NULL
      );
      CREATE INDEX send_slots_window ON send_slots (customer_id, channel, category, at);
    `,
  },
];

/** Raw customer row: JSON columns still as text. */
interface CustomerRow {
  id: string;
  email: string | null;
  phone: string | null;
  timezone: string | null;
  traits: string;
  tags: string;
}

/** Raw rows: JSON columns still as text, booleans as 0/1. */
type MessageRow = Omit<MessageColumns, 'result'> & { result: string | null };
type JourneyRow = { journey_id: string; version: string; plan: string; deployed_at: string; paused: number };

/** The parameters of `tryEnrol`. */
type EnrolArgs = Parameters<LiveStore['tryEnrol']>[0];

/** Customer ids that are one person: the canonical id and every anonymous id linked to it. */
const IDENTITY_GROUP = 'SELECT @customer UNION SELECT anonymous_id FROM identity_links WHERE user_id = @customer';

/**
 * The default profile store: one SQLite file (or memory), zero set-up.
 *
 * better-sqlite3 is synchronous; the async interface exists so a networked store fits the same
 * shape. Every multi-statement change runs in one IMMEDIATE transaction: it takes the file's
 * write lock up front, so read-decide-write sequences (enrolment, merge, claims) are serialised
 * across every process sharing the file, and an idempotency key commits with the change it
 * guards or not at all.
 */
export class SqliteProfileStore implements ProfileStore, LiveStore, DeliveryStore {
  private readonly db: Database.Database;
  private closed = false;

  /** Opens (creating if needed) the database at `file` and applies pending migrations. */
  constructor(readonly file: string) {
    const memory = file === ':memory:';
    if (!memory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    // WAL lets the worker read while another process (CLI, API) writes; busy_timeout makes a
    // writer wait for the lock instead of failing at once with SQLITE_BUSY.
    if (!memory) this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  /** Schema versions applied to this database, oldest first. */
  appliedMigrations(): number[] {
    return this.db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .pluck()
      .all() as number[];
  }

  private migrate(): void {
    const apply = this.db.transaction(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`);
      const applied = new Set(this.appliedMigrations());
      const newest = Math.max(0, ...applied);
      const known = migrations[migrations.length - 1]?.version ?? 0;
      if (newest > known) {
        throw new ProfileStoreError(
          'schema_too_new',
          `profile database ${this.file} has schema version ${newest}, but this Unbroken only knows up to ${known}: upgrade Unbroken or point it at another database`,
          { url: this.file },
        );
      }
      const record = this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        this.db.exec(migration.sql);
        record.run(migration.version, migration.name, new Date().toISOString());
      }
    });
    // IMMEDIATE takes the write lock up front, so two processes opening a fresh file at once
    // cannot both decide a migration is missing and apply it twice.
    apply.immediate();
  }

  /** Runs `fn` in one IMMEDIATE transaction (see the class comment). */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- profiles -----------------------------------------------------------------------------

  async getProfile(id: string): Promise<Profile | undefined> {
    const state = this.load(this.canonical(id));
    return state && toProfile(state);
  }

  async identify(id: string, traits: Record<string, unknown>): Promise<Profile> {
    return this.write(() => {
      const customerId = this.canonical(id);
      const now = new Date().toISOString();
      const existing = this.load(customerId);
      const state = existing ?? emptyCustomer(customerId);
      // Subscription preferences become rows (the one place consent is read from), not a trait.
      const split = splitSubscriptionTraits(customerId, traits);
      applyTraits(state, split.traits);
      this.save(state, now, !existing);
      this.writeSubscriptions(customerId, split.subscriptions, 'identify', now);
      return toProfile(state);
    });
  }

  async applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile> {
    // A thrown ProfileStoreError rolls the transaction back, key included, so nothing is half-applied.
    return this.write(() => {
      const now = new Date().toISOString();
      const customerId = this.canonical(id);
      const inserted = this.db
        .prepare('INSERT INTO profile_changes (idempotency_key, customer_id, applied_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
        .run(idempotencyKey, customerId, now).changes;
      const existing = this.load(customerId);
      if (inserted === 0) return toProfile(existing ?? emptyCustomer(customerId));
      const state = existing ?? emptyCustomer(customerId);
      applyProfileChanges(state, changes);
      this.save(state, now, !existing);
      return toProfile(state);
    });
  }

  async recordStep(record: StepRecord): Promise<void> {
    this.write(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO step_records (idempotency_key, workflow_id, journey_id, version, customer_id, step_id, kind, at, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          record.idempotencyKey,
          record.workflowId,
          record.journeyId,
          record.version,
          record.customerId,
          record.stepId,
          record.kind,
          record.at,
          jsonOrNull(record.detail),
        ).changes;
      // A replayed record must not move the run back to an older step.
      if (inserted === 0) return;
      const ending = ENDING_KINDS.has(record.kind);
      // An ended run keeps its first outcome; ended_at only goes from NULL to a time.
      this.db
        .prepare(
          `UPDATE enrolments SET current_step = @step,
             outcome  = CASE WHEN @ending AND ended_at IS NULL THEN @kind ELSE outcome END,
             ended_at = CASE WHEN @ending AND ended_at IS NULL THEN @at ELSE ended_at END
           WHERE workflow_id = @workflow`,
        )
        .run({ step: record.stepId, ending: ending ? 1 : 0, kind: record.kind, at: record.at, workflow: record.workflowId });
    });
  }

  async stepsFor(workflowId: string): Promise<StepRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM step_records WHERE workflow_id = ? ORDER BY at, rowid')
      .all(workflowId) as (Omit<StepColumns, 'detail'> & { detail: string | null })[];
    return rows.map((row) => toStepRecord({ ...row, detail: parseJson(row.detail) as Record<string, unknown> | null }));
  }

  async claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }> {
    return this.write(() => {
      const now = new Date().toISOString();
      const inserted = this.db
        .prepare(
          `INSERT INTO messages (idempotency_key, customer_id, journey_id, step_id, channel, template, status, result, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          record.idempotencyKey,
          record.customerId,
          record.journeyId,
          record.stepId,
          record.channel,
          record.template,
          record.status,
          jsonOrNull(record.result),
          now,
          now,
        ).changes;
      if (inserted === 1) return { claimed: true };
      const row = this.db.prepare('SELECT * FROM messages WHERE idempotency_key = ?').get(record.idempotencyKey) as MessageRow;
      return { claimed: false, existing: toMessage(row) };
    });
  }

  async finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void> {
    this.db
      .prepare('UPDATE messages SET status = ?, result = ?, updated_at = ? WHERE idempotency_key = ?')
      .run(status, JSON.stringify(result), new Date().toISOString(), idempotencyKey);
  }

  async releaseMessage(idempotencyKey: string): Promise<void> {
    // Only an unfinished claim may be released: a finished message must stay finished.
    this.db.prepare("DELETE FROM messages WHERE idempotency_key = ? AND status = 'sending'").run(idempotencyKey);
  }

  async messagesFor(customerId: string): Promise<MessageRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM messages WHERE customer_id = ? ORDER BY created_at, rowid')
      .all(customerId) as MessageRow[];
    return rows.map(toMessage);
  }

  // --- identities and events ----------------------------------------------------------------

  async resolveCustomer(ids: { userId?: string; anonymousId?: string }): Promise<string> {
    requireSomeId(ids);
    const { userId, anonymousId } = ids;
    if (!userId) return this.canonical(anonymousId as string);
    if (!anonymousId || anonymousId === userId) return userId;
    return this.write(() => {
      const now = new Date().toISOString();
      // An anonymous id already linked (to this user or, first come first served, another one)
      // stays as it is: the event still belongs to the user it names.
      const linked = this.db
        .prepare('INSERT INTO identity_links (anonymous_id, user_id, linked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
        .run(anonymousId, userId, now).changes;
      if (linked === 0) return userId;
      this.db.prepare('UPDATE events SET customer_id = ? WHERE customer_id = ?').run(userId, anonymousId);
      const anonymous = this.load(anonymousId);
      if (anonymous) {
        const user = this.load(userId);
        this.save(mergeCustomers(userId, user, anonymous), now, !user);
        this.db.prepare('DELETE FROM customers WHERE id = ?').run(anonymousId);
      }
      // Consent follows the person: for each channel and category the latest statement wins,
      // whichever id it was made under. Send slots stay put: caps count the whole identity group.
      this.db
        .prepare(
          `INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at)
           SELECT @user, channel, category, status, source, updated_at FROM subscriptions WHERE customer_id = @anonymous
           ON CONFLICT (customer_id, channel, category) DO UPDATE
             SET status = excluded.status, source = excluded.source, updated_at = excluded.updated_at
             WHERE excluded.updated_at > subscriptions.updated_at`,
        )
        .run({ user: userId, anonymous: anonymousId });
      this.db.prepare('DELETE FROM subscriptions WHERE customer_id = ?').run(anonymousId);
      return userId;
    });
  }

  async recordEvent(event: StoredEvent): Promise<RecordEventResult> {
    return this.write(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO events (message_id, type, customer_id, user_id, anonymous_id, event, properties, traits, context, timestamp, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          event.messageId,
          event.type,
          event.customerId,
          event.userId ?? null,
          event.anonymousId ?? null,
          event.event ?? null,
          jsonOrNull(event.properties),
          jsonOrNull(event.traits),
          jsonOrNull(event.context),
          event.timestamp,
          event.receivedAt,
        ).changes;
      if (inserted === 1) return { status: 'new' };
      const routedAt = this.db.prepare('SELECT routed_at FROM events WHERE message_id = ?').pluck().get(event.messageId);
      return routedAt === null ? { status: 'new' } : { status: 'duplicate' };
    });
  }

  async markEventRouted(messageId: string): Promise<void> {
    this.db
      .prepare('UPDATE events SET routed_at = ? WHERE message_id = ? AND routed_at IS NULL')
      .run(new Date().toISOString(), messageId);
  }

  async eventsFor(customerId: string): Promise<StoredEvent[]> {
    const rows = this.db
      .prepare('SELECT * FROM events WHERE customer_id = ? ORDER BY timestamp, rowid')
      .all(customerId) as Record<string, unknown>[];
    return rows.map((row) =>
      toStoredEvent({
        ...(row as unknown as EventColumns),
        properties: parseJson(row.properties) as EventColumns['properties'],
        traits: parseJson(row.traits) as EventColumns['traits'],
        context: parseJson(row.context) as EventColumns['context'],
      }),
    );
  }

  // --- deployed journeys --------------------------------------------------------------------

  async deployJourneys(plans: { journeyId: string; version: string; plan: unknown }[], at: string): Promise<DeployResult> {
    return this.write(() => {
      const result: DeployResult = { published: [], unchanged: [] };
      const current = this.db.prepare('SELECT version FROM journeys WHERE journey_id = ?').pluck();
      // A version deployed before (a rollback) keeps its original row and plan.
      const addVersion = this.db.prepare(
        'INSERT INTO journey_versions (journey_id, version, plan, deployed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      );
      const publish = this.db.prepare(
        `INSERT INTO journeys (journey_id, version, paused, deployed_at) VALUES (?, ?, 0, ?)
         ON CONFLICT (journey_id) DO UPDATE SET version = excluded.version, deployed_at = excluded.deployed_at`,
      );
      for (const { journeyId, version, plan } of plans) {
        const previous = current.get(journeyId) as string | undefined;
        if (previous === version) {
          result.unchanged.push(journeyId);
          continue;
        }
        // Serialising inside the transaction: a plan that cannot be stored aborts the whole deploy.
        addVersion.run(journeyId, version, JSON.stringify(plan), at);
        publish.run(journeyId, version, at);
        result.published.push(previous === undefined ? { journeyId, version } : { journeyId, version, previous });
      }
      return result;
    });
  }

  async deployedJourneys(): Promise<DeployedJourney[]> {
    const rows = this.db
      .prepare(
        `SELECT j.journey_id, j.version, v.plan, j.deployed_at, j.paused
         FROM journeys j JOIN journey_versions v ON v.journey_id = j.journey_id AND v.version = j.version
         ORDER BY j.journey_id`,
      )
      .all() as JourneyRow[];
    return rows.map(sqliteJourney);
  }

  async journeyVersion(journeyId: string, version: string): Promise<DeployedJourney | undefined> {
    const row = this.db
      .prepare(
        `SELECT v.journey_id, v.version, v.plan, v.deployed_at, j.paused
         FROM journey_versions v JOIN journeys j ON j.journey_id = v.journey_id
         WHERE v.journey_id = ? AND v.version = ?`,
      )
      .get(journeyId, version) as JourneyRow | undefined;
    return row && sqliteJourney(row);
  }

  async setPaused(journeyId: string, paused: boolean): Promise<boolean> {
    return this.db.prepare('UPDATE journeys SET paused = ? WHERE journey_id = ?').run(paused ? 1 : 0, journeyId).changes === 1;
  }

  // --- enrolments ---------------------------------------------------------------------------

  async tryEnrol(args: EnrolArgs): Promise<EnrolDecision> {
    try {
      return this.write(() => this.enrol(args));
    } catch (err) {
      // Cannot happen while the IMMEDIATE lock serialises writers, but the unique indexes are
      // the real guarantee: losing to them means another run got in first.
      if (isUniqueViolation(err)) return { enrolled: false, reason: 'active' };
      throw err;
    }
  }

  private enrol(args: EnrolArgs): EnrolDecision {
    const paused = this.db.prepare('SELECT paused FROM journeys WHERE journey_id = ?').pluck().get(args.journeyId) as
      | number
      | undefined;
    const history = this.db
      .prepare(
        `SELECT entry, entered_at AS enteredAt, ended_at AS endedAt FROM enrolments
         WHERE journey_id = @journey AND customer_id IN (${IDENTITY_GROUP})`,
      )
      .all({ journey: args.journeyId, customer: this.canonical(args.customerId) }) as PastEntry[];
    const decision = decideEntry({ paused: paused === 1, history, reEntry: args.reEntry, at: args.at });
    if (!decision.enter) {
      return decision.until === undefined
        ? { enrolled: false, reason: decision.reason }
        : { enrolled: false, reason: decision.reason, until: decision.until };
    }
    const enrolment: Enrolment = {
      journeyId: args.journeyId,
      customerId: args.customerId,
      entry: decision.entry,
      workflowId: `${args.workflowIdPrefix}:${decision.entry}`,
      version: args.version,
      enteredAt: args.at,
      input: args.input ?? null,
    };
    this.db
      .prepare(
        `INSERT INTO enrolments (workflow_id, journey_id, customer_id, entry, version, entered_at, input)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        enrolment.workflowId,
        enrolment.journeyId,
        enrolment.customerId,
        enrolment.entry,
        enrolment.version,
        enrolment.enteredAt,
        JSON.stringify(enrolment.input),
      );
    return { enrolled: true, enrolment };
  }

  async activeEnrolments(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, 'AND ended_at IS NULL ORDER BY entered_at, rowid');
  }

  async enrolmentsFor(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, 'ORDER BY entered_at DESC, rowid DESC');
  }

  private enrolments(customerId: string, tail: string): Enrolment[] {
    const rows = this.db
      .prepare(`SELECT * FROM enrolments WHERE customer_id IN (${IDENTITY_GROUP}) ${tail}`)
      .all({ customer: this.canonical(customerId) }) as (Omit<EnrolmentColumns, 'input'> & { input: string })[];
    return rows.map((row) => toEnrolment({ ...row, input: JSON.parse(row.input) as unknown }));
  }

  async journeyStats(journeyId: string): Promise<JourneyStats> {
    const count = (sql: string): number => this.db.prepare(sql).pluck().get(journeyId) as number;
    const rows: StatsRows = {
      entered: count('SELECT COUNT(*) FROM enrolments WHERE journey_id = ?'),
      active: count('SELECT COUNT(*) FROM enrolments WHERE journey_id = ? AND ended_at IS NULL'),
      outcomes: this.db
        .prepare(
          `SELECT outcome, COUNT(*) AS count FROM enrolments WHERE journey_id = ? AND outcome IS NOT NULL
           GROUP BY outcome ORDER BY outcome`,
        )
        .all(journeyId) as StatsRows['outcomes'],
      steps: this.db
        .prepare(
          `SELECT step_id AS stepId, kind, COUNT(*) AS count FROM step_records WHERE journey_id = ?
           GROUP BY step_id, kind ORDER BY MIN(at), MIN(rowid)`,
        )
        .all(journeyId) as StatsRows['steps'],
      skipReasons: (
        this.db
          .prepare(
            `SELECT step_id AS stepId, json_extract(detail, '$.reason') AS reason, COUNT(*) AS count FROM step_records
             WHERE journey_id = ? AND kind = 'skipped' GROUP BY 1, 2`,
          )
          .all(journeyId) as { stepId: string; reason: unknown; count: number }[]
      ).map((row) => ({ ...row, reason: row.reason === null ? null : String(row.reason) })),
    };
    return assembleStats(journeyId, rows);
  }

  // --- delivery: consent, suppression, frequency caps ----------------------------------------

  async subscription(customerId: string, channel: string, category: string): Promise<SubscriptionStatus> {
    const id = this.canonical(customerId);
    const explicit = this.db
      .prepare('SELECT status FROM subscriptions WHERE customer_id = ? AND channel = ? AND category = ?')
      .pluck()
      .get(id, channel, category) as string | undefined;
    return decideSubscription(explicit, explicit === undefined ? this.load(id)?.traits : undefined, category);
  }

  async setSubscription(
    customerId: string,
    channel: string,
    category: string,
    status: SubscriptionStatus,
    source: string,
    at: string,
  ): Promise<void> {
    const when = isoTime(at, `subscription of ${customerId}`);
    this.write(() => this.writeSubscriptions(this.canonical(customerId), [{ channel, category, status }], source, when));
  }

  async suppress(channel: string, address: string, reason: string, at: string): Promise<void> {
    // The first reason stays: it is why the address was cut off; a later bounce adds nothing.
    this.db
      .prepare('INSERT INTO suppressions (channel, address, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(channel, normaliseAddress(channel, address), reason, isoTime(at, `suppression of ${channel} address`));
  }

  async suppression(channel: string, address: string): Promise<string | undefined> {
    return this.db
      .prepare('SELECT reason FROM suppressions WHERE channel = ? AND address = ?')
      .pluck()
      .get(channel, normaliseAddress(channel, address)) as string | undefined;
  }

  async reserveSendSlot(check: CapCheck): Promise<CapDecision> {
    const at = validateCapCheck(check);
    // IMMEDIATE: the count and the insert happen under the file's write lock, so two processes
    // racing for the last slot are serialised and the second one sees the first one's row.
    return this.write(() => {
      const held = this.db.prepare('SELECT 1 FROM send_slots WHERE idempotency_key = ?').pluck().get(check.idempotencyKey);
      if (held !== undefined) return { allowed: true };
      const customer = this.canonical(check.customerId);
      const newest = this.db
        .prepare(
          `SELECT at FROM send_slots
           WHERE customer_id IN (${IDENTITY_GROUP}) AND channel = @channel AND category = @category
             AND at > @since AND (@journey IS NULL OR journey_id = @journey)
           ORDER BY at DESC LIMIT @max`,
        )
        .pluck();
      const usages: CapUsage[] = check.caps.map((cap) => ({
        max: cap.max,
        windowMs: cap.windowMs,
        newest: (
          newest.all({
            customer,
            channel: check.channel,
            category: check.category,
            since: windowStart(at, cap.windowMs),
            journey: cap.journeyId ?? null,
            max: cap.max,
          }) as string[]
        ).map((t) => Date.parse(t)),
      }));
      const decision = decideCaps(usages);
      if (!decision.allowed) return decision;
      this.db
        .prepare(
          'INSERT INTO send_slots (idempotency_key, customer_id, channel, category, journey_id, at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(check.idempotencyKey, customer, check.channel, check.category, check.journeyId, at);
      return decision;
    });
  }

  async releaseSendSlot(idempotencyKey: string): Promise<void> {
    this.db.prepare('DELETE FROM send_slots WHERE idempotency_key = ?').run(idempotencyKey);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  // --- rows -----------------------------------------------------------------------------------

  /** The id a customer's data lives under: the linked user for a merged anonymous id. */
  private canonical(id: string): string {
    const userId = this.db.prepare('SELECT user_id FROM identity_links WHERE anonymous_id = ?').pluck().get(id) as
      | string
      | undefined;
    return userId ?? id;
  }

  /** Upserts subscription rows for a canonical customer id; call inside a write transaction. */
  private writeSubscriptions(customerId: string, changes: readonly SubscriptionChange[], source: string, at: string): void {
    const upsert = this.db.prepare(
      `INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (customer_id, channel, category) DO UPDATE
         SET status = excluded.status, source = excluded.source, updated_at = excluded.updated_at`,
    );
    for (const change of changes) upsert.run(customerId, change.channel, change.category, change.status, source, at);
  }

  private load(id: string): CustomerState | undefined {
    const row = this.db.prepare('SELECT * FROM customers WHERE id = ?').get(id) as CustomerRow | undefined;
    if (!row) return undefined;
    return customerFromColumns({
      ...row,
      traits: JSON.parse(row.traits) as Record<string, unknown>,
      tags: JSON.parse(row.tags) as string[],
    });
  }

  private save(state: CustomerState, now: string, isNew: boolean): void {
    const values = [
      state.email ?? null,
      state.phone ?? null,
      state.timezone ?? null,
      JSON.stringify(state.traits),
      JSON.stringify(state.tags),
    ];
    if (isNew) {
      this.db
        .prepare('INSERT INTO customers (id, email, phone, timezone, traits, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(state.id, ...values, now, now);
    } else {
      this.db
        .prepare('UPDATE customers SET email = ?, phone = ?, timezone = ?, traits = ?, tags = ?, updated_at = ? WHERE id = ?')
        .run(...values, now, state.id);
    }
  }
}

function toMessage(row: MessageRow): MessageRecord {
  return toMessageRecord({ ...row, result: parseJson(row.result) as Record<string, unknown> | null });
}

function sqliteJourney(row: JourneyRow): DeployedJourney {
  return toDeployedJourney({ ...row, plan: JSON.parse(row.plan) as unknown, paused: row.paused === 1 });
}

function parseJson(text: unknown): unknown {
  return typeof text === 'string' ? (JSON.parse(text) as unknown) : null;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
