/**
 * The right of access, one code path for `GET /v1/customers/{id}/export` and `unbroken export`:
 * everything the store holds about a person as one JSON document.
 */
import type { CustomerData } from '../profiles/store';
import { parseCustomerId, type PrivacyDeps } from './forget';

/** Names the document's format, so a reader can tell versions apart. */
export const EXPORT_FORMAT = 'unbroken.customer-export.v1';

/** The export document: the store's rows about the person, grouped as a person reads them. */
export interface CustomerExport {
  format: typeof EXPORT_FORMAT;
  exportedAt: string;
  customer: string;
  /** The canonical id and every anonymous id linked to it. */
  ids: string[];
  profile: CustomerData['profile'] | null;
  identities: CustomerData['identities'];
  consent: { subscriptions: CustomerData['subscriptions']; history: CustomerData['consentChanges'] };
  suppressions: CustomerData['suppressions'];
  events: CustomerData['events'];
  messages: CustomerData['messages'];
  journeys: {
    journey: string;
    workflowId: string;
    version: string;
    entry: number;
    key?: string;
    enteredAt: string;
    endedAt?: string;
    outcome?: string;
    currentStep?: string;
    timeline: { at: string; step: string; kind: string; detail?: Record<string, unknown> }[];
  }[];
  surveys: { asks: CustomerData['surveyAsks']; answers: CustomerData['surveyAnswers'] };
}

/** The person's export, or undefined when nothing is held about the id. */
export async function exportCustomer(deps: Pick<PrivacyDeps, 'store' | 'now'>, rawId: unknown): Promise<CustomerExport | undefined> {
  const data = await deps.store.customerData(parseCustomerId(rawId));
  if (data === undefined) return undefined;
  return {
    format: EXPORT_FORMAT,
    exportedAt: (deps.now?.() ?? new Date()).toISOString(),
    customer: data.customer,
    ids: data.ids,
    profile: data.profile ?? null,
    identities: data.identities,
    consent: { subscriptions: data.subscriptions, history: data.consentChanges },
    suppressions: data.suppressions,
    events: data.events,
    messages: data.messages,
    journeys: data.enrolments.map((run) => ({
      journey: run.journeyId,
      workflowId: run.workflowId,
      version: run.version,
      entry: run.entry,
      ...(run.instanceKey !== undefined ? { key: run.instanceKey } : {}),
      enteredAt: run.enteredAt,
      ...(run.endedAt !== undefined ? { endedAt: run.endedAt } : {}),
      ...(run.outcome !== undefined ? { outcome: run.outcome } : {}),
      ...(run.currentStep !== undefined ? { currentStep: run.currentStep } : {}),
      timeline: run.steps.map((s) => ({ at: s.at, step: s.stepId, kind: s.kind, ...(s.detail !== undefined ? { detail: s.detail } : {}) })),
    })),
    surveys: { asks: data.surveyAsks, answers: data.surveyAnswers },
  };
}
