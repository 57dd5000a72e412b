/**
 * The right to erasure, one code path for `DELETE /v1/customers/{id}` and `unbroken forget`:
 * end the person's running journeys in Temporal first (so no activity of theirs writes after the
 * erase) and delete the histories of all their runs from the namespace, then erase everything the store holds about them in one transaction, keeping only keyed
 * hashes of their addresses (privacy/hash.ts) so the same address is not mailed again without new
 * consent. See docs/privacy.md for what is kept and why.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ForgetCounts, LiveStore } from '../profiles/store';

/** Longest customer id accepted (ids are the sender's; the event API allows the same). */
const MAX_ID_LENGTH = 512;
/** Deadline of each terminate call. */
const TEMPORAL_TIMEOUT_MS = 10_000;
/** gRPC status of a workflow execution Temporal does not have (any more). */
const GRPC_NOT_FOUND = 5;
/** Written into the closed run's history: no customer data, only why it ended. */
const TERMINATE_REASON = 'forgotten: the customer asked to be erased';

/** What erasure and export need. */
export interface PrivacyDeps {
  store: LiveStore;
  /** Keyed hash of an address (addressHasher from privacy/hash.ts). */
  hashAddress: (channel: string, address: string) => string;
  /** The Temporal client; asked for only when the person has runs to end. */
  temporal: () => Promise<Client>;
  now?: () => Date;
}

/** A customer id that is no id (empty, too long, control characters): the request is refused. */
export class InvalidCustomerIdError extends Error {
  override readonly name = 'InvalidCustomerIdError';
  readonly field = 'id';
}

/** Temporal could not end a run: nothing was erased, and the request may be repeated. */
export class RunsNotEndedError extends Error {
  override readonly name = 'RunsNotEndedError';
}

/**
 * How a run was ended in Temporal. `not_reached`: a run that started while the erasure ran (an
 * event arrived meanwhile) and Temporal could not be reached to end it; its enrolment is ended as
 * `forgotten` and it finds no profile, but end it by hand (docs/privacy.md).
 */
export type RunEnding = 'terminated' | 'already_closed' | 'not_reached';

/** The answer of a forget: what was ended and erased. */
export interface ForgetReport {
  /** `erased`: something was held and is gone; `nothing_left`: nothing was held (a repeated call). */
  status: 'erased' | 'nothing_left';
  customer: string;
  ids: string[];
  runsEnded: { journey: string; workflowId: string; temporal: RunEnding }[];
  /**
   * Temporal's own histories of the person's runs (their inputs, signals and activity results):
   * deleted from the namespace, or listed when Temporal refused (delete them by hand, docs/privacy.md).
   */
  histories: { deleted: number; notDeleted: string[] };
  erased: ForgetCounts;
  /** Keyed hashes kept per channel (the addresses themselves are gone). */
  forgottenAddresses: Record<string, number>;
}

/** Checks a customer id from outside: a non-empty string of printable characters. */
export function parseCustomerId(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidCustomerIdError('id: must be a non-empty customer id');
  if (value.length > MAX_ID_LENGTH) throw new InvalidCustomerIdError(`id: longer than ${MAX_ID_LENGTH} characters`);
  // Control characters and lone surrogates are never part of an id the event API stored.
  if (/[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) throw new InvalidCustomerIdError('id: holds control characters or broken Unicode');
  return value;
}

/** Ends the person's open runs, then erases them. Throws RunsNotEndedError (nothing erased) when Temporal cannot be reached. */
export async function forgetCustomer(deps: PrivacyDeps, rawId: unknown): Promise<ForgetReport> {
  const id = parseCustomerId(rawId);
  const runs = await deps.store.enrolmentsFor(id);
  const runsEnded: ForgetReport['runsEnded'] = [];
  const histories: ForgetReport['histories'] = { deleted: 0, notDeleted: [] };
  if (runs.length > 0) {
    let client: Client;
    try {
      client = await deps.temporal();
    } catch (err) {
      throw new RunsNotEndedError(`cannot reach Temporal to end the customer's journeys: ${(err as Error).message}`, { cause: err });
    }
    for (const run of runs.filter((r) => r.endedAt === undefined)) {
      runsEnded.push({ journey: run.journeyId, workflowId: run.workflowId, temporal: await endRun(client, run.workflowId) });
    }
    // Every run is closed now, so each history may go; one Temporal keeps is listed, not fatal.
    for (const run of runs) {
      if (await deleteHistory(client, run.workflowId)) histories.deleted += 1;
      else histories.notDeleted.push(run.workflowId);
    }
  }
  const at = (deps.now?.() ?? new Date()).toISOString();
  const result = await deps.store.forgetCustomer({ id, at, hashAddress: deps.hashAddress });
  // A run that entered between the look-up above and the erase is ended now, best effort.
  const late = result.openRuns.filter((run) => !runsEnded.some((ended) => ended.workflowId === run.workflowId));
  if (late.length > 0) await endLateRuns(deps, late, runsEnded, histories);
  return {
    status: result.found || runsEnded.length > 0 ? 'erased' : 'nothing_left',
    customer: result.customer,
    ids: result.ids,
    runsEnded,
    histories,
    erased: result.erased,
    forgottenAddresses: result.forgottenAddresses,
  };
}

async function endLateRuns(
  deps: PrivacyDeps,
  late: readonly { workflowId: string; journeyId: string }[],
  runsEnded: ForgetReport['runsEnded'],
  histories: ForgetReport['histories'],
): Promise<void> {
  const client = await deps.temporal().catch(() => undefined);
  for (const run of late) {
    const temporal: RunEnding = client === undefined ? 'not_reached' : await endRun(client, run.workflowId).catch(() => 'not_reached' as const);
    runsEnded.push({ journey: run.journeyId, workflowId: run.workflowId, temporal });
    if (client !== undefined && temporal !== 'not_reached' && (await deleteHistory(client, run.workflowId))) histories.deleted += 1;
    else histories.notDeleted.push(run.workflowId);
  }
}

/** Deletes a closed run's history from the namespace; true when it is gone (or was already). */
async function deleteHistory(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () =>
      client.workflowService.deleteWorkflowExecution({ namespace: client.options.namespace, workflowExecution: { workflowId } }),
    );
    return true;
  } catch (err) {
    return (err as { code?: number }).code === GRPC_NOT_FOUND;
  }
}

/** Terminates a run (no cleanup code of the journey runs: it would write about the person again). */
async function endRun(client: Client, workflowId: string): Promise<RunEnding> {
  try {
    await client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () => client.workflow.getHandle(workflowId).terminate(TERMINATE_REASON));
    return 'terminated';
  } catch (err) {
    // Closed already (finished meanwhile, or ended by an earlier forget that then failed).
    if (err instanceof WorkflowNotFoundError) return 'already_closed';
    throw new RunsNotEndedError(`cannot end journey run ${workflowId} in Temporal: ${(err as Error).message}`, { cause: err });
  }
}
