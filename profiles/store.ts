/**
 * The unified customer profile store. One interface; SQLite is the default implementation.
 * Every method is async so a networked store (PostgreSQL) fits the same shape.
 */

/** A customer as journeys see it: traits flattened beside the system fields. */
export interface Profile {
  id: string;
  email?: string;
  phone?: string;
  timezone?: string;
  tags: string[];
  [trait: string]: unknown;
}

export interface ProfileChanges {
  set?: Record<string, unknown>;
  unset?: string[];
  increment?: Record<string, number>;
  addTags?: string[];
  removeTags?: string[];
}

export interface StepRecord {
  idempotencyKey: string;
  workflowId: string;
  journeyId: string;
  version: string;
  customerId: string;
  stepId: string;
  kind: string;
  at: string;
  detail?: Record<string, unknown>;
}

export interface MessageRecord {
  idempotencyKey: string;
  customerId: string;
  journeyId: string;
  stepId: string;
  channel: string;
  template: string;
  status: 'sending' | 'sent' | 'skipped';
  /** The result handed back to the workflow once the send finished. */
  result?: Record<string, unknown>;
}

export interface ProfileStore {
  /** Returns the profile, or undefined when the customer is unknown. */
  getProfile(id: string): Promise<Profile | undefined>;
  /** Merges traits into the profile, creating it if needed (an `identify`). */
  identify(id: string, traits: Record<string, unknown>): Promise<Profile>;
  /**
   * Applies changes once per idempotency key, atomically: a second call with the same key
   * changes nothing and returns the current profile.
   */
  applyChanges(idempotencyKey: string, id: string, changes: ProfileChanges): Promise<Profile>;
  /** Stores a step record; a second record with the same key is ignored. */
  recordStep(record: StepRecord): Promise<void>;
  stepsFor(workflowId: string): Promise<StepRecord[]>;
  /**
   * Claims a message slot under its idempotency key. Returns the existing record when the key
   * was already claimed (then the caller must not send again unless its status is `sending`).
   */
  claimMessage(record: MessageRecord): Promise<{ claimed: boolean; existing?: MessageRecord }>;
  /** Marks a claimed message finished and stores its result. */
  finishMessage(idempotencyKey: string, status: 'sent' | 'skipped', result: Record<string, unknown>): Promise<void>;
  /** Releases a claim whose send failed, so a retry may claim it again. */
  releaseMessage(idempotencyKey: string): Promise<void>;
  messagesFor(customerId: string): Promise<MessageRecord[]>;
  close(): Promise<void>;
}
