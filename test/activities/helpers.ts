import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TemplatePlan } from '../../compiler/plan';
import type { JourneyContext, SendMessageInput } from '../../activities/types';
import { SqliteProfileStore } from '../../profiles/sqlite';

/** A fresh SQLite file store in its own temp folder; `cleanup` closes and deletes it. */
export function tempStore(): { store: SqliteProfileStore; cleanup: () => Promise<void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-activities-'));
  const store = new SqliteProfileStore(path.join(dir, 'profiles.sqlite'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where a test's side effects happen: customer c1 in journey abandoned-cart. */
export function journeyContext(overrides: Partial<JourneyContext> = {}): JourneyContext {
  return {
    workflowId: 'journey:abandoned-cart:c1',
    journeyId: 'abandoned-cart',
    version: 'v1abc',
    customerId: 'c1',
    enteredAt: '2024-05-01T10:00:00.000Z',
    trigger: {
      event: 'cart_abandoned',
      properties: { cart_id: 'cart-9', total: 42, items: [{ name: 'Socks' }, { name: 'Hat' }] },
      timestamp: '2024-05-01T09:59:00.000Z',
    },
    ...overrides,
  };
}

/** An email template like definitions/templates/cart-reminder.yaml. */
export function cartReminder(overrides: Partial<TemplatePlan> = {}): TemplatePlan {
  return {
    id: 'cart-reminder',
    channel: 'email',
    category: 'marketing',
    subject: '{{ profile.first_name | default: "Hi" }}, you left something in your cart',
    text: 'Your cart: {% for item in trigger.properties.items %}{{ item.name }} {% endfor %}',
    html: '<p>Hi {{ profile.first_name | default: "there" }},</p>',
    file: 'templates/cart-reminder.yaml',
    ...overrides,
  };
}

/** A sendMessage input for `template`, with a key unique to `step`. */
export function sendInput(template: TemplatePlan, step = 'reminder', extra: Partial<SendMessageInput> = {}): SendMessageInput {
  const context = journeyContext();
  return {
    idempotencyKey: `${context.workflowId}/${context.version}/${step}`,
    context,
    stepId: step,
    template,
    now: '2024-05-01T11:00:00.000Z',
    ...extra,
  };
}
