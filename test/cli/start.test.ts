import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSystem } from '../../cli/start';
import { ConfigError, loadConfig } from '../../worker/config';

test('TLS settings without TEMPORAL_ADDRESS stop the start before the plain-TCP dev server is started', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-start-tls-'));
  try {
    const config = loadConfig({ UNBROKEN_DATA_DIR: dataDir, TEMPORAL_TLS: 'true' });
    const started = startSystem(config, { definitionsDir: path.join(__dirname, '..', 'fixtures', 'live') });
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(/TEMPORAL_ADDRESS: not set, so `unbroken start` runs its own dev server/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
