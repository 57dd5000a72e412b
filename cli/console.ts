/**
 * `unbroken console`: the web console on its own, against the store of a deployment whose event
 * API, worker and router run elsewhere (DATABASE_URL, or the SQLite file of the data folder). No
 * event routes, no worker, no Temporal: a pause or resume here writes the store, which every
 * router of the deployment reads (within a second), exactly as `unbroken pause` does.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ADMIN_KEY_FILE, existingAdminKey } from '../api/admin';
import { httpServer } from '../api/server';
import { consoleRoutes } from '../console/routes';
import { log } from '../observability/log';
import { openProfileStore, storeLocation } from '../profiles/index';
import type { Config } from '../worker/config';
import { apiAddresses, consoleDeps, StartError } from './start';

/** The console as it runs. */
export interface RunningConsole {
  /** Where a browser on this machine opens it, e.g. `http://127.0.0.1:3001/console`. */
  url: string;
  /** The address and port it is bound to. */
  listening: string;
  /** Where the admin key came from, as the banner says it (the key itself is never printed). */
  keySource: string;
  /** The store it reads, password hidden. */
  store: string;
  /** Stops listening (in-flight requests finish), then closes the store. */
  stop(): Promise<void>;
}

/**
 * Serves the console on HOST:UNBROKEN_CONSOLE_PORT. The admin key must already exist: a key made
 * up here would open this console only, not the deployment's (see `existingAdminKey`).
 */
export async function startConsole(config: Config): Promise<RunningConsole> {
  const key = existingAdminKey(config);
  const keyFile = path.resolve(config.dataDir, ADMIN_KEY_FILE);
  if (key === undefined) {
    throw new StartError(
      `the console needs the deployment's admin key: set UNBROKEN_ADMIN_KEY to it, or UNBROKEN_DATA_DIR to the data folder where \`unbroken start\` generated it (no ${keyFile})`,
    );
  }
  // Never migrates: the schema belongs to the deployment's `unbroken start` or `unbroken migrate`.
  const store = await openProfileStore(config.databaseUrl, config.dataDir, { database: config.database, migrate: false });
  try {
    const app = httpServer(log());
    await app.register(consoleRoutes(consoleDeps(config, key, store)), { prefix: '/console' });
    await app.listen({ port: config.consolePort, host: config.host });
    const { apiUrl, apiListening } = apiAddresses(app.server.address() as AddressInfo);
    return {
      url: `${apiUrl}/console`,
      listening: apiListening,
      keySource: config.adminKey !== undefined ? 'from UNBROKEN_ADMIN_KEY' : `from ${keyFile}`,
      store: storeLocation(config.databaseUrl, config.dataDir),
      async stop() {
        try {
          await app.close();
        } finally {
          await store.close();
        }
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The banner `unbroken console` prints. */
export function consoleBanner(c: RunningConsole): string {
  return [
    'Unbroken console is running.',
    `  console    ${c.url}  (listening on ${c.listening}; log in with the admin key; docs/console.md)`,
    `  admin key  ${c.keySource}`,
    `  store      ${c.store}`,
    'Only the console runs here: events, journeys and routing are served by the deployment\'s `unbroken start` or `unbroken worker`.',
    'Ctrl-C stops it.',
  ].join('\n');
}
