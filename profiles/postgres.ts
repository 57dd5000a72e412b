import { Pool, types as pgTypes, type PoolClient, type QueryResultRow } from 'pg';
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
  redactUrl,
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
  type CustomerColumns,
  type CustomerState,
  type EnrolmentColumns,
  type EventColumns,
  type JourneyColumns,
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
  RecordEventResult,
  StepRecord,
  StoredEvent,
  SubscriptionStatus,
} from './store';

/**
 * The PostgreSQL schema history, applied in order on open. Append new entries; never edit old
 * ones. Versions mirror the SQLite list so one number means the same schema in both stores.
 */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'customers, profile changes, step records, messages',
    sql: `
      CREATE TABLE customers (
        id          TEXT PRIMARY KEY,
        email       TEXT,
        phone       TEXT,
        timezone    TEXT,
        traits      JSONB NOT NULL DEFAULT '{}',
        tags        JSONB NOT NULL DEFAULT '[]',
        created_at  TIMESTAMPTZ NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE profile_changes (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        applied_at      TIMESTAMPTZ NOT NULL
      );
      -- seq keeps insertion order as a tie-breaker, as SQLite's rowid does.
      CREATE TABLE step_records (
        idempotency_key TEXT PRIMARY KEY,
        seq             BIGINT GENERATED ALWAYS AS IDENTITY,
        workflow_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        version         TEXT NOT NULL,
        customer_id     TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        kind            TEXT NOT NULL,
        at              TIMESTAMPTZ NOT NULL,
        detail          JSONB
      );
      CREATE INDEX step_records_workflow ON step_records (workflow_id);
      CREATE INDEX step_records_customer ON step_records (customer_id);
      CREATE TABLE messages (
        idempotency_key TEXT PRIMARY KEY,
        seq             BIGINT GENERATED ALWAYS AS IDENTITY,
        customer_id     TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        step_id         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        template        TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped')),
        result          JSONB,
        created_at      TIMESTAMPTZ NOT NULL,
        updated_at      TIMESTAMPTZ NOT NULL
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
        seq          BIGINT GENERATED ALWAYS AS IDENTITY,
        type         TEXT NOT NULL CHECK (type IN ('track', 'identify')),
        customer_id  TEXT NOT NULL,
        user_id      TEXT,
        anonymous_id TEXT,
        event        TEXT,
        properties   JSONB,
        traits       JSONB,
        context      JSONB,
        timestamp    TIMESTAMPTZ NOT NULL,
        received_at  TIMESTAMPTZ NOT NULL,
        routed_at    TIMESTAMPTZ
      );
      CREATE INDEX events_customer ON events (customer_id);
      CREATE TABLE identity_links (
        anonymous_id TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL,
        linked_at    TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX identity_links_user ON identity_links (user_id);
      CREATE TABLE journeys (
        journey_id  TEXT PRIMARY KEY,
        version     TEXT NOT NULL,
        paused      BOOLEAN NOT NULL DEFAULT FALSE,
        deployed_at TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE journey_versions (
        journey_id  TEXT NOT NULL,
        version     TEXT NOT NULL,
        plan        JSONB NOT NULL,
        deployed_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (journey_id, version)
      );
      CREATE TABLE enrolments (
        workflow_id  TEXT PRIMARY KEY,
        seq          BIGINT GENERATED ALWAYS AS IDENTITY,
        journey_id   TEXT NOT NULL,
        customer_id  TEXT NOT NULL,
        entry        INTEGER NOT NULL,
        version      TEXT NOT NULL,
        entered_at   TIMESTAMPTZ NOT NULL,
        input        JSONB NOT NULL DEFAULT 'null',
        ended_at     TIMESTAMPTZ,
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
        updated_at  TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (customer_id, channel, category)
      );
      -- Addresses are stored normalised (trimmed, lower-case) so one mailbox is one row.
      CREATE TABLE suppressions (
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        reason  TEXT NOT NULL,
        at      TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (channel, address)
      );
      -- One row per send that counts against frequency caps.
      CREATE TABLE send_slots (
        idempotency_key TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        channel         TEXT NOT NULL,
        category        TEXT NOT NULL,
        journey_id      TEXT NOT NULL,
        at              TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX send_slots_window ON send_slots (customer_id, channel, category, at);
    `,
  },
];

