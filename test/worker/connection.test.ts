/**
 * Every Temporal client Unbroken has — the worker, the event API's router and the CLI — reaches
 * the server through one connection builder, so mTLS applies to all of them. Proven against a
 * real dev server behind a TLS proxy that demands a client certificate signed by a test CA.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addLiveSteps, customerStatus } from '../../cli/live';
import { loadConfig, type Config } from '../../worker/config';
import { connectClient, connectWorker, temporalConnectionOptions } from '../../worker/connection';
import { startSmtpServer } from '../support/smtp';
import { startTestSystem, until, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';
import { makeCertificates, startTlsProxy, type TestCertificates, type TlsProxy } from './tls-proxy';

let dir: string;
let certs: TestCertificates;
let env: TestWorkflowEnvironment;
let proxy: TlsProxy;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-mtls-'));
  certs = makeCertificates(dir);
  env = await devServerEnv();
  proxy = await startTlsProxy(certs, env.address);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The `temporal` part of the configuration an operator would write for this proxy. */
function temporalConfig(extra: Record<string, string> = {}): Config['temporal'] {
  return loadConfig({ ...tlsEnv(), ...extra }).temporal;
}

/** Trust the test CA, and expect the name its server certificate carries (the address is an IP). */
const tlsEnv = (): Record<string, string> => ({ TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_CA_PATH: certs.caCert, TEMPORAL_TLS_SERVER_NAME: 'localhost' });

const clientCertificateEnv = (): Record<string, string> => ({ TEMPORAL_TLS_CERT_PATH: certs.clientCert, TEMPORAL_TLS_KEY_PATH: certs.clientKey });

const withClientCertificate = () => temporalConfig(clientCertificateEnv());

test('the client certificate, the key and the server CA are read from their files into the options', () => {
  const options = temporalConnectionOptions(withClientCertificate());
  expect(options.address).toBe(proxy.address);
  expect(options.tls?.clientCertPair?.crt.toString()).toBe(fs.readFileSync(certs.clientCert, 'utf8'));
  expect(options.tls?.clientCertPair?.key.toString()).toBe(fs.readFileSync(certs.clientKey, 'utf8'));
  expect(Buffer.from(options.tls!.serverRootCACertificate!).toString()).toBe(fs.readFileSync(certs.caCert, 'utf8'));
});

test('a plain configuration connects without TLS', () => {
  expect(temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }).temporal)).toEqual({ address: '127.0.0.1:7233' });
});

test('an unreadable certificate file stops the start with the key that names it', () => {
  expect(() => temporalConnectionOptions(temporalConfig({ TEMPORAL_TLS_CERT_PATH: path.join(dir, 'missing.pem'), TEMPORAL_TLS_KEY_PATH: certs.clientKey })))
    .toThrow(`TEMPORAL_TLS_CERT_PATH: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`);
});

test('a client connection without the client certificate is refused', async () => {
  const before = proxy.refusals.length;
  await expect(
    (async () => {
      const connection = await connectClient(temporalConfig(), { connectTimeoutMs: 3000 });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    })(),
  ).rejects.toThrow();
  expect(proxy.refusals.slice(before).join('\n')).toMatch(/certificate/i);
});

test('a worker connection without the client certificate is refused', async () => {
  const before = proxy.refusals.length;
  await expect(connectWorker(temporalConfig())).rejects.toThrow();
  expect(proxy.refusals.slice(before).join('\n')).toMatch(/certificate/i);
});

test('with the client certificate, both connection kinds reach the server over HTTP/2', async () => {
  const before = proxy.authorized;
  const client = await connectClient(withClientCertificate());
  const native = await connectWorker(withClientCertificate());
  try {
    await expect(client.workflowService.getSystemInfo({})).resolves.toBeDefined();
    await expect(native.workflowService.getSystemInfo({})).resolves.toBeDefined();
  } finally {
    await client.close();
    await native.close();
  }
  expect(proxy.authorized).toBeGreaterThanOrEqual(before + 2);
  expect(new Set(proxy.protocols)).toEqual(new Set(['h2']));
});

describe('unbroken start behind mTLS', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let live: TestSystem;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    live = await startTestSystem(path.join(__dirname, '..', 'fixtures', 'live'), {
      ...tlsEnv(),
      ...clientCertificateEnv(),
      TEMPORAL_TASK_QUEUE: 'mtls',
      SMTP_URL: smtp.url,
    });
  }, 120_000);

  afterAll(async () => {
    await live?.stop();
    await smtp?.stop();
  });

  test('the router starts a journey, the worker runs it to the mail, and the CLI asks it where it is', async () => {
    const store = live.system.store;
    expect((await live.post('identify', { userId: 'ann', traits: { email: 'ann@example.com', first_name: 'Ann' } })).status).toBe(200);
    expect((await live.post('track', { userId: 'ann', event: 'cart_abandoned', properties: { cart_id: 'c1', total: 49.9 } })).status).toBe(200);

    // quick-cart waits 4s before its mail: the running workflow answers the CLI's query meanwhile.
    const waiting = await until('ann to enter quick-cart', async () => {
      const status = await customerStatus(store, 'ann');
      return status.journeys.length > 0 ? status : undefined;
    });
    const asked = await addLiveSteps(waiting, loadConfig({ ...tlsEnv(), ...clientCertificateEnv() }).temporal, 10_000);
    expect(asked.live).toBe(true);
    const refused = await addLiveSteps(await customerStatus(store, 'ann'), temporalConfig(), 2000);
    expect(refused.live).toBe(false);

    await until('the reminder mail', () => (smtp.messages.some((m) => m.to === 'ann@example.com') ? true : undefined));
    const finished = await until('quick-cart to complete', async () => {
      const [journey] = (await customerStatus(store, 'ann')).journeys;
      return journey?.outcome;
    });
    expect(finished).toBe('completed');
  });
});
