import { randomUUID } from 'node:crypto';
import {
  applyProfileChanges,
  applyTraits,
  assembleStats,
  consentSupersedes,
  decideCaps,
  decideEntry,
  consentState,
  emptyCustomer,
  ENDING_KINDS,
  IDENTIFY_SOURCE,
  isoTime,
  mergeCustomers,
  normaliseAddress,
  requireSomeId,
  splitSubscriptionTraits,
  toProfile,
  validateCapCheck,
  decideSurveyAsk,
  validateSurveyAsk,
  windowStart,
  type CapUsage,
  type CustomerState,
  type SubscriptionChange,
} from '../rules';
import type {
  CapCheck,
  CapDecision,
  ConsentChange,
  DeadLetter,
  ActiveAtStep,
  DeployedJourney,
  DeployResult,
  EnrolDecision,
  Enrolment,
  JourneyStats,
  LiveStore,
  MessageRecord,
  Profile,
  ProfileChanges,
  EventToRecord,
  IdentifyOnAccept,
  RecordEventResult,
  StatementOrigin,
  StepRecord,
  StoredEvent,
  SubscriptionStatus,
  SurveyAsk,
  SurveyAskCheck,
  SurveyAskDecision,
  RecordSurveyAnswerResult,
  SurveyAnswer,
  SurveyAnswerInput,
  SurveyReport,
  SurveyReportQuery,
  UnroutedClaim,
  UnsubscribeCode,
} from '../store';
import type { AudienceListing, AudiencePage, BroadcastProgress, AudiencePageOptions, DatePage, DatePageOptions, CustomerData, JourneyOverview, ForgetRequest, ForgetResult, RetentionSweep } from '../store';
import type { JourneyPageNumbers } from '../store';
import { countConversion, countRecord } from './counters';
import { journeyPage } from './journey-page';
import * as privacy from './privacy';
import * as audiences from './audience';
import * as broadcasts from './broadcasts';
import { datePage } from './date-page';
import * as consoleQueries from './console';
import * as messagesList from './messages-page';
import type { ListedMessage, MessageCursor, MessagesQuery } from '../store';
import { withZeroCounts, type AggregateRead, type EventAggregates } from '../../core/audiences';
import type { Condition } from '../../compiler/plan';
import type { SplitCount } from '../../core/splits';
import type { ConsentState } from '../../core/consent';
import { ProfileStoreError } from '../errors';
import { join, json, list, raw, sql, typed, word, type Sql } from './dialect';
import { APPLIED_VERSIONS, migrationsFor } from './migrations';
import { CommitGroup } from './commit-group';
import { first, type Driver, type Row, type Runner, type Transaction } from './driver';
import {
  columns,
  CONSENT_CHANGE,
  CUSTOMER,
  ENROLMENT,
  EVENT,
  fromRow,
  insertRow,
  insertRows,
  JOURNEY,
  MESSAGE,
  PAST_ENTRY,
  STEP,
  SURVEY_ANSWER,
  SURVEY_ASK,
  UNSUBSCRIBE_CODE,
  type Shape,
} from './rows';

type EnrolArgs = Parameters<LiveStore['tryEnrol']>[0];

/** A database's schema against the migrations this Unbroken knows (sql/migrations.ts). */
export interface SchemaStatus {
  /** Versions applied to the database, oldest first (a newer Unbroken's may be among them). */
  applied: number[];
  /** Known migrations not applied yet, in the order they would run. */
  pending: { version: number; name: string }[];
  /** Every migration this Unbroken knows. */
  known: { version: number; name: string }[];
}

/** Unrouted events a claim reads at most to find its customers (more when a page asks for more). */
const CLAIM_WINDOW = 1000;

/** Insertion order, the tie-breaker among rows with equal times. */
const SEQ = word('seq');

/**
 * The id a customer's data lives under (the linked user for a merged anonymous id), as an
 * expression, so a read resolves it in the same statement, never seeing half a merge.
 */
function canonicalId(id: string): Sql {
  return sql`COALESCE((SELECT user_id FROM identity_links WHERE anonymous_id = ${id}), ${typed(id, 'text')})`;
}

/** Customer ids that are one person: the canonical id (a value or an expression) and every anonymous id linked to it. */
function identityGroup(customer: string | Sql): Sql {
  const id = typeof customer === 'string' ? sql`${typed(customer, 'text')}` : customer;
  return sql`SELECT ${id} UNION SELECT anonymous_id FROM identity_links WHERE user_id = ${id}`;
}

/** Stores events once under their messageIds: a messageId already stored is left as it is. */
function insertEvents(events: readonly StoredEvent[]): Sql {
  return sql`${insertRows('events', EVENT, events, { skip: ['routedAt'] })} ON CONFLICT DO NOTHING`;
}

/** The answer with `comment`, or without the field when there is none (absent, never undefined). */
function withComment(answer: Omit<SurveyAnswer, 'comment'> & { comment?: string }, comment: string | undefined): SurveyAnswer {
  const { comment: _old, ...rest } = answer;
  return comment === undefined ? rest : { ...rest, comment };
}

function now(): string {
  return new Date().toISOString();
}

