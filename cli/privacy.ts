/** `unbroken forget` and `unbroken export`: the privacy routes' code paths (privacy/), from the command line. */
import { Client, type Connection } from '@temporalio/client';
import { addressHasher } from '../privacy/hash';
import { exportCustomer, type CustomerExport } from '../privacy/export';
import { forgetCustomer, type ForgetReport } from '../privacy/forget';
import type { Config } from '../worker/config';
import { connectClient } from '../worker/connection';
import { unsubscribeSecret } from '../worker/deps';
import { withStore } from './live';

/** How long the CLI waits for Temporal when the person has runs to end. */
const CONNECT_TIMEOUT_MS = 5000;

/** Operator commands never migrate: a schema behind this Unbroken fails with "run unbroken migrate". */
const NO_MIGRATION = { migrate: false } as const;

/** Ends the person's runs (connecting to Temporal only if there are any) and erases them. */
export async function forgetFromCli(config: Config, id: string): Promise<ForgetReport> {
  return withStore(
    config,
    async (store) => {
      let connection: Connection | undefined;
      try {
        return await forgetCustomer(
          {
            store,
            hashAddress: addressHasher(unsubscribeSecret(config)),
            temporal: async () => {
              connection = await connectClient(config.temporal, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
              return new Client({ connection, namespace: config.temporal.namespace });
            },
          },
          id,
        );
      } finally {
        await connection?.close();
      }
    },
    NO_MIGRATION,
  );
}

/** The person's export document, or undefined when nothing is held. */
export async function exportFromCli(config: Config, id: string): Promise<CustomerExport | undefined> {
  return withStore(config, (store) => exportCustomer({ store }, id), NO_MIGRATION);
}

/** The forget report for people. */
export function formatForget(report: ForgetReport): string {
  if (report.status === 'nothing_left') return `nothing is held about ${report.customer}: nothing erased (already forgotten, or never known)`;
  const erased = Object.entries(report.erased)
    .filter(([kind, count]) => count > 0 && kind !== 'enrolments' && kind !== 'stepRecords')
    .map(([kind, count]) => `${kind} ${count}`);
  const hashes = Object.entries(report.forgottenAddresses).map(([channel, count]) => `${channel} ${count}`);
  return [
    `forgot ${report.customer}${report.ids.length > 1 ? ` (with linked ids ${report.ids.slice(1).join(', ')})` : ''}`,
    `  journey runs ended: ${report.runsEnded.length}`,
    `  erased: ${erased.join(', ') || 'nothing else'}`,
    `  kept for the journey numbers, pseudonymised: ${report.erased.enrolments} runs, ${report.erased.stepRecords} steps`,
    `  address hashes kept (not mailed again without new consent): ${hashes.join(', ') || 'none'}`,
  ].join('\n');
}
