import { ApplicationFailure } from '@temporalio/common';
import { builtinActivityPolicies, createActivities, registry } from '../../activities';
import { captureMailer, classifySmtpError, DeliveryError } from '../../activities/mailer';
import type { ActivityDeps } from '../../activities/types';
import type { SqliteProfileStore } from '../../profiles/sqlite';
import { journeyContext, tempStore } from './helpers';

let store: SqliteProfileStore;
let cleanup: () => Promise<void>;
let deps: ActivityDeps;

beforeEach(() => {
  ({ store, cleanup } = tempStore());
  deps = { store, mailer: captureMailer(), mailFrom: 'shop@example.com' };
});
afterEach(() => cleanup());

describe('activity registry', () => {
  it('lists http_post as the only do: activity, under its own name', () => {
    expect(Object.keys(registry)).toEqual(['http_post']);
    for (const [name, definition] of Object.entries(registry)) expect(definition.name).toBe(name);
  });

  it('gives every activity a policy with finite attempts that Temporal accepts', () => {
    const policies = { ...builtinActivityPolicies, ...Object.fromEntries(Object.entries(registry).map(([n, d]) => [n, d.policy])) };
    expect(Object.keys(policies).sort()).toEqual(['http_post', 'loadAggregates', 'loadConsent', 'loadProfile', 'recordStep', 'sendMessage', 'updateProfile']);
    for (const policy of Object.values(policies)) {
      expect(policy.retry.maximumAttempts).toBeGreaterThan(0);
      expect(Number.isInteger(policy.retry.maximumAttempts)).toBe(true);
      expect(policy.startToCloseTimeout).toMatch(/^\d+[smh]$/);
    }
    expect(builtinActivityPolicies.sendMessage.retry.nonRetryableErrorTypes).toEqual(['PermanentDeliveryError']);
  });

  it('builds the built-ins (recordSteps among them) and each registry entry for a worker', () => {
    const activities = createActivities(deps);
    expect(Object.keys(activities).sort()).toEqual(['http_post', 'loadAggregates', 'loadConsent', 'loadProfile', 'recordStep', 'recordSteps', 'sendMessage', 'updateProfile']);
  });

  it('refuses a do: call whose with block does not match the schema, without retry', async () => {
    const activities = createActivities(deps);
    const error = await activities.http_post!({
      with: { url: 'ftp://example.com' },
      context: journeyContext(),
      stepId: 's',
      idempotencyKey: 'k',
      now: '2024-05-01T11:00:00.000Z',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('InvalidActivityInput');
    expect((error as Error).message).toBe('do: http_post got an invalid with: url: must be an http:// or https:// URL');
  });
});

describe('classifySmtpError', () => {
  it('treats 5xx replies and refused envelopes as permanent, 4xx and network errors as transient', () => {
    expect(classifySmtpError({ responseCode: 550, response: '550 no such user', code: 'EENVELOPE' }).permanent).toBe(true);
    expect(classifySmtpError({ responseCode: 554, code: 'EMESSAGE' }).permanent).toBe(true);
    expect(classifySmtpError({ code: 'EENVELOPE', message: 'No recipients defined' }).permanent).toBe(true);
    expect(classifySmtpError({ responseCode: 451, code: 'EMESSAGE' }).permanent).toBe(false);
    expect(classifySmtpError({ responseCode: 450, code: 'EENVELOPE' }).permanent).toBe(false);
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' }).permanent).toBe(false);
    expect(classifySmtpError({ code: 'ETIMEDOUT' }).permanent).toBe(false);
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535 }).permanent).toBe(false);
    expect(classifySmtpError(new Error('boom'))).toBeInstanceOf(DeliveryError);
  });
});