/**
 * First keys of the two-key advisory locks, one namespace per purpose, so a hash collision
 * between, say, a customer id and a journey never makes unrelated work wait on each other.
 */
const LOCK = { migrate: 1, customer: 2, enrol: 3, deploy: 4, send: 5 } as const;

/**
 * Times come back as ISO text (what SQLite stores and the interface speaks) and counts as
 * numbers; set per pool so other users of `pg` in the process keep the library defaults.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pgTypes.builtins.TIMESTAMPTZ) {
      const parseDate = pgTypes.getTypeParser(oid, 'text') as (text: string) => Date;
      return (text: string) => parseDate(text).toISOString();
    }
    if (oid === pgTypes.builtins.INT8) return (text: string) => Number(text);
    return pgTypes.getTypeParser(oid, format ?? 'text');
  }) as typeof pgTypes.getTypeParser,
};

/** Customer ids that are one person: the canonical id ($1) and every anonymous id linked to it. */
const IDENTITY_GROUP = 'SELECT $1::text UNION SELECT anonymous_id FROM identity_links WHERE user_id = $1';

type Queryable = Pick<PoolClient, 'query'>;
type EnrolArgs = Parameters<LiveStore['tryEnrol']>[0];

/**
 * The profile store on PostgreSQL (`DATABASE_URL=postgres://…`), for several API and worker
 * processes sharing one database. Tables live in the connection's search_path (append
 * `?options=-c%20search_path%3D<schema>` to the URL to use another schema than public).
 *
 * Differences from SQLite a caller may notice: times are TIMESTAMPTZ, so they come back as
 * UTC ISO text (`…Z`) whatever offset they were written with, and JSON is JSONB, so object
 * keys come back in JSONB's order (same values, different key order).
 *
 * Read-decide-write sequences run in a transaction that first takes a transaction-scoped
 * advisory lock on what it decides about (a customer, a journey+customer pair), so concurrent
 * processes serialise exactly where they would race; the unique constraints stay as the
 * backstop.
 */
