/**
 * Builds what activities depend on from the configuration, once per process, the same way for
 * `unbroken start`, `unbroken worker` and `unbroken simulate`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSmsProvider, webhookSender } from '../activities/channels/index';
import type { ActivityDeps, Mailer } from '../activities/types';
import type { TimeWindow } from '../compiler/plan';
import { shortUnsubscribeLinks } from '../delivery/short-links';
import { DEFAULT_SURVEY_LINK_TTL_MS, surveyLinkBuilder } from '../delivery/survey-tokens';
import { unsubscribePolicyUrl } from '../delivery/tokens';
import type { ProfileStore } from '../profiles/store';
import { addressHasher } from '../privacy/hash';
import type { Config } from './config';

/**
 * A secret from the environment, or — for a single machine — one generated once into the data
 * folder, so the API that verifies and the worker that signs agree without any set-up. Several
 * machines must share it through the environment.
 */
export function secretFromEnvOrDataDir(config: Config, value: string | undefined, file: string, bytes: number): string {
  const known = existingSecret(config, value, file);
  if (known !== undefined) return known;
  const where = path.join(config.dataDir, file);
  const secret = randomBytes(bytes).toString('base64url');
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.writeFileSync(where, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * The secret from the environment or the data folder, never generating one: for a process that
 * must agree with a deployment which already has it (`unbroken console`).
 */
export function existingSecret(config: Config, value: string | undefined, file: string): string | undefined {
  if (value) return value;
  const where = path.join(config.dataDir, file);
  return fs.existsSync(where) ? fs.readFileSync(where, 'utf8').trim() : undefined;
}

/** The secret that signs unsubscribe links (UNBROKEN_UNSUBSCRIBE_SECRET, or the data folder's). */
export function unsubscribeSecret(config: Config): string {
  return secretFromEnvOrDataDir(config, config.unsubscribeSecret, 'unsubscribe-secret', 32);
}

/** Activity dependencies: store, mail, SMS, webhooks, and the delivery policy (caps, links). */
export function activityDeps(config: Config, store: ProfileStore, mailer: Mailer): ActivityDeps {
  const sms = config.sms.provider === 'twilio' ? createSmsProvider({ provider: 'twilio', twilio: config.sms }) : createSmsProvider({ provider: 'log' });
  // Survey links share the unsubscribe secret: one secret for every signed link the API verifies.
  const secret = unsubscribeSecret(config);
  return {
    store,
    mailer,
    mailFrom: config.mailFrom,
    webhookSecret: config.webhookSecret,
    httpAllowPrivate: config.httpAllowPrivate,
    sms,
    webhook: webhookSender({ secret: config.webhookSecret, allowPrivate: config.httpAllowPrivate }),
    delivery: {
      caps: config.frequencyCaps,
      consentModes: config.consentModes,
      unsubscribeUrl: unsubscribePolicyUrl(config.publicUrl, secret, config.unsubscribeTtlMs),
      shortUnsubscribe: shortUnsubscribeLinks(config.publicUrl, config.unsubscribeTtlMs),
      surveyLink: surveyLinkBuilder(config.publicUrl, secret, DEFAULT_SURVEY_LINK_TTL_MS),
      surveyFatigueMs: config.surveyFatigueMs,
      addressHash: addressHasher(secret),
    },
  };
}

/** The configured quiet hours turned into the window in which sending is allowed, if any. */
export function quietHoursWindow(config: Config): TimeWindow | undefined {
  if (!config.quietHours) return undefined;
  // Quiet 21:00-08:00 means sending is allowed 08:00-21:00, every day, in the customer's zone.
  return { days: [0, 1, 2, 3, 4, 5, 6], startMinute: config.quietHours.endMinute, endMinute: config.quietHours.startMinute, timezone: 'customer' };
}
