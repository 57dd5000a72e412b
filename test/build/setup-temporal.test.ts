/**
 * npm's postinstall (scripts/setup-temporal.js --soft) downloads no Temporal binaries for a
 * production install, and still tries for a development one. Each run uses a copy of the script
 * in a temporary project, with no python3 or Maven to reach, so nothing is downloaded either way.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '..', '..', 'scripts', 'setup-temporal.js');
let project: string;

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-postinstall-'));
  fs.mkdirSync(path.join(project, 'scripts'));
  fs.copyFileSync(script, path.join(project, 'scripts', 'setup-temporal.js'));
});

afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

/** Runs the copy as npm runs a lifecycle script, with `env` on top; python3 and mvn cannot be found. */
function setup(env: Record<string, string>, args = ['--soft']) {
  const result = spawnSync(process.execPath, [path.join(project, 'scripts', 'setup-temporal.js'), ...args], {
    cwd: project,
    env: { PATH: path.join(project, 'empty-bin'), PYTHON: path.join(project, 'no-python'), ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stderr: result.stderr };
}

test.each([
  ['npm ci --omit=dev', { npm_config_omit: 'dev' }, 'dev dependencies are omitted'],
  ['npm ci --omit=dev --omit=optional', { npm_config_omit: 'dev optional' }, 'dev dependencies are omitted'],
  ['NODE_ENV=production', { NODE_ENV: 'production' }, 'NODE_ENV is production'],
  ['UNBROKEN_SKIP_TEMPORAL_DOWNLOAD=1', { UNBROKEN_SKIP_TEMPORAL_DOWNLOAD: '1' }, 'UNBROKEN_SKIP_TEMPORAL_DOWNLOAD is set'],
])('the postinstall of %s downloads nothing and says why', (_install, env, reason) => {
  const { status, stderr } = setup({ npm_lifecycle_event: 'postinstall', ...env });
  expect(status).toBe(0);
  expect(stderr).toContain(`${reason}: not downloading the Temporal CLI or test server`);
  expect(stderr).not.toContain('could not install');
  expect(fs.existsSync(path.join(project, '.temporal'))).toBe(false);
});

test('the postinstall of a development install tries to install both binaries (and never fails the install)', () => {
  const { status, stderr } = setup({ npm_lifecycle_event: 'postinstall', npm_config_omit: '' });
  expect(status).toBe(0);
  expect(stderr).toContain('could not install the Temporal CLI');
  expect(stderr).toContain('could not install the Temporal test server');
});

test('run directly (npm run setup:temporal, CI) it always installs, whatever the environment says', () => {
  const { status, stderr } = setup({ npm_lifecycle_event: 'setup:temporal', UNBROKEN_SKIP_TEMPORAL_DOWNLOAD: '1', NODE_ENV: 'production' }, []);
  expect(status).toBe(1);
  expect(stderr).toContain('could not install the Temporal CLI');
});
