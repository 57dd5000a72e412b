import { ApplicationFailure } from '@temporalio/common';
import { createLoadProfile } from '../../activities/load-profile';
import { captureMailer } from '../../activities/mailer';
import { createRecordStep } from '../../activities/record-step';
import { createUpdateProfile } from '../../activities/update-profile';
import type { ActivityDeps, UpdateProfileInput } from '../../activities/types';
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

function update(changes: Partial<UpdateProfileInput>, key = 'wf/v1/update'): UpdateProfileInput {
  return { idempotencyKey: key, context: journeyContext(), now: '2024-05-01T11:00:00.000Z', ...changes };
}

describe('loadProfile', () => {
  it('returns the stored profile, or an empty one for an unknown customer', async () => {
    const loadProfile = createLoadProfile(deps);
    expect(await loadProfile({ customerId: 'ghost' })).toEqual({ id: 'ghost', tags: [] });
    await store.identify('c1', { plan: 'pro' });
    expect(await loadProfile({ customerId: 'c1' })).toEqual({ id: 'c1', tags: [], plan: 'pro' });
  });
});

describe('updateProfile', () => {
  it('renders {{ now }} and trigger values in set, then applies the change', async () => {
    const updateProfile = createUpdateProfile(deps);
    const profile = await updateProfile(
      update({
        set: { last_cart_nudge_at: '{{ now }}', last_cart: '{{ trigger.properties.cart_id }}', flag: true },
        increment: { cart_nudges: 1 },
        addTags: ['cart-abandoner'],
      }),
    );
    expect(profile).toEqual({
      id: 'c1',
      tags: ['cart-abandoner'],
      last_cart_nudge_at: '2024-05-01T11:00:00.000Z',
      last_cart: 'cart-9',
      flag: true,
      cart_nudges: 1,
    });
  });

  it('applies a key once even when the activity is retried', async () => {
    const updateProfile = createUpdateProfile(deps);
    await updateProfile(update({ increment: { cart_nudges: 1 } }));
    const again = await updateProfile(update({ increment: { cart_nudges: 1 } }));
    expect(again.cart_nudges).toBe(1);
  });

  it('fails without retry on a missing variable or an impossible increment', async () => {
    const updateProfile = createUpdateProfile(deps);
    const missing = await updateProfile(update({ set: { x: '{{ profile.nope }}' } })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApplicationFailure);
    expect((missing as ApplicationFailure).nonRetryable).toBe(true);
    expect((missing as Error).message).toBe(
      'missing variable "profile.nope" in set.x of update_profile step of journey abandoned-cart (add | default: "..." right after the name, or set the trait)',
    );

    await store.identify('c1', { plan: 'pro' });
    const bad = await updateProfile(update({ increment: { plan: 1 } }, 'k2')).catch((e: unknown) => e);
    expect((bad as ApplicationFailure).type).toBe('InvalidProfileChange');
    expect((bad as ApplicationFailure).nonRetryable).toBe(true);
  });
});

describe('recordStep', () => {
  it('stores each step once under its key with the journey context', async () => {
    const recordStep = createRecordStep(deps);
    const input = {
      idempotencyKey: 'wf/v1/reminder',
      context: journeyContext(),
      stepId: 'reminder',
      kind: 'send',
      at: '2024-05-01T11:00:00.000Z',
      detail: { status: 'sent' },
    };
    await recordStep(input);
    await recordStep(input);
    expect(await store.stepsFor('journey:abandoned-cart:c1')).toEqual([
      {
        idempotencyKey: 'wf/v1/reminder',
        workflowId: 'journey:abandoned-cart:c1',
        journeyId: 'abandoned-cart',
        version: 'v1abc',
        customerId: 'c1',
        stepId: 'reminder',
        kind: 'send',
        at: '2024-05-01T11:00:00.000Z',
        detail: { status: 'sent' },
      },
    ]);
  });
});
