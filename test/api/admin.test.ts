/** The admin credential: where it comes from, how it is kept, and how the banner shows it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminKey } from '../../api/admin';
import { startBanner, type RunningSystem } from '../../cli/start';
import { loadConfig } from '../../worker/config';

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-admin-'));
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('unset, a key is generated into the data folder, readable by its owner only, and reused on the next start', () => {
  const first = adminKey(loadConfig({ UNBROKEN_DATA_DIR: dataDir }));
  expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
  const file = path.join(dataDir, 'admin-key');
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(adminKey(loadConfig({ UNBROKEN_DATA_DIR: dataDir }))).toBe(first);
});

test('UNBROKEN_ADMIN_KEY wins and writes nothing; a short one is refused without echoing it', () => {
  const key = 'k'.repeat(24);
  expect(adminKey(loadConfig({ UNBROKEN_DATA_DIR: dataDir, UNBROKEN_ADMIN_KEY: key }))).toBe(key);
  expect(fs.existsSync(path.join(dataDir, 'admin-key'))).toBe(false);
  expect(() => loadConfig({ UNBROKEN_ADMIN_KEY: 'short-secret' })).toThrow(/UNBROKEN_ADMIN_KEY: must be at least 24 characters.*\(got 12 characters\)/);
});

test('the banner prints a generated admin key, never one from the environment', () => {
  const system = (fromEnv: boolean) =>
    ({
      apiUrl: 'http://127.0.0.1:3000',
      apiListening: '127.0.0.1:3000',
      temporalAddress: '127.0.0.1:7233',
      writeKey: 'write-key-0123456789',
      writeKeyFromEnv: true,
      adminKey: 'generated-admin-key-0123456789ab',
      adminKeyFromEnv: fromEnv,
      live: { journeys: [], differs: [] },
      definitionsDir: 'definitions',
    }) as unknown as RunningSystem;
  expect(startBanner(system(false))).toContain('admin key        generated-admin-key-0123456789ab');
  const fromEnv = startBanner(system(true));
  expect(fromEnv).toContain('admin key        from UNBROKEN_ADMIN_KEY');
  expect(fromEnv).not.toContain('generated-admin-key');
});
