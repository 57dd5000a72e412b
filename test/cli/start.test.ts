import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatLiveJourneys } from '../../cli/live';
import { startDeploys } from '../../cli/main';
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

describe('whether start publishes its definitions folder', () => {
  const deploys = (env: Record<string, string>, flag = false) => startDeploys(loadConfig(env), flag);

  it('does as the embedded quick start: no DATABASE_URL and no TEMPORAL_ADDRESS', () => {
    expect(deploys({})).toBe(true);
  });

  it('does not once either the store or Temporal is shared, unless --deploy says so', () => {
    expect(deploys({ DATABASE_URL: 'postgres://app@db:5432/unbroken' })).toBe(false);
    expect(deploys({ TEMPORAL_ADDRESS: 'temporal.internal:7233' })).toBe(false);
    expect(deploys({ DATABASE_URL: 'sqlite:/var/lib/unbroken/p.sqlite', TEMPORAL_ADDRESS: 'temporal.internal:7233' })).toBe(false);
    expect(deploys({ DATABASE_URL: 'postgres://app@db:5432/unbroken', TEMPORAL_ADDRESS: 'temporal.internal:7233' }, true)).toBe(true);
  });
});

describe('what the banner says is live', () => {
  it('lists live versions and, where the local folder differs, says it was left as is and how to publish', () => {
    const lines = formatLiveJourneys(
      {
        journeys: [
          { journeyId: 'hello', version: 'v2', paused: false },
          { journeyId: 'promo', version: 'p1', paused: true },
        ],
        differs: [
          { journeyId: 'hello', local: 'v1', live: 'v2' },
          { journeyId: 'fresh', local: 'f1' },
        ],
      },
      'old-checkout/definitions',
    );
    expect(lines).toEqual([
      'hello v2, promo p1 (paused)',
      'old-checkout/definitions differs from what is live: hello (here v1, live v2), fresh (here f1, live none); left as is. ' +
        'Publish with `unbroken deploy --definitions old-checkout/definitions`',
    ]);
  });

  it('says how to publish when nothing is live', () => {
    expect(formatLiveJourneys({ journeys: [], differs: [] }, 'definitions')).toEqual(['none live: publish the definitions with `unbroken deploy`']);
  });
});
