/** `unbroken migrate [--status]`: the profile store's schema, applied explicitly or listed. */
import { openProfileStore, profileStoreSchema, type SchemaStatus } from '../profiles/index';
import type { Config } from '../worker/config';

/** What `migrate` found and did. */
export interface MigrateReport {
  /** The store, as messages show it (a file path, or the URL without its password). */
  where: string;
  applied: { version: number; name: string }[];
  pending: { version: number; name: string }[];
  /** Migrations this run applied (empty for `--status`). */
  ran: { version: number; name: string }[];
}

/** Applies every pending migration (or, with `statusOnly`, only reads what is applied and pending). */
export async function migrate(config: Config, statusOnly: boolean): Promise<MigrateReport> {
  const before = await profileStoreSchema(config.databaseUrl, config.dataDir, config.database);
  if (statusOnly || before.pending.length === 0) return report(before, []);
  // Opening with migrations on applies them in one locked transaction, as every start does.
  await (await openProfileStore(config.databaseUrl, config.dataDir, { database: config.database })).close();
  const after = await profileStoreSchema(config.databaseUrl, config.dataDir, config.database);
  return report(after, before.pending.filter((m) => after.applied.includes(m.version)));
}

function report(status: SchemaStatus & { where: string }, ran: MigrateReport['ran']): MigrateReport {
  return {
    where: status.where,
    applied: status.known.filter((m) => status.applied.includes(m.version)),
    pending: status.pending,
    ran,
  };
}

/** The report as text: one line per migration. */
export function formatMigrate(r: MigrateReport, statusOnly: boolean): string {
  const line = (state: string, m: { version: number; name: string }) => `  ${state.padEnd(8)} ${String(m.version).padStart(3)}  ${m.name}`;
  if (!statusOnly) {
    if (r.ran.length === 0) return `${r.where}: schema is current (${r.applied.length} migrations applied); nothing to do`;
    return [`${r.where}: applied ${r.ran.length} migration${r.ran.length === 1 ? '' : 's'}`, ...r.ran.map((m) => line('applied', m))].join('\n');
  }
  const lines = [
    `${r.where}: ${r.pending.length === 0 ? 'schema is current' : `${r.pending.length} pending; run \`unbroken migrate\``}`,
    ...r.applied.map((m) => line('applied', m)),
    ...r.pending.map((m) => line('pending', m)),
  ];
  return lines.join('\n');
}
