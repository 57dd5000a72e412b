import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBanner, startSystem, type RunningSystem } from '../../cli/start';
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

describe('the start banner', () => {
  const key = 'generated-key-0123456789';
  const system = (writeKeyFromEnv: boolean): RunningSystem =>
    ({
      apiUrl: 'http://127.0.0.1:3000',
      apiListening: '0.0.0.0:3000',
      temporalAddress: '127.0.0.1:7233',
      writeKey: key,
      writeKeyFromEnv,
      deployed: { published: [], unchanged: ['welcome-series'] },
      live: { journeys: [{ journeyId: 'welcome-series', version: 'v1', paused: false }], differs: [] },
      definitionsDir: 'definitions',
    }) as unknown as RunningSystem;
  const basic = Buffer.from(`${key}:`).toString('base64');

  it('prints a key start generated, and ready Basic headers in the examples', () => {
    const banner = startBanner(system(false));
    expect(banner).toContain(`event API        http://127.0.0.1:3000  (listening on 0.0.0.0:3000; write key: ${key})`);
    expect(banner).toContain(`-H 'Authorization: Basic ${basic}'`);
  });

  it('never prints a key from UNBROKEN_WRITE_KEY: the examples read it from the environment', () => {
    const banner = startBanner(system(true));
    expect(banner).toContain('event API        http://127.0.0.1:3000  (listening on 0.0.0.0:3000; from UNBROKEN_WRITE_KEY)');
    expect(banner).toContain(`curl -s http://127.0.0.1:3000/v1/track -u "$UNBROKEN_WRITE_KEY:" -H 'Content-Type: application/json'`);
    expect(banner).not.toContain(key);
    expect(banner).not.toContain(basic);
    expect(banner).not.toMatch(/Basic/);
  });
});
