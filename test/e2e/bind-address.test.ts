/**
 * HOST: the live system bound to every interface answers on loopback, and its banner shows the
 * bound address without the write key it was given. Traffic only ever goes to 127.0.0.1.
 */
import path from 'node:path';
import { startBanner, type RunningSystem } from '../../cli/start';
import { useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

let live: TestSystem;
let system: RunningSystem;
useLiveSystem(
  {
    temporal: devServerEnv,
    definitions: () => path.join(__dirname, '..', 'fixtures', 'live'),
    taskQueue: 'bind-address-e2e',
    env: () => ({ HOST: '0.0.0.0', UNBROKEN_PUBLIC_URL: 'https://mail.example.com' }),
  },
  (servers) => {
    ({ live, system } = servers);
  },
);

test('with HOST=0.0.0.0 the event API is bound to every interface and answers on 127.0.0.1', async () => {
  expect(system.apiListening).toMatch(/^0\.0\.0\.0:\d+$/);
  const port = system.apiListening.split(':')[1];
  expect(system.apiUrl).toBe(`http://127.0.0.1:${port}`);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(200);
  expect((await live.post('track', { userId: 'bind-1', event: 'page_viewed' })).status).toBe(200);
});

test('the banner shows the bound address and not the write key from UNBROKEN_WRITE_KEY', () => {
  const banner = startBanner(system);
  expect(banner).toContain(`(listening on ${system.apiListening}; from UNBROKEN_WRITE_KEY)`);
  expect(banner).toContain('-u "$UNBROKEN_WRITE_KEY:"');
  expect(banner).not.toContain(system.writeKey);
  expect(banner).not.toContain('Basic');
});