export class PostgresProfileStore implements LiveStore, DeliveryStore {
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    /** The connection URL with its password hidden, for messages. */
    readonly url: string,
  ) {}

  /** Connects, applies pending migrations and returns the store; rejects if the database is unreachable. */
  static async open(url: string, options: { maxConnections?: number } = {}): Promise<PostgresProfileStore> {
    const pool = new Pool({ connectionString: url, types: TYPES, max: options.maxConnections ?? 10 });
    // An idle connection dropped by the server emits 'error' on the pool; without a listener
    // that would crash the process. The next query simply opens a new connection.
    pool.on('error', (err) => process.stderr.write(`unbroken: PostgreSQL connection lost: ${err.message}\n`));
    const store = new PostgresProfileStore(pool, redactUrl(url));
    try {
      await store.migrate();
    } catch (err) {
      await pool.end();
      if (err instanceof ProfileStoreError) throw err;
      throw new ProfileStoreError(
        'unreachable',
        `cannot open the PostgreSQL profile store at ${store.url}: ${(err as Error).message}`,
        { url: store.url },
      );
    }
    return store;
  }

  /** Schema versions applied to this database, oldest first. */
  async appliedMigrations(): Promise<number[]> {
    const { rows } = await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    return rows.map((row) => row.version);
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (db) => {
      // Processes starting together queue here; the first applies, the others find it done.
      // The schema is part of the key so separate schemas (tests) migrate independently.
      await db.query(`SELECT pg_advisory_xact_lock($1, hashtext('unbroken:' || coalesce(current_schema(), '')))`, [LOCK.migrate]);
      await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
      )`);
      const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((row) => row.version));
      const newest = Math.max(0, ...applied);
      const known = postgresMigrations[postgresMigrations.length - 1]?.version ?? 0;
      if (newest > known) {
        throw new ProfileStoreError(
          'schema_too_new',
          `profile database ${this.url} has schema version ${newest}, but this Unbroken only knows up to ${known}: upgrade Unbroken or point it at another database`,
          { url: this.url },
        );
      }
      for (const migration of postgresMigrations) {
        if (applied.has(migration.version)) continue;
        await db.query(migration.sql);
        await db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())', [
          migration.version,
          migration.name,
        ]);
      }
    });
  }

  /** Runs `fn` in one transaction on one connection; any error rolls it back. */
  private async transaction<T>(fn: (db: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot even roll back is not handed to the next caller.
        broken = rollbackError as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // --- profiles -----------------------------------------------------------------------------

  async getProfile(id: string): Promise<Profile | undefined> {
    const state = await this.load(this.pool, await this.canonical(this.pool, id));
    return state && toProfile(state);
  }

  async identify(id: string, traits: Record<string, unknown>): Promise<Profile> {
    return this.transaction(async (db) => {
      const customerId = await this.lockCustomer(db, id);
      const existing = await this.load(db, customerId);
      const state = existing ?? emptyCustomer(customerId);
      // Subscription preferences become rows (the one place consent is read from), not a trait.
      const split = splitSubscriptionTraits(customerId, traits);
      applyTraits(state, split.traits);
      await this.save(db, state);
      await this.writeSubscriptions(db, customerId, split.subscriptions, 'identify', new Date().toISOString());
      return toProfile(state);
    });
  }

  async applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile> {
    // A thrown ProfileStoreError rolls the transaction back, key included, so nothing is half-applied.
    return this.transaction(async (db) => {
      const customerId = await this.lockCustomer(db, id);
      const inserted = await db.query(
        'INSERT INTO profile_changes (idempotency_key, customer_id, applied_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING',
        [idempotencyKey, customerId],
      );
      const existing = await this.load(db, customerId);
      if (inserted.rowCount === 0) return toProfile(existing ?? emptyCustomer(customerId));
      const state = existing ?? emptyCustomer(customerId);
      applyProfileChanges(state, changes);
      await this.save(db, state);
      return toProfile(state);
    });
  }

  async recordStep(record: StepRecord): Promise<void> {
    // One statement, so one transaction: the enrolment only moves when the record is new (a
    // replayed record must not move the run back to an older step), and an ended run keeps its
    // first outcome.
    await this.pool.query(
      `WITH inserted AS (
         INSERT INTO step_records (idempotency_key, workflow_id, journey_id, version, customer_id, step_id, kind, at, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING
         RETURNING workflow_id
       )
       UPDATE enrolments SET current_step = $6,
         outcome  = CASE WHEN $10::boolean AND ended_at IS NULL THEN $7 ELSE outcome END,
         ended_at = CASE WHEN $10::boolean AND ended_at IS NULL THEN $8::timestamptz ELSE ended_at END
       WHERE workflow_id IN (SELECT workflow_id FROM inserted)`,
      [
        record.idempotencyKey,
        record.workflowId,
        record.journeyId,
        record.version,
        record.customerId,
        record.stepId,
        record.kind,
        record.at,
        jsonOrNull(record.detail),
        ENDING_KINDS.has(record.kind),
      ],
    );
  }

  async stepsFor(workflowId: string): Promise<StepRecord[]> {
    const { rows } = await this.pool.query<StepColumns>('SELECT * FROM step_records WHERE workflow_id = $1 ORDER BY at, seq', [
      workflowId,
    ]);
    return rows.map(toStepRecord);
  }

  async claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }> {
    // ON CONFLICT waits for a concurrent claim of the same key to commit, so the SELECT after
    // it always finds the winner's row.
    const inserted = await this.pool.query(
      `INSERT INTO messages (idempotency_key, customer_id, journey_id, step_id, channel, template, status, result, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, now(), now()) ON CONFLICT DO NOTHING`,
      [
        record.idempotencyKey,
        record.customerId,
        record.journeyId,
        record.stepId,
        record.channel,
        record.template,
        record.status,
        jsonOrNull(record.result),
      ],
    );
    if (inserted.rowCount === 1) return { claimed: true };
    const { rows } = await this.pool.query<MessageColumns>('SELECT * FROM messages WHERE idempotency_key = $1', [record.idempotencyKey]);
    const row = rows[0];
    // Only reachable if the winner released its claim in between: the slot is free again.
    if (!row) return this.claimMessage(record);
    return { claimed: false, existing: toMessageRecord(row) };
  }

  async finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void> {
    await this.pool.query('UPDATE messages SET status = $1, result = $2::jsonb, updated_at = now() WHERE idempotency_key = $3', [
      status,
      JSON.stringify(result),
      idempotencyKey,
    ]);
  }

  async releaseMessage(idempotencyKey: string): Promise<void> {
    // Only an unfinished claim may be released: a finished message must stay finished.
    await this.pool.query("DELETE FROM messages WHERE idempotency_key = $1 AND status = 'sending'", [idempotencyKey]);
  }

  async messagesFor(customerId: string): Promise<MessageRecord[]> {
    const { rows } = await this.pool.query<MessageColumns>('SELECT * FROM messages WHERE customer_id = $1 ORDER BY created_at, seq', [
      customerId,
    ]);
    return rows.map(toMessageRecord);
  }

  // --- identities and events ----------------------------------------------------------------

  async resolveCustomer(ids: { userId?: string; anonymousId?: string }): Promise<string> {
    requireSomeId(ids);
    const { userId, anonymousId } = ids;
    if (!userId) return this.canonical(this.pool, anonymousId as string);
    if (!anonymousId || anonymousId === userId) return userId;
    // Fast path for every later event of an identified visitor: the link already exists.
    if ((await this.linkedUser(this.pool, anonymousId)) !== undefined) return userId;
    return this.transaction(async (db) => {
      // Anonymous before user: the same order identify() on an anonymous id takes them in.
      await this.lock(db, LOCK.customer, anonymousId);
      await this.lock(db, LOCK.customer, userId);
      // An anonymous id already linked (to this user or, first come first served, another one)
      // stays as it is: the event still belongs to the user it names.
      const linked = await db.query(
        'INSERT INTO identity_links (anonymous_id, user_id, linked_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING',
        [anonymousId, userId],
      );
      if (linked.rowCount === 0) return userId;
      await db.query('UPDATE events SET customer_id = $1 WHERE customer_id = $2', [userId, anonymousId]);
      const anonymous = await this.load(db, anonymousId);
      if (anonymous) {
        await this.save(db, mergeCustomers(userId, await this.load(db, userId), anonymous));
        await db.query('DELETE FROM customers WHERE id = $1', [anonymousId]);
      }
      // Consent follows the person: for each channel and category the latest statement wins,
      // whichever id it was made under. Send slots stay put: caps count the whole identity group.
      await db.query(
        `INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at)
         SELECT $1, channel, category, status, source, updated_at FROM subscriptions WHERE customer_id = $2
         ON CONFLICT (customer_id, channel, category) DO UPDATE
           SET status = excluded.status, source = excluded.source, updated_at = excluded.updated_at
           WHERE excluded.updated_at > subscriptions.updated_at`,
        [userId, anonymousId],
      );
      await db.query('DELETE FROM subscriptions WHERE customer_id = $1', [anonymousId]);
      return userId;
    });
  }

  async recordEvent(event: StoredEvent): Promise<RecordEventResult> {
    const inserted = await this.pool.query(
      `INSERT INTO events (message_id, type, customer_id, user_id, anonymous_id, event, properties, traits, context, timestamp, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, $10, $11) ON CONFLICT DO NOTHING`,
      [
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
      ],
    );
    if (inserted.rowCount === 1) return { status: 'new' };
    const { rows } = await this.pool.query<{ routed_at: string | null }>('SELECT routed_at FROM events WHERE message_id = $1', [
      event.messageId,
    ]);
    return rows[0]?.routed_at ? { status: 'duplicate' } : { status: 'new' };
  }

  async markEventRouted(messageId: string): Promise<void> {
    await this.pool.query('UPDATE events SET routed_at = now() WHERE message_id = $1 AND routed_at IS NULL', [messageId]);
  }

  async eventsFor(customerId: string): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventColumns>('SELECT * FROM events WHERE customer_id = $1 ORDER BY timestamp, seq', [
      customerId,
    ]);
    return rows.map(toStoredEvent);
  }

  // --- deployed journeys --------------------------------------------------------------------

  async deployJourneys(plans: { journeyId: string; version: string; plan: unknown }[], at: string): Promise<DeployResult> {
    return this.transaction(async (db) => {
      // Two deploys at once would both see the old version; one at a time keeps the report true.
      await this.lock(db, LOCK.deploy, 'journeys');
      const result: DeployResult = { published: [], unchanged: [] };
      for (const { journeyId, version, plan } of plans) {
        const { rows } = await db.query<{ version: string }>('SELECT version FROM journeys WHERE journey_id = $1', [journeyId]);
        const previous = rows[0]?.version;
        if (previous === version) {
          result.unchanged.push(journeyId);
          continue;
        }
        // Serialising inside the transaction: a plan that cannot be stored aborts the whole
        // deploy. A version deployed before (a rollback) keeps its original row and plan.
        await db.query(
          'INSERT INTO journey_versions (journey_id, version, plan, deployed_at) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT DO NOTHING',
          [journeyId, version, JSON.stringify(plan), at],
        );
        await db.query(
          `INSERT INTO journeys (journey_id, version, paused, deployed_at) VALUES ($1, $2, FALSE, $3)
           ON CONFLICT (journey_id) DO UPDATE SET version = excluded.version, deployed_at = excluded.deployed_at`,
          [journeyId, version, at],
        );
        result.published.push(previous === undefined ? { journeyId, version } : { journeyId, version, previous });
      }
      return result;
    });
  }

  async deployedJourneys(): Promise<DeployedJourney[]> {
    const { rows } = await this.pool.query<JourneyColumns>(
      `SELECT j.journey_id, j.version, v.plan, j.deployed_at, j.paused
       FROM journeys j JOIN journey_versions v ON v.journey_id = j.journey_id AND v.version = j.version
       ORDER BY j.journey_id`,
    );
    return rows.map(toDeployedJourney);
  }

  async journeyVersion(journeyId: string, version: string): Promise<DeployedJourney | undefined> {
    const { rows } = await this.pool.query<JourneyColumns>(
      `SELECT v.journey_id, v.version, v.plan, v.deployed_at, j.paused
       FROM journey_versions v JOIN journeys j ON j.journey_id = v.journey_id
       WHERE v.journey_id = $1 AND v.version = $2`,
      [journeyId, version],
    );
    return rows[0] && toDeployedJourney(rows[0]);
  }

  async setPaused(journeyId: string, paused: boolean): Promise<boolean> {
    const result = await this.pool.query('UPDATE journeys SET paused = $1 WHERE journey_id = $2', [paused, journeyId]);
    return result.rowCount === 1;
  }

  // --- enrolments ---------------------------------------------------------------------------

  async tryEnrol(args: EnrolArgs): Promise<EnrolDecision> {
    try {
      return await this.transaction((db) => this.enrol(db, args));
    } catch (err) {
      // The advisory lock makes this unreachable between Unbroken processes, but the unique
      // indexes are the real guarantee: losing to them means another run got in first.
      if ((err as { code?: unknown }).code === '23505') return { enrolled: false, reason: 'active' };
      throw err;
    }
  }

  private async enrol(db: PoolClient, args: EnrolArgs): Promise<EnrolDecision> {
    const customer = await this.canonical(db, args.customerId);
    // chr(31) (unit separator) cannot occur in ids, so "a"+"bc" and "ab"+"c" lock differently.
    await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(31) || $3))', [LOCK.enrol, args.journeyId, customer]);
    const journey = await db.query<{ paused: boolean }>('SELECT paused FROM journeys WHERE journey_id = $1', [args.journeyId]);
    const history = await db.query<PastEntry>(
      `SELECT entry, entered_at AS "enteredAt", ended_at AS "endedAt" FROM enrolments
       WHERE journey_id = $2 AND customer_id IN (${IDENTITY_GROUP})`,
      [customer, args.journeyId],
    );
    const decision = decideEntry({ paused: journey.rows[0]?.paused === true, history: history.rows, reEntry: args.reEntry, at: args.at });
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
    await db.query(
      `INSERT INTO enrolments (workflow_id, journey_id, customer_id, entry, version, entered_at, input)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
      [
        enrolment.workflowId,
        enrolment.journeyId,
        enrolment.customerId,
        enrolment.entry,
        enrolment.version,
        enrolment.enteredAt,
        JSON.stringify(enrolment.input),
      ],
    );
    return { enrolled: true, enrolment };
  }

  async activeEnrolments(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, 'AND ended_at IS NULL ORDER BY entered_at, seq');
  }

  async enrolmentsFor(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, 'ORDER BY entered_at DESC, seq DESC');
  }

  private async enrolments(customerId: string, tail: string): Promise<Enrolment[]> {
    const customer = await this.canonical(this.pool, customerId);
    const { rows } = await this.pool.query<EnrolmentColumns>(
      `SELECT * FROM enrolments WHERE customer_id IN (${IDENTITY_GROUP}) ${tail}`,
      [customer],
    );
    return rows.map(toEnrolment);
  }

  async journeyStats(journeyId: string): Promise<JourneyStats> {
    const query = async <R extends QueryResultRow>(sql: string): Promise<R[]> => (await this.pool.query<R>(sql, [journeyId])).rows;
    const [counts, outcomes, steps, skipReasons] = await Promise.all([
      query<{ entered: number; active: number }>(
        'SELECT COUNT(*) AS entered, COUNT(*) FILTER (WHERE ended_at IS NULL) AS active FROM enrolments WHERE journey_id = $1',
      ),
      query<StatsRows['outcomes'][number]>(
        `SELECT outcome, COUNT(*) AS count FROM enrolments WHERE journey_id = $1 AND outcome IS NOT NULL
         GROUP BY outcome ORDER BY outcome`,
      ),
      query<StatsRows['steps'][number]>(
        `SELECT step_id AS "stepId", kind, COUNT(*) AS count FROM step_records WHERE journey_id = $1
         GROUP BY step_id, kind ORDER BY MIN(at), MIN(seq)`,
      ),
      query<StatsRows['skipReasons'][number]>(
        `SELECT step_id AS "stepId", detail->>'reason' AS reason, COUNT(*) AS count FROM step_records
         WHERE journey_id = $1 AND kind = 'skipped' GROUP BY 1, 2`,
      ),
    ]);
    return assembleStats(journeyId, {
      entered: counts[0]?.entered ?? 0,
      active: counts[0]?.active ?? 0,
      outcomes,
      steps,
      skipReasons,
    });
  }

  // --- delivery: consent, suppression, frequency caps ----------------------------------------

  async subscription(customerId: string, channel: string, category: string): Promise<SubscriptionStatus> {
    const id = await this.canonical(this.pool, customerId);
    const { rows } = await this.pool.query<{ status: string }>(
      'SELECT status FROM subscriptions WHERE customer_id = $1 AND channel = $2 AND category = $3',
      [id, channel, category],
    );
    const explicit = rows[0]?.status;
    return decideSubscription(explicit, explicit === undefined ? (await this.load(this.pool, id))?.traits : undefined, category);
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
    await this.writeSubscriptions(this.pool, await this.canonical(this.pool, customerId), [{ channel, category, status }], source, when);
  }

  async suppress(channel: string, address: string, reason: string, at: string): Promise<void> {
    // The first reason stays: it is why the address was cut off; a later bounce adds nothing.
    await this.pool.query('INSERT INTO suppressions (channel, address, reason, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      channel,
      normaliseAddress(channel, address),
      reason,
      isoTime(at, `suppression of ${channel} address`),
    ]);
  }

  async suppression(channel: string, address: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ reason: string }>('SELECT reason FROM suppressions WHERE channel = $1 AND address = $2', [
      channel,
      normaliseAddress(channel, address),
    ]);
    return rows[0]?.reason;
  }

  async reserveSendSlot(check: CapCheck): Promise<CapDecision> {
    const at = validateCapCheck(check);
    return this.transaction(async (db) => {
      // Every reservation for one customer queues on this lock, so the count below and the
      // insert after it are one step: of two journeys racing for the last slot, the second
      // sees the first one's row. Same order as lockCustomer: the id as given, then canonical.
      await this.lock(db, LOCK.send, check.customerId);
      const customer = await this.canonical(db, check.customerId);
      if (customer !== check.customerId) await this.lock(db, LOCK.send, customer);
      const held = await db.query('SELECT 1 FROM send_slots WHERE idempotency_key = $1', [check.idempotencyKey]);
      if (held.rowCount !== 0) return { allowed: true };
      const usages: CapUsage[] = [];
      for (const cap of check.caps) {
        const { rows } = await db.query<{ at: string }>(
          `SELECT at FROM send_slots
           WHERE customer_id IN (${IDENTITY_GROUP}) AND channel = $2 AND category = $3
             AND at > $4 AND ($5::text IS NULL OR journey_id = $5)
           ORDER BY at DESC LIMIT $6`,
          [customer, check.channel, check.category, windowStart(at, cap.windowMs), cap.journeyId ?? null, cap.max],
        );
        usages.push({ max: cap.max, windowMs: cap.windowMs, newest: rows.map((row) => Date.parse(row.at)) });
      }
      const decision = decideCaps(usages);
      if (!decision.allowed) return decision;
      await db.query(
        'INSERT INTO send_slots (idempotency_key, customer_id, channel, category, journey_id, at) VALUES ($1, $2, $3, $4, $5, $6)',
        [check.idempotencyKey, customer, check.channel, check.category, check.journeyId, at],
      );
      return decision;
    });
  }

  async releaseSendSlot(idempotencyKey: string): Promise<void> {
    await this.pool.query('DELETE FROM send_slots WHERE idempotency_key = $1', [idempotencyKey]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // --- rows -----------------------------------------------------------------------------------

  private async linkedUser(db: Queryable, anonymousId: string): Promise<string | undefined> {
    const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM identity_links WHERE anonymous_id = $1', [
      anonymousId,
    ]);
    return rows[0]?.user_id;
  }

  /** The id a customer's data lives under: the linked user for a merged anonymous id. */
  private async canonical(db: Queryable, id: string): Promise<string> {
    return (await this.linkedUser(db, id)) ?? id;
  }

  /**
   * Locks a customer for a read-modify-write of its profile and returns the id to write under.
   * The id as given is locked first, so a merge of that anonymous id (which holds the same
   * lock) either finished before (we then see the link) or waits until we are done.
   */
  private async lockCustomer(db: PoolClient, id: string): Promise<string> {
    await this.lock(db, LOCK.customer, id);
    const customerId = await this.canonical(db, id);
    if (customerId !== id) await this.lock(db, LOCK.customer, customerId);
    return customerId;
  }

  private async lock(db: PoolClient, namespace: number, key: string): Promise<void> {
    await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [namespace, key]);
  }

  /** Upserts subscription rows for a canonical customer id. */
  private async writeSubscriptions(
    db: Queryable,
    customerId: string,
    changes: readonly SubscriptionChange[],
    source: string,
    at: string,
  ): Promise<void> {
    for (const change of changes) {
      await db.query(
        `INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (customer_id, channel, category) DO UPDATE
           SET status = excluded.status, source = excluded.source, updated_at = excluded.updated_at`,
        [customerId, change.channel, change.category, change.status, source, at],
      );
    }
  }

  private async load(db: Queryable, id: string): Promise<CustomerState | undefined> {
    const { rows } = await db.query<CustomerColumns>('SELECT id, email, phone, timezone, traits, tags FROM customers WHERE id = $1', [
      id,
    ]);
    return rows[0] && customerFromColumns(rows[0]);
  }

  private async save(db: Queryable, state: CustomerState): Promise<void> {
    await db.query(
      `INSERT INTO customers (id, email, phone, timezone, traits, tags, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, now(), now())
       ON CONFLICT (id) DO UPDATE SET email = excluded.email, phone = excluded.phone, timezone = excluded.timezone,
         traits = excluded.traits, tags = excluded.tags, updated_at = excluded.updated_at`,
      [state.id, state.email ?? null, state.phone ?? null, state.timezone ?? null, JSON.stringify(state.traits), JSON.stringify(state.tags)],
    );
  }
}