/** The end of a lease of `ms` from now (ISO). */
function leaseAfter(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/**
 * The profile store, written once over a driver (SQLite or PostgreSQL, see dialect.ts).
 *
 * Every read-decide-write runs in one transaction that first locks what it decides about (a
 * customer, a journey and customer pair, a message key): in PostgreSQL an advisory lock, so
 * concurrent processes serialise exactly where they would race; in SQLite the IMMEDIATE
 * transaction has locked the whole file already. The unique constraints stay the backstop, and
 * an idempotency key commits with the change it guards or not at all.
 */
export class SqlStore<D extends Driver = Driver> implements LiveStore {
  private closed = false;

  /** The last customer `customersInTurn` gave a turn to, in this process: the next turn starts after it. */
  private turnCursor = '';

  /** Events accepted at the same moment, committed together where the driver wants that (sql/commit-group.ts). */
  private readonly eventWrites: CommitGroup<readonly EventToRecord[], RecordEventResult[]>;

  constructor(protected readonly db: D) {
    this.eventWrites = new CommitGroup(db, (tx, items) => this.recordEventsIn(tx, items));
  }

  // --- profiles -----------------------------------------------------------------------------

  async getProfile(id: string): Promise<Profile | undefined> {
    const row = await first(this.db, sql`SELECT ${columns(CUSTOMER)} FROM customers WHERE id = ${canonicalId(id)}`);
    return row && toProfile(this.record(CUSTOMER, row));
  }

  async identify(id: string, traits: Record<string, unknown>, stated?: StatementOrigin): Promise<Profile> {
    return this.db.transaction((tx) => this.identifyIn(tx, id, traits, stated));
  }

  private async identifyIn(tx: Transaction, id: string, traits: Record<string, unknown>, stated?: StatementOrigin): Promise<Profile> {
    const at = isoTime(stated?.at ?? now(), `identify of ${id}`);
    const customerId = await this.lockCustomer(tx, id);
    const state = (await this.load(tx, customerId)) ?? emptyCustomer(customerId);
    // Subscription preferences become rows (the one place consent is read from), not a trait.
    const split = splitSubscriptionTraits(customerId, traits);
    applyTraits(state, split.traits);
    await this.save(tx, state);
    await this.writeSubscriptions(tx, customerId, split.subscriptions, IDENTIFY_SOURCE, at, stated?.messageId);
    return toProfile(state);
  }

  async applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile> {
    // A thrown ProfileStoreError rolls the transaction back, key included, so nothing is half-applied.
    return this.db.transaction(async (tx) => {
      const customerId = await this.lockCustomer(tx, id);
      const inserted = await tx.run(
        sql`INSERT INTO profile_changes (idempotency_key, customer_id, applied_at) VALUES (${idempotencyKey}, ${customerId}, ${now()})
            ON CONFLICT DO NOTHING`,
      );
      const state = (await this.load(tx, customerId)) ?? emptyCustomer(customerId);
      if (inserted === 0) return toProfile(state);
      applyProfileChanges(state, changes);
      await this.save(tx, state);
      return toProfile(state);
    });
  }

  async recordStep(record: StepRecord): Promise<void> {
    await this.recordSteps([record]);
  }

  async recordSteps(records: readonly StepRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const record of records) await this.recordIn(tx, record);
    });
  }

  private async recordIn(tx: Transaction, record: StepRecord): Promise<void> {
    const inserted = await tx.run(sql`${insertRow('step_records', STEP, record)} ON CONFLICT DO NOTHING`);
    // A replayed record must not move the run back to an older step, nor count again.
    if (inserted === 0) return;
    const run = await this.moveRun(tx, record);
    // Records of one run written together are counted one after another, so exactly one of them
    // is the run's first at its step (sql/counters.ts): the update above holds the run's row
    // until commit; a record of no run takes the run's lock instead. Counted last: every run of
    // a journey updates the same few counter rows, each locked from its update to the commit.
    if (!run.found) await tx.lock('run', record.workflowId);
    for (const q of countRecord(record)) await tx.run(q);
    if (run.endedNow && record.kind === 'converted') await tx.run(countConversion(record.workflowId));
  }

  /**
   * Moves the record's run to its step and, with an ending record, ends the run there unless it
   * has ended already (a run keeps its first outcome): whether the run exists, and whether this
   * record ended it.
   */
  private async moveRun(tx: Transaction, record: StepRecord): Promise<{ found: boolean; endedNow: boolean }> {
    if (ENDING_KINDS.has(record.kind)) {
      const ended = await tx.run(
        sql`UPDATE enrolments SET current_step = ${record.stepId}, outcome = ${record.kind}, ended_at = ${record.at}
            WHERE workflow_id = ${record.workflowId} AND ended_at IS NULL`,
      );
      if (ended === 1) return { found: true, endedNow: true };
    }
    const moved = await tx.run(sql`UPDATE enrolments SET current_step = ${record.stepId} WHERE workflow_id = ${record.workflowId}`);
    return { found: moved === 1, endedNow: false };
  }

  async stepsFor(workflowId: string): Promise<StepRecord[]> {
    const rows = await this.db.all(sql`SELECT ${columns(STEP)} FROM step_records WHERE workflow_id = ${workflowId} ORDER BY at, ${SEQ}`);
    return this.records(STEP, rows);
  }

  async claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }> {
    // Under the key's lock the insert and the read are one step: a release cannot slip between
    // them, so a losing claim always finds the record it lost to.
    return this.db.transaction(async (tx) => {
      await tx.lock('message', record.idempotencyKey);
      const time = now();
      const insert = insertRow('messages', MESSAGE, record, { extra: { created_at: time, updated_at: time } });
      if ((await tx.run(sql`${insert} ON CONFLICT DO NOTHING`)) === 1) return { claimed: true };
      const row = await first(tx, sql`SELECT ${columns(MESSAGE)} FROM messages WHERE idempotency_key = ${record.idempotencyKey}`);
      return { claimed: false, existing: this.record(MESSAGE, row as Row) };
    });
  }

  async finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void> {
    await this.db.run(
      sql`UPDATE messages SET status = ${status}, result = ${json(result)}, updated_at = ${now()} WHERE idempotency_key = ${idempotencyKey}`,
    );
  }

  async releaseMessage(idempotencyKey: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.lock('message', idempotencyKey);
      // Only an unfinished claim may be released: a finished message must stay finished.
      await tx.run(sql`DELETE FROM messages WHERE idempotency_key = ${idempotencyKey} AND status = 'sending'`);
    });
  }

  async messagesFor(customerId: string): Promise<MessageRecord[]> {
    const rows = await this.db.all(sql`SELECT ${columns(MESSAGE)} FROM messages WHERE customer_id = ${customerId} ORDER BY created_at, ${SEQ}`);
    return this.records(MESSAGE, rows);
  }

  // --- identities and events ----------------------------------------------------------------

  async resolveCustomer(ids: { userId?: string; anonymousId?: string }): Promise<string> {
    requireSomeId(ids);
    const { userId, anonymousId } = ids;
    if (!userId) return this.canonical(this.db, anonymousId as string);
    if (!anonymousId || anonymousId === userId) return userId;
    // Fast path for every later event of an identified visitor: the link already exists.
    if ((await this.linkedUser(this.db, anonymousId)) !== undefined) return userId;
    return this.db.transaction(async (tx) => {
      // Anonymous before user: the same order identify() on an anonymous id takes them in.
      await tx.lock('customer', anonymousId);
      await tx.lock('customer', userId);
      // An anonymous id already linked (to this user or, first come first served, another one)
      // stays as it is: the event still belongs to the user it names.
      const linked = await tx.run(
        sql`INSERT INTO identity_links (anonymous_id, user_id, linked_at) VALUES (${anonymousId}, ${userId}, ${now()}) ON CONFLICT DO NOTHING`,
      );
      if (linked === 1) await this.merge(tx, anonymousId, userId);
      return userId;
    });
  }

  /** Moves a just-linked anonymous id's events, profile and consent to its user. */
  private async merge(tx: Transaction, anonymousId: string, userId: string): Promise<void> {
    await tx.run(sql`UPDATE events SET customer_id = ${userId} WHERE customer_id = ${anonymousId}`);
    const anonymous = await this.load(tx, anonymousId);
    if (anonymous) {
      await this.save(tx, mergeCustomers(userId, await this.load(tx, userId), anonymous));
      await tx.run(sql`DELETE FROM customers WHERE id = ${anonymousId}`);
    }
    // Consent follows the person: for each channel and category the statement that happened last
    // wins (an unsubscribe wins a tie), whichever id it was made under, and the history moves
    // with it. Send slots stay put: caps count the whole identity group.
    const carried = await tx.all(sql`SELECT channel, category, status, source, updated_at FROM subscriptions WHERE customer_id = ${anonymousId}`);
    for (const row of carried) {
      const change = { channel: String(row.channel), category: String(row.category), status: row.status as SubscriptionStatus };
      if (await this.supersedes(tx, userId, change, String(row.updated_at))) {
        await this.holdSubscription(tx, userId, change, String(row.source), String(row.updated_at));
      }
    }
    await tx.run(sql`DELETE FROM subscriptions WHERE customer_id = ${anonymousId}`);
    await tx.run(sql`UPDATE consent_changes SET customer_id = ${userId} WHERE customer_id = ${anonymousId}`);
  }

  async recordEvent(event: StoredEvent, identify?: IdentifyOnAccept): Promise<RecordEventResult> {
    // A track is one statement, the common case; an identify and its traits are one transaction.
    if (identify === undefined) return { status: (await this.db.run(insertEvents([event]))) === 1 ? 'new' : 'duplicate' };
    return this.db.transaction((tx) => this.recordIdentify(tx, event, identify));
  }

  async recordEvents(items: readonly EventToRecord[]): Promise<RecordEventResult[]> {
    if (this.db.groupsCommits) return this.eventWrites.add(items);
    if (items.length === 1) return [await this.recordEvent(items[0].event, items[0].identify)];
    return this.db.transaction((tx) => this.recordEventsIn(tx, items));
  }

  /** `recordEvents`' writes, in the caller's transaction. */
  private async recordEventsIn(tx: Transaction, items: readonly EventToRecord[]): Promise<RecordEventResult[]> {
    const results: RecordEventResult[] = [];
    // Tracks in a row go in one statement (one round trip however many); an identify on its own.
    for (let i = 0; i < items.length; ) {
      const { event, identify } = items[i];
      if (identify !== undefined) {
        results.push(await this.recordIdentify(tx, event, identify));
        i += 1;
        continue;
      }
      let end = i + 1;
      while (end < items.length && items[end].identify === undefined) end += 1;
      results.push(...(await this.insertTracks(tx, items.slice(i, end).map((item) => item.event))));
      i = end;
    }
    return results;
  }

  /** Stores an identify and applies its traits, in the caller's transaction. */
  private async recordIdentify(tx: Transaction, event: StoredEvent, identify: IdentifyOnAccept): Promise<RecordEventResult> {
    if ((await tx.run(insertEvents([event]))) === 0) return { status: 'duplicate' };
    await this.identifyIn(tx, event.customerId, identify.traits, identify.stated);
    return { status: 'new' };
  }

  /** Inserts tracks in one statement; the rows it inserted say which were new (a messageId met again is a duplicate). */
  private async insertTracks(tx: Transaction, events: readonly StoredEvent[]): Promise<RecordEventResult[]> {
    const rows = await tx.all(sql`${insertEvents(events)} RETURNING message_id`);
    const inserted = new Set(rows.map((row) => String(row.message_id)));
    return events.map((event) => ({ status: inserted.delete(event.messageId) ? 'new' : 'duplicate' }));
  }

  async releaseEvent(messageId: string): Promise<void> {
    await this.db.run(sql`UPDATE events SET routing_lease_until = NULL WHERE message_id = ${messageId} AND routed_at IS NULL`);
  }

  async claimUnroutedEvents(claim: UnroutedClaim): Promise<StoredEvent[][]> {
    const time = now();
    const { customers: oldest, windowFull } = await this.customersOfOldestEvents(claim, time);
    // A few customers may hold all the oldest events (one sending thousands at once): the rest of
    // the page goes to others in turn, so nobody waits for such a customer's backlog to drain.
    const short = windowFull && oldest.length < claim.customers;
    const others = short ? await this.customersInTurn(claim.customers - oldest.length, new Set(oldest)) : [];
    const pages: StoredEvent[][] = [];
    for (const customerId of [...oldest, ...others]) {
      const events = await this.db.transaction((tx) => this.claimCustomerEvents(tx, customerId, claim));
      if (events.length > 0) pages.push(events);
    }
    return pages;
  }

  /**
   * The customers of the oldest claimable events, in the order of their oldest, read along the
   * unrouted index up to a window: grouping every unrouted event would read the whole backlog per
   * page, which grows while Temporal is down just when routing must catch up. Customers someone
   * is routing right now are left out, so they cannot fill the page and starve the others (the
   * claim checks again, under the customer's lock).
   */
  private async customersOfOldestEvents(claim: UnroutedClaim, time: string): Promise<{ customers: string[]; windowFull: boolean }> {
    const window = Math.max(CLAIM_WINDOW, claim.customers * claim.eventsPerCustomer);
    const rows = await this.db.all(
      sql`SELECT customer_id, SUM(COUNT(*)) OVER () AS windowed FROM (
            SELECT customer_id, received_at FROM events
            WHERE routed_at IS NULL AND dead_at IS NULL ${receivedBefore(claim)} AND (routing_lease_until IS NULL OR routing_lease_until <= ${time})
              AND customer_id NOT IN (SELECT customer_id FROM events WHERE routed_at IS NULL AND routing_lease_until IS NOT NULL AND routing_lease_until > ${time})
            ORDER BY received_at LIMIT ${window}
          ) oldest
          GROUP BY customer_id ORDER BY MIN(received_at), customer_id LIMIT ${claim.customers}`,
    );
    return { customers: rows.map((row) => String(row.customer_id)), windowFull: Number(rows[0]?.windowed ?? 0) >= window };
  }

  /**
   * Up to `count` other customers with unrouted events, taking turns by id after the last one
   * taken (wrapping around): each found by one index probe (a skip scan), however many events
   * any customer holds. Whether their events can be claimed now is the claim's to decide.
   */
  private async customersInTurn(count: number, taken: ReadonlySet<string>): Promise<string[]> {
    const found: string[] = [];
    // Room for the ones already taken (or busy) met on the way, then wrapping around once.
    for (let pass = 0; pass < 2 && found.length < count; pass++) {
      const after = pass === 0 ? this.turnCursor : '';
      const rows = await this.db.all(
        sql`WITH RECURSIVE next (id, n) AS (
              SELECT (SELECT MIN(customer_id) FROM events WHERE routed_at IS NULL AND customer_id > ${after}), 1
              UNION ALL
              SELECT (SELECT MIN(customer_id) FROM events WHERE routed_at IS NULL AND customer_id > next.id), n + 1
              FROM next WHERE next.id IS NOT NULL AND n < ${count + taken.size}
            )
            SELECT id FROM next WHERE id IS NOT NULL`,
      );
      for (const row of rows) {
        const id = String(row.id);
        if (found.length < count && !taken.has(id) && !found.includes(id)) found.push(id);
      }
      if (found.length > 0) this.turnCursor = found[found.length - 1];
      if (pass === 0 && rows.length === count + taken.size) break;
    }
    return found;
  }

  /** One customer's part of a claim, under the customer's lock so two claimers never share it. */
  private async claimCustomerEvents(tx: Transaction, customerId: string, claim: UnroutedClaim): Promise<StoredEvent[]> {
    await tx.lock('customer', customerId);
    const time = now();
    const busy = await first(
      tx,
      sql`SELECT 1 AS busy FROM events WHERE customer_id = ${customerId} AND routed_at IS NULL AND routing_lease_until IS NOT NULL AND routing_lease_until > ${time}`,
    );
    if (busy) return [];
    const rows = await tx.all(
      sql`SELECT ${columns(EVENT)} FROM events WHERE customer_id = ${customerId} AND routed_at IS NULL AND dead_at IS NULL ${receivedBefore(claim)}
          ORDER BY timestamp, ${SEQ} LIMIT ${claim.eventsPerCustomer}`,
    );
    const events = this.records(EVENT, rows);
    if (events.length === 0) return [];
    const ids = list(events.map((e) => e.messageId));
    await tx.run(sql`UPDATE events SET routing_lease_until = ${leaseAfter(claim.leaseMs)} WHERE message_id IN (${ids})`);
    return events;
  }

  async markEventRouted(messageId: string): Promise<void> {
    await this.db.run(sql`UPDATE events SET routed_at = ${now()} WHERE message_id = ${messageId} AND routed_at IS NULL`);
  }

  async routingBacklog(): Promise<{ events: number; oldestReceivedAt?: string }> {
    const row = await first(this.db, sql`SELECT COUNT(*) AS events, MIN(received_at) AS oldest FROM events WHERE routed_at IS NULL AND dead_at IS NULL`);
    const events = Number(row?.events ?? 0);
    return row?.oldest == null ? { events } : { events, oldestReceivedAt: String(row.oldest) };
  }

  async recordRouteFailure(messageId: string, failure: { reason: string; maxAttempts: number; retryAfterMs: number }): Promise<{ attempts: number; dead: boolean }> {
    return this.db.transaction(async (tx) => {
      const row = await first(tx, sql`SELECT route_attempts FROM events WHERE message_id = ${messageId} AND routed_at IS NULL AND dead_at IS NULL`);
      if (!row) return { attempts: 0, dead: false };
      const attempts = Number(row.route_attempts) + 1;
      const dead = attempts >= failure.maxAttempts;
      await tx.run(
        dead
          ? sql`UPDATE events SET route_attempts = ${attempts}, dead_at = ${now()}, dead_reason = ${failure.reason}, routing_lease_until = NULL WHERE message_id = ${messageId}`
          : sql`UPDATE events SET route_attempts = ${attempts}, routing_lease_until = ${leaseAfter(failure.retryAfterMs)} WHERE message_id = ${messageId}`,
      );
      return { attempts, dead };
    });
  }

  async deadLetters(opts: { limit?: number } = {}): Promise<{ total: number; events: DeadLetter[] }> {
    const count = await first(this.db, sql`SELECT COUNT(*) AS n FROM events WHERE dead_at IS NOT NULL`);
    const rows = await this.db.all(
      sql`SELECT ${columns(EVENT)}, route_attempts, dead_at, dead_reason FROM events WHERE dead_at IS NOT NULL
          ORDER BY dead_at, ${SEQ} LIMIT ${opts.limit ?? 100}`,
    );
    const events = this.records(EVENT, rows).map((event, i) => ({
      event,
      attempts: Number(rows[i].route_attempts),
      deadAt: String(rows[i].dead_at),
      reason: String(rows[i].dead_reason ?? ''),
    }));
    return { total: Number(count?.n ?? 0), events };
  }

  async retryDeadLetters(messageIds?: readonly string[]): Promise<number> {
    if (messageIds !== undefined && messageIds.length === 0) return 0;
    const only = messageIds === undefined ? sql`` : sql` AND message_id IN (${list(messageIds)})`;
    return this.db.run(
      sql`UPDATE events SET dead_at = NULL, dead_reason = NULL, route_attempts = 0, routing_lease_until = NULL WHERE dead_at IS NOT NULL${only}`,
    );
  }

  async eventsFor(customerId: string): Promise<StoredEvent[]> {
    const rows = await this.db.all(sql`SELECT ${columns(EVENT)} FROM events WHERE customer_id = ${customerId} ORDER BY timestamp, ${SEQ}`);
    return this.records(EVENT, rows);
  }

  async eventAggregates(customerId: string, reads: readonly AggregateRead[], nowMs: number): Promise<EventAggregates> {
    const found = await audiences.loadAggregates(this.db, [customerId], reads, nowMs);
    return withZeroCounts(reads, found.get(customerId) ?? {});
  }

  private readonly loadProfiles = async (ids: readonly string[]): Promise<Map<string, Profile>> => {
    const rows = await this.db.all(sql`SELECT ${columns(CUSTOMER)} FROM customers WHERE id IN (${list(ids)})`);
    return new Map(rows.map((row) => [String(row.id), toProfile(this.record(CUSTOMER, row))] as const));
  };

  async audience(condition: Condition, opts: { nowMs: number; sampleSize: number }): Promise<AudienceListing> {
    return audiences.listAudience(this.db, condition, { ...opts, loadProfiles: this.loadProfiles });
  }

  async audiencePage(condition: Condition, opts: AudiencePageOptions): Promise<AudiencePage> {
    return audiences.audiencePage(this.db, condition, { ...opts, loadProfiles: this.loadProfiles });
  }

  async datePage(opts: DatePageOptions): Promise<DatePage> {
    return datePage(this.db, { ...opts, loadProfiles: this.loadProfiles });
  }

  // --- deployed journeys --------------------------------------------------------------------

  async deployJourneys(plans: { journeyId: string; version: string; plan: unknown }[], at: string, opts: { withdrawAbsent?: boolean } = {}): Promise<DeployResult> {
    return this.db.transaction(async (tx) => {
      // Two deploys at once would both see the old version; one at a time keeps the report true.
      await tx.lock('deploy', 'journeys');
      const result: DeployResult = { published: [], unchanged: [] };
      for (const { journeyId, version, plan } of plans) {
        const previous = (await first(tx, sql`SELECT version FROM journeys WHERE journey_id = ${journeyId}`))?.version as string | undefined;
        if (previous === version) {
          result.unchanged.push(journeyId);
          continue;
        }
        // Serialising inside the transaction: a plan that cannot be stored aborts the whole
        // deploy. A version deployed before (a rollback) keeps its original row and plan.
        await tx.run(
          sql`INSERT INTO journey_versions (journey_id, version, plan, deployed_at) VALUES (${journeyId}, ${version}, ${json(plan)}, ${at})
              ON CONFLICT DO NOTHING`,
        );
        await tx.run(
          sql`INSERT INTO journeys (journey_id, version, paused, deployed_at) VALUES (${journeyId}, ${version}, ${false}, ${at})
              ON CONFLICT (journey_id) DO UPDATE SET version = excluded.version, deployed_at = excluded.deployed_at`,
        );
        result.published.push(previous === undefined ? { journeyId, version } : { journeyId, version, previous });
      }
      if (opts.withdrawAbsent) {
        const kept = new Set(plans.map((p) => p.journeyId));
        result.withdrawn = [];
        for (const row of await tx.all(sql`SELECT journey_id, version FROM journeys ORDER BY journey_id`)) {
          const journeyId = String(row.journey_id);
          if (kept.has(journeyId)) continue;
          // The row is the "live" pointer; journey_versions keeps every plan for the runs inside.
          await tx.run(sql`DELETE FROM journeys WHERE journey_id = ${journeyId}`);
          result.withdrawn.push({ journeyId, version: String(row.version) });
        }
      }
      return result;
    });
  }

  async deployedJourneys(): Promise<DeployedJourney[]> {
    const rows = await this.db.all(
      sql`SELECT j.journey_id, j.version, v.plan, j.deployed_at, j.paused
          FROM journeys j JOIN journey_versions v ON v.journey_id = j.journey_id AND v.version = j.version
          ORDER BY j.journey_id`,
    );
    return this.records(JOURNEY, rows);
  }

  async journeyVersion(journeyId: string, version: string): Promise<DeployedJourney | undefined> {
    const row = await first(
      this.db,
      sql`SELECT v.journey_id, v.version, v.plan, v.deployed_at, COALESCE(j.paused, ${true}) AS paused
          FROM journey_versions v LEFT JOIN journeys j ON j.journey_id = v.journey_id
          WHERE v.journey_id = ${journeyId} AND v.version = ${version}`,
    );
    return row && this.record(JOURNEY, row);
  }

  async activeAtSteps(journeyId?: string): Promise<ActiveAtStep[]> {
    const only = journeyId === undefined ? sql`` : sql`AND e.journey_id = ${journeyId}`;
    // current_step is the step of the run's latest record; its kind says whether the step is done.
    const rows = await this.db.all(
      sql`SELECT journey_id, version, current_step, last_kind, COUNT(*) AS customers FROM (
            SELECT e.journey_id, e.version, e.current_step,
              (SELECT s.kind FROM step_records s WHERE s.workflow_id = e.workflow_id ORDER BY s.${SEQ} DESC LIMIT 1) AS last_kind
            FROM enrolments e WHERE e.ended_at IS NULL ${only}
          ) runs
          GROUP BY journey_id, version, current_step, last_kind ORDER BY journey_id, version, current_step, last_kind`,
    );
    return rows.map((row) => ({
      journeyId: String(row.journey_id),
      version: String(row.version),
      ...(row.current_step === null || row.current_step === undefined ? {} : { stepId: String(row.current_step) }),
      ...(row.last_kind === null || row.last_kind === undefined ? {} : { lastKind: String(row.last_kind) }),
      customers: Number(row.customers),
    }));
  }

  async setPaused(journeyId: string, paused: boolean): Promise<boolean> {
    return (await this.db.run(sql`UPDATE journeys SET paused = ${paused} WHERE journey_id = ${journeyId}`)) === 1;
  }

  // --- enrolments ---------------------------------------------------------------------------

  async tryEnrol(args: EnrolArgs): Promise<EnrolDecision> {
    try {
      return await this.db.transaction((tx) => this.enrol(tx, args));
    } catch (err) {
      // The locks make this unreachable between Unbroken processes, but the unique indexes are
      // the real guarantee: losing to them means another run got in first.
      if (this.db.dialect.isUniqueViolation(err)) return { enrolled: false, reason: 'active' };
      throw err;
    }
  }

  private async enrol(tx: Transaction, args: EnrolArgs): Promise<EnrolDecision> {
    const customer = await this.canonical(tx, args.customerId);
    await tx.lock('enrol', args.journeyId, customer);
    const journey = await first(tx, sql`SELECT paused FROM journeys WHERE journey_id = ${args.journeyId}`);
    const history = this.records(
      PAST_ENTRY,
      await tx.all(
        sql`SELECT ${columns(PAST_ENTRY)} FROM enrolments WHERE journey_id = ${args.journeyId} AND customer_id IN (${identityGroup(customer)})`,
      ),
    );
    const key = args.key ?? args.occurrence ?? '';
    const decision = decideEntry({ paused: Boolean(journey?.paused), history, reEntry: args.reEntry, at: args.at, key, occurrence: args.occurrence !== undefined });
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
      ...(key ? { instanceKey: key } : {}),
    };
    await tx.run(insertRow('enrolments', ENROLMENT, enrolment, { skip: ['instanceKey'], extra: { instance_key: key } }));
    return { enrolled: true, enrolment };
  }

  async activeEnrolments(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, sql`AND ended_at IS NULL ORDER BY entered_at, ${SEQ}`);
  }

  async enrolmentsFor(customerId: string): Promise<Enrolment[]> {
    return this.enrolments(customerId, sql`ORDER BY entered_at DESC, ${SEQ} DESC`);
  }

  private async enrolments(customerId: string, tail: Sql): Promise<Enrolment[]> {
    const rows = await this.db.all(
      sql`SELECT ${columns(ENROLMENT)} FROM enrolments WHERE customer_id IN (${identityGroup(canonicalId(customerId))}) ${tail}`,
    );
    return this.runs(rows);
  }

  async activeRunsPage(journeyId: string, afterCustomer: string, limit: number): Promise<Enrolment[]> {
    // The partial index of active runs (journey_id, customer_id, instance_key) serves this order.
    const rows = await this.db.all(
      sql`SELECT ${columns(ENROLMENT)} FROM enrolments WHERE journey_id = ${journeyId} AND ended_at IS NULL AND customer_id > ${afterCustomer}
          ORDER BY customer_id, instance_key LIMIT ${limit}`,
    );
    return this.runs(rows);
  }

  private runs(rows: Row[]): Enrolment[] {
    return this.records(ENROLMENT, rows).map(({ instanceKey, ...run }) => (instanceKey ? { ...run, instanceKey } : run));
  }

  async recordBroadcast(progress: BroadcastProgress): Promise<void> {
    await broadcasts.recordBroadcast(this.db, progress, new Date().toISOString());
  }

  async latestBroadcast(journeyId: string): Promise<BroadcastProgress | undefined> {
    return broadcasts.latestBroadcast(this.db, journeyId);
  }

  async journeyStats(journeyId: string): Promise<JourneyStats> {
    const [counts, outcomes, steps, skipReasons] = await Promise.all([
      first(
        this.db,
        sql`SELECT COUNT(*) AS entered, COUNT(*) FILTER (WHERE ended_at IS NULL) AS active FROM enrolments WHERE journey_id = ${journeyId}`,
      ),
      this.db.all(
        sql`SELECT outcome, COUNT(*) AS count FROM enrolments WHERE journey_id = ${journeyId} AND outcome IS NOT NULL
            GROUP BY outcome ORDER BY outcome`,
      ),
      this.db.all(
        sql`SELECT step_id AS "stepId", kind, COUNT(*) AS count FROM step_records WHERE journey_id = ${journeyId}
            GROUP BY step_id, kind ORDER BY MIN(at), MIN(${SEQ})`,
      ),
      // SQLite's ->> returns a JSON number as a number, PostgreSQL's as text: String() makes both text.
      this.db.all(
        sql`SELECT step_id AS "stepId", detail->>'reason' AS reason, COUNT(*) AS count FROM step_records
            WHERE journey_id = ${journeyId} AND kind = 'skipped' GROUP BY 1, 2`,
      ),
    ]);
    return assembleStats(journeyId, {
      entered: Number(counts?.entered ?? 0),
      active: Number(counts?.active ?? 0),
      outcomes: outcomes.map((row) => ({ outcome: String(row.outcome), count: Number(row.count) })),
      steps: steps.map((row) => ({ stepId: String(row.stepId), kind: String(row.kind), count: Number(row.count) })),
      skipReasons: skipReasons.map((row) => ({
        stepId: String(row.stepId),
        reason: row.reason === null ? null : String(row.reason),
        count: Number(row.count),
      })),
    });
  }

  async splitCounts(journeyId: string, version?: string): Promise<SplitCount[]> {
    const onlyVersion = version === undefined ? sql`` : sql`AND version = ${version}`;
    // Counted as the `branched` records that name an arm are written (sql/counters.ts).
    const rows = await this.db.all(
      sql`SELECT step_id AS "stepId", variant, SUM(entered) AS entered, SUM(converted) AS converted
          FROM split_arms WHERE journey_id = ${journeyId} ${onlyVersion} GROUP BY step_id, variant HAVING SUM(entered) > 0`,
    );
    return rows.map((row) => ({ stepId: String(row.stepId), variant: String(row.variant), entered: Number(row.entered), converted: Number(row.converted) }));
  }

  async journeyOverview(journeyIds: readonly string[], since: { today: string; week: string }): Promise<JourneyOverview[]> {
    return consoleQueries.journeyOverview(this.db, journeyIds, { today: isoTime(since.today, 'today'), week: isoTime(since.week, 'week') });
  }

  async journeyPage(journeyId: string, opts: { version?: string; since: string }): Promise<JourneyPageNumbers> {
    return journeyPage(this.db, journeyId, { ...opts, since: isoTime(opts.since, 'since') });
  }

  async findCustomers(term: string, limit: number): Promise<string[]> {
    return consoleQueries.findCustomers(this.db, term, limit);
  }

  async messagesPage(query: MessagesQuery): Promise<{ messages: ListedMessage[]; older?: MessageCursor }> {
    return messagesList.messagesPage(this.db, this.db.dialect, query);
  }

  // --- surveys: answers ----------------------------------------------------------------------

  async recordSurveyAnswer(input: SurveyAnswerInput, graceMs: number): Promise<RecordSurveyAnswerResult> {
    const at = isoTime(input.at, 'survey answer time');
    return this.db.transaction(async (tx) => {
      // Answers of one run arriving together (a double click, two tabs) decide one after another.
      await tx.lock('customer', input.customerId);
      const { at: _at, comment, ...fields } = input;
      const fresh: SurveyAnswer = withComment({ ...fields, firstAnsweredAt: at, answeredAt: at }, comment);
      if ((await tx.run(sql`${insertRow('survey_answers', SURVEY_ANSWER, fresh)} ON CONFLICT DO NOTHING`)) === 1) {
        return { status: 'recorded', answer: fresh };
      }
      const current = (await this.surveyAnswerIn(tx, input.workflowId, input.surveyId)) as SurveyAnswer;
      const wanted = withComment({ ...current, score: input.score, answeredAt: at }, comment ?? current.comment);
      if (wanted.score === current.score && wanted.comment === current.comment) return { status: 'unchanged', answer: current };
      if (Date.parse(at) >= Date.parse(current.firstAnsweredAt) + graceMs) return { status: 'final', answer: current };
      await tx.run(
        sql`UPDATE survey_answers SET score = ${wanted.score}, comment = ${wanted.comment ?? null}, answered_at = ${at}
            WHERE workflow_id = ${input.workflowId} AND survey_id = ${input.surveyId}`,
      );
      return { status: 'changed', answer: wanted };
    });
  }

  async surveyAnswer(workflowId: string, surveyId: string): Promise<SurveyAnswer | undefined> {
    return this.surveyAnswerIn(this.db, workflowId, surveyId);
  }

  private async surveyAnswerIn(db: Runner, workflowId: string, surveyId: string): Promise<SurveyAnswer | undefined> {
    const row = await first(db, sql`SELECT ${columns(SURVEY_ANSWER)} FROM survey_answers WHERE workflow_id = ${workflowId} AND survey_id = ${surveyId}`);
    return row && this.record(SURVEY_ANSWER, row);
  }

  // --- surveys: reading the scores ---------------------------------------------------------

  async surveyReport(query: SurveyReportQuery): Promise<SurveyReport> {
    const since = query.since === undefined ? undefined : isoTime(query.since, 'survey report since');
    // A run's start is its first ask; an answer whose ask is missing starts its run itself.
    const firstAsk = (table: string) =>
      sql`(SELECT MIN(f.asked_at) FROM survey_asks f WHERE f.workflow_id = ${raw(table)}.workflow_id AND f.survey_id = ${raw(table)}.survey_id)`;
    const filter = (table: string, runStart: Sql) =>
      join(
        [
          sql`1 = 1`,
          ...(query.surveyId === undefined ? [] : [sql`${raw(table)}.survey_id = ${query.surveyId}`]),
          ...(query.journeyId === undefined ? [] : [sql`${raw(table)}.journey_id = ${query.journeyId}`]),
          ...(since === undefined ? [] : [sql`${runStart} >= ${typed(since, 'timestamptz')}`]),
        ],
        ' AND ',
      );
    const [asks, answers] = await Promise.all([
      this.db.all(
        sql`SELECT ${columns(SURVEY_ASK)} FROM survey_asks a WHERE ${filter('a', firstAsk('a'))} ORDER BY asked_at, idempotency_key`,
      ),
      this.db.all(
        sql`SELECT ${columns(SURVEY_ANSWER)} FROM survey_answers s
            WHERE ${filter('s', sql`COALESCE(${firstAsk('s')}, s.first_answered_at)`)} ORDER BY first_answered_at, workflow_id, survey_id`,
      ),
    ]);
    return { asks: this.records(SURVEY_ASK, asks), answers: this.records(SURVEY_ANSWER, answers) };
  }

  // --- delivery: consent, suppression, frequency caps ----------------------------------------

  async subscription(customerId: string, channel: string, category: string): Promise<SubscriptionStatus> {
    const state = await this.consent(customerId, channel, category);
    return state === 'unknown' ? 'subscribed' : state;
  }

  async consent(customerId: string, channel: string, category: string): Promise<ConsentState> {
    const row = await first(
      this.db,
      sql`SELECT (SELECT status FROM subscriptions WHERE customer_id = k.id AND channel = ${channel} AND category = ${category}) AS status,
                 (SELECT traits FROM customers WHERE id = k.id) AS traits
          FROM (SELECT ${canonicalId(customerId)} AS id) k`,
    );
    const explicit = (row?.status ?? undefined) as string | undefined;
    const traits = (this.db.dialect.decodeJson(row?.traits ?? null) ?? undefined) as Record<string, unknown> | undefined;
    return consentState(explicit, traits, category);
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
    await this.db.transaction(async (tx) => {
      // Locked like identify: a merge of this anonymous id either ran before (we write under the
      // user) or waits, so the statement is never left behind under the anonymous id.
      const id = await this.lockCustomer(tx, customerId);
      await this.writeSubscriptions(tx, id, [{ channel, category, status }], source, when);
    });
  }

  async consentHistory(customerId: string): Promise<ConsentChange[]> {
    const rows = await this.db.all(
      sql`SELECT ${columns(CONSENT_CHANGE)} FROM consent_changes WHERE customer_id IN (${identityGroup(canonicalId(customerId))})
          ORDER BY happened_at, recorded_at, ${SEQ}`,
    );
    return this.records(CONSENT_CHANGE, rows);
  }

  async suppress(channel: string, address: string, reason: string, at: string): Promise<void> {
    const when = isoTime(at, `suppression of ${channel} address`);
    // The first reason stays: it is why the address was cut off; a later bounce adds nothing.
    await this.db.run(
      sql`INSERT INTO suppressions (channel, address, reason, at) VALUES (${channel}, ${normaliseAddress(channel, address)}, ${reason}, ${when})
          ON CONFLICT DO NOTHING`,
    );
  }

  async suppression(channel: string, address: string): Promise<string | undefined> {
    const row = await first(
      this.db,
      sql`SELECT reason FROM suppressions WHERE channel = ${channel} AND address = ${normaliseAddress(channel, address)}`,
    );
    return row?.reason as string | undefined;
  }

  async reserveSendSlot(check: CapCheck): Promise<CapDecision> {
    const at = validateCapCheck(check);
    return this.db.transaction(async (tx) => {
      // Every reservation for one customer queues on this lock, so the count below and the
      // insert after it are one step: of two journeys racing for the last slot, the second
      // sees the first one's row. Same order as lockCustomer: the id as given, then canonical.
      await tx.lock('send', check.customerId);
      const customer = await this.canonical(tx, check.customerId);
      if (customer !== check.customerId) await tx.lock('send', customer);
      if (await first(tx, sql`SELECT 1 AS held FROM send_slots WHERE idempotency_key = ${check.idempotencyKey}`)) return { allowed: true };
      const usages: CapUsage[] = [];
      for (const cap of check.caps) usages.push(await this.capUsage(tx, check, customer, at, cap));
      const decision = decideCaps(usages);
      if (!decision.allowed) return decision;
      await tx.run(
        sql`INSERT INTO send_slots (idempotency_key, customer_id, channel, category, journey_id, at, instance_key)
            VALUES (${check.idempotencyKey}, ${customer}, ${check.channel}, ${check.category}, ${check.journeyId}, ${at}, ${check.instanceKey ?? ''})`,
      );
      return decision;
    });
  }

  /** The newest slots (at most `max`) inside one cap's window. */
  private async capUsage(tx: Transaction, check: CapCheck, customer: string, at: string, cap: CapCheck['caps'][number]): Promise<CapUsage> {
    const journey = typed(cap.journeyId ?? null, 'text');
    const rows = await tx.all(
      sql`SELECT at FROM send_slots
          WHERE customer_id IN (${identityGroup(customer)}) AND channel = ${check.channel} AND category = ${check.category}
            AND at > ${windowStart(at, cap.windowMs)} AND (${journey} IS NULL OR journey_id = ${journey})
            ${cap.perKey ? sql`AND instance_key = ${check.instanceKey ?? ''}` : sql``}
          ORDER BY at DESC LIMIT ${cap.max}`,
    );
    return { max: cap.max, windowMs: cap.windowMs, newest: rows.map((row) => Date.parse(row.at as string)) };
  }

  async releaseSendSlot(idempotencyKey: string): Promise<void> {
    await this.db.run(sql`DELETE FROM send_slots WHERE idempotency_key = ${idempotencyKey}`);
  }

  // --- surveys: the fatigue rule ---------------------------------------------------------------

  async reserveSurveyAsk(check: SurveyAskCheck): Promise<SurveyAskDecision> {
    const at = validateSurveyAsk(check);
    return this.db.transaction(async (tx) => {
      // Every ask to one customer queues on this lock, so the reads below and the insert are one
      // step: of two journeys asking at once, the second sees the first one's row.
      const customer = await this.lockCustomer(tx, check.customerId);
      if (await first(tx, sql`SELECT 1 AS held FROM survey_asks WHERE idempotency_key = ${check.idempotencyKey}`)) return { allowed: true };
      const decision = decideSurveyAsk(await this.recentSurvey(tx, check, customer, at), await this.askedInRun(tx, check), check.reminders, await this.answeredInRun(tx, check));
      if (!decision.allowed) return decision;
      await tx.run(
        sql`INSERT INTO survey_asks (idempotency_key, customer_id, survey_id, journey_id, workflow_id, step_id, asked_at)
            VALUES (${check.idempotencyKey}, ${customer}, ${check.surveyId}, ${check.journeyId}, ${check.workflowId}, ${check.stepId}, ${at})`,
      );
      return decision;
    });
  }

  /** The newest survey asked to the customer inside the fatigue window, other than this run's own survey (its reminders). */
  private async recentSurvey(tx: Transaction, check: SurveyAskCheck, customer: string, at: string): Promise<Pick<SurveyAsk, 'surveyId' | 'journeyId' | 'askedAt'> | undefined> {
    if (check.fatigueMs === 0) return undefined;
    const row = await first(
      tx,
      sql`SELECT ${columns(SURVEY_ASK)} FROM survey_asks
          WHERE customer_id IN (${identityGroup(customer)}) AND asked_at > ${windowStart(at, check.fatigueMs)}
            AND NOT (workflow_id = ${check.workflowId} AND survey_id = ${check.surveyId})
          ORDER BY asked_at DESC LIMIT 1`,
    );
    if (!row) return undefined;
    const { surveyId, journeyId, askedAt } = this.record(SURVEY_ASK, row);
    return { surveyId, journeyId, askedAt };
  }

  /** When this run's survey was first answered, if it was. */
  private async answeredInRun(tx: Transaction, check: SurveyAskCheck): Promise<string | undefined> {
    const row = await first(tx, sql`SELECT ${columns(SURVEY_ANSWER)} FROM survey_answers WHERE workflow_id = ${check.workflowId} AND survey_id = ${check.surveyId}`);
    return row && this.record(SURVEY_ANSWER, row).firstAnsweredAt;
  }

  private async askedInRun(tx: Transaction, check: SurveyAskCheck): Promise<number> {
    const row = await first(tx, sql`SELECT COUNT(*) AS asked FROM survey_asks WHERE workflow_id = ${check.workflowId} AND survey_id = ${check.surveyId}`);
    return Number(row?.asked ?? 0);
  }

  async releaseSurveyAsk(idempotencyKey: string): Promise<void> {
    await this.db.run(sql`DELETE FROM survey_asks WHERE idempotency_key = ${idempotencyKey}`);
  }

  // --- short unsubscribe codes ----------------------------------------------------------------

  async saveUnsubscribeCode(link: UnsubscribeCode): Promise<string | undefined> {
    for (const field of ['code', 'idempotencyKey', 'customerId', 'channel', 'category'] as const) {
      if (typeof link[field] !== 'string' || link[field] === '') {
        throw new ProfileStoreError('invalid_change', `unsubscribe code: ${field} must be a non-empty string`);
      }
    }
    const row: UnsubscribeCode = {
      ...link,
      createdAt: isoTime(link.createdAt, 'unsubscribe code created_at'),
      expiresAt: isoTime(link.expiresAt, 'unsubscribe code expires_at'),
    };
    // Either unique constraint may stop the insert: the code an earlier attempt of this send
    // stored (read back below), or another send's identical code (then none is found here).
    // The insert is one atomic statement, so two racing attempts still end with one code.
    await this.db.run(sql`${insertRow('unsubscribe_codes', UNSUBSCRIBE_CODE, row)} ON CONFLICT DO NOTHING`);
    const held = await first(
      this.db,
      sql`SELECT code FROM unsubscribe_codes WHERE idempotency_key = ${link.idempotencyKey} AND channel = ${link.channel}`,
    );
    return held?.code as string | undefined;
  }

  async unsubscribeCode(code: string): Promise<UnsubscribeCode | undefined> {
    const row = await first(this.db, sql`SELECT ${columns(UNSUBSCRIBE_CODE)} FROM unsubscribe_codes WHERE code = ${code}`);
    return row && this.record(UNSUBSCRIBE_CODE, row);
  }

  // --- privacy: erasure, export, retention (sql/privacy.ts) -------------------------------------

  async forgetCustomer(request: ForgetRequest): Promise<ForgetResult> {
    return this.db.transaction((tx) => privacy.forgetCustomer(tx, this.db.dialect, request));
  }

  async customerData(id: string): Promise<CustomerData | undefined> {
    return privacy.customerData(this.db, this.db.dialect, id);
  }

  async forgottenAt(channel: string, addressHash: string): Promise<string | undefined> {
    return privacy.forgottenAt(this.db, channel, addressHash);
  }

  async subscribedSince(customerId: string, channel: string, category: string | undefined, since: string): Promise<boolean> {
    return privacy.subscribedSince(this.db, customerId, channel, category, since);
  }

  async applyRetention(sweep: RetentionSweep): Promise<{ events: number; messages: number }> {
    return privacy.applyRetention(this.db, this.db.dialect, sweep, now());
  }

  /** Which schema versions this database has and which this Unbroken would still apply; changes nothing. */
  async schemaStatus(): Promise<SchemaStatus> {
    const exists =
      this.db.dialect.name === 'sqlite'
        ? sql`SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
        : sql`SELECT 1 AS found WHERE to_regclass('schema_migrations') IS NOT NULL`;
    const applied = (await this.db.all(exists)).length === 0 ? [] : (await this.db.all(APPLIED_VERSIONS)).map((row) => Number(row.version));
    const known = migrationsFor(this.db.dialect);
    return {
      applied,
      pending: known.filter((m) => !applied.includes(m.version)).map(({ version, name }) => ({ version, name })),
      known: known.map(({ version, name }) => ({ version, name })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  // --- rows -----------------------------------------------------------------------------------

  private record<T>(shape: Shape<T>, row: Row): T {
    return fromRow(shape, row, this.db.dialect);
  }

  private records<T>(shape: Shape<T>, rows: Row[]): T[] {
    return rows.map((row) => fromRow(shape, row, this.db.dialect));
  }

  private async linkedUser(db: Runner, anonymousId: string): Promise<string | undefined> {
    const row = await first(db, sql`SELECT user_id FROM identity_links WHERE anonymous_id = ${anonymousId}`);
    return row?.user_id as string | undefined;
  }

  /** The id a customer's data lives under: the linked user for a merged anonymous id. */
  private async canonical(db: Runner, id: string): Promise<string> {
    return (await this.linkedUser(db, id)) ?? id;
  }

  /**
   * Locks a customer for a read-modify-write of its profile and returns the id to write under.
   * The id as given is locked first, so a merge of that anonymous id (which holds the same
   * lock) either finished before (we then see the link) or waits until we are done.
   */
  private async lockCustomer(tx: Transaction, id: string): Promise<string> {
    await tx.lock('customer', id);
    const customerId = await this.canonical(tx, id);
    if (customerId !== id) await tx.lock('customer', customerId);
    return customerId;
  }

  /**
   * Records consent statements of a canonical customer (locked by the caller) made at `at`, and
   * applies each one that is not older than the statement held. With a `messageId`, a statement
   * is recorded once however often its call is delivered.
   */
  private async writeSubscriptions(
    tx: Transaction,
    customerId: string,
    changes: readonly SubscriptionChange[],
    source: string,
    at: string,
    messageId?: string,
  ): Promise<void> {
    for (const change of changes) {
      const changeId = messageId === undefined ? randomUUID() : `${source}:${messageId}:${change.channel}.${change.category}`;
      if (await first(tx, sql`SELECT 1 AS seen FROM consent_changes WHERE change_id = ${changeId}`)) continue;
      const applied = await this.supersedes(tx, customerId, change, at);
      await tx.run(
        sql`INSERT INTO consent_changes (change_id, customer_id, channel, category, status, source, applied, happened_at, recorded_at)
            VALUES (${changeId}, ${customerId}, ${change.channel}, ${change.category}, ${change.status}, ${source}, ${applied}, ${at}, ${now()})`,
      );
      if (applied) await this.holdSubscription(tx, customerId, change, source, at);
    }
  }

  /** Whether a statement made at `at` replaces the one held (rules.ts consentSupersedes). */
  private async supersedes(tx: Transaction, customerId: string, change: SubscriptionChange, at: string): Promise<boolean> {
    const held = await first(
      tx,
      sql`SELECT status, source, updated_at FROM subscriptions WHERE customer_id = ${customerId} AND channel = ${change.channel} AND category = ${change.category}`,
    );
    const statement = held && { status: String(held.status), source: String(held.source), happenedAt: String(held.updated_at) };
    return consentSupersedes(statement, { status: change.status, happenedAt: at });
  }

  /** Makes a statement the one held; `updated_at` is when it happened, which later statements are ordered against. */
  private async holdSubscription(tx: Transaction, customerId: string, change: SubscriptionChange, source: string, at: string): Promise<void> {
    await tx.run(
      sql`INSERT INTO subscriptions (customer_id, channel, category, status, source, updated_at)
          VALUES (${customerId}, ${change.channel}, ${change.category}, ${change.status}, ${source}, ${at})
          ON CONFLICT (customer_id, channel, category) DO UPDATE
            SET status = excluded.status, source = excluded.source, updated_at = excluded.updated_at`,
    );
  }

  private async load(db: Runner, id: string): Promise<CustomerState | undefined> {
    const row = await first(db, sql`SELECT ${columns(CUSTOMER)} FROM customers WHERE id = ${id}`);
    return row && this.record(CUSTOMER, row);
  }

  private async save(tx: Transaction, state: CustomerState): Promise<void> {
    const time = now();
    await tx.run(
      sql`${insertRow('customers', CUSTOMER, state, { extra: { created_at: time, updated_at: time } })}
          ON CONFLICT (id) DO UPDATE SET email = excluded.email, phone = excluded.phone, timezone = excluded.timezone,
            traits = excluded.traits, tags = excluded.tags, updated_at = excluded.updated_at`,
    );
  }
}

/** The claim's age filter; none when every stored event may be claimed. */
function receivedBefore(claim: UnroutedClaim): Sql {
  return claim.receivedBefore === undefined ? sql`` : sql`AND received_at < ${claim.receivedBefore}`;
}
