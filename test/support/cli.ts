/** The real `unbroken` command run as a user runs it: a child process of bin/unbroken.js. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `unbroken <args>` from the project root on the SQLite store of `dataDir` (DATABASE_URL
 * removed, so a developer's PostgreSQL is never touched).
 */
export function unbrokenOnDataDir(dataDir: string, ...args: string[]): CommandResult {
  const env: NodeJS.ProcessEnv = { ...process.env, UNBROKEN_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], { cwd: root, encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
