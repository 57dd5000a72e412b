/** The real `unbroken` command run as a user runs it: a child process of bin/unbroken.js. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The README's `simulate` example, with a fixed start so its output is the same every day. */
export const README_SIMULATE_ARGS = [
  'simulate',
  'abandoned-cart',
  '--profile',
  'definitions/examples/ann.json',
  '--events',
  'definitions/examples/abandoned-cart.events.jsonl',
  '--start',
  '2026-11-24T10:00:00Z',
  '--json',
];

/** Runs `unbroken <args>` in `cwd` (default: the project root) with `env` added to this process's. */
export function unbroken(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CommandResult {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'unbroken.js'), ...args], {
    cwd: opts.cwd ?? root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs `unbroken <args>` from the project root on the SQLite store of `dataDir` (DATABASE_URL
 * removed, so a developer's PostgreSQL is never touched).
 */
export function unbrokenOnDataDir(dataDir: string, ...args: string[]): CommandResult {
  return unbroken(args, { env: { UNBROKEN_DATA_DIR: dataDir, DATABASE_URL: undefined } });
}
