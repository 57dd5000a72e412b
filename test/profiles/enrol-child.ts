/**
 * Child process for the SQLite multi-process enrolment test: opens the store file given as the
 * first argument, waits for the shared start time, then races `tryEnrol` and prints the
 * decisions as JSON. Separate processes are the only real concurrency better-sqlite3 has.
 */
import { SqliteProfileStore } from '../../profiles/sqlite';

async function main(): Promise<void> {
  const [file, startAt, attempts] = process.argv.slice(2);
  const store = new SqliteProfileStore(file as string);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const decisions = [];
  for (let i = 0; i < Number(attempts); i++) {
    decisions.push(
      await store.tryEnrol({
        journeyId: 'cart',
        customerId: 'c1',
        version: 'v1',
        reEntry: { mode: 'always' },
        at: new Date().toISOString(),
        workflowIdPrefix: 'cart:c1',
        input: { pid: process.pid },
      }),
    );
  }
  await store.close();
  process.stdout.write(JSON.stringify(decisions));
}

void main();
