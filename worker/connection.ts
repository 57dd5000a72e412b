/**
 * The one way to reach Temporal: every client (the worker, the event API's router, the CLI) builds
 * its connection from `config.temporal` here, so TLS, the mTLS client certificate, a private
 * server CA and the API key apply to all of them or to none.
 */
import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, type Config } from './config';

/** What both connection kinds take: where the frontend is and how to authenticate to it. */
export interface TemporalConnectionOptions {
  address: string;
  /** Absent: plain TCP, as a local dev server speaks. */
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * Turns the configuration into connection options, reading the certificate files now. A file
 * that cannot be read stops the start with a ConfigError naming its key, every such file listed.
 */
export function temporalConnectionOptions(temporal: Config['temporal']): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: temporal.address, apiKey: temporal.apiKey };
  if (!temporal.tls) return options;
  const problems: string[] = [];
  const read = (key: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      problems.push(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const crt = read('TEMPORAL_TLS_CERT_PATH', temporal.tlsCertPath);
  const key = read('TEMPORAL_TLS_KEY_PATH', temporal.tlsKeyPath);
  const ca = read('TEMPORAL_TLS_CA_PATH', temporal.tlsCaPath);
  if (problems.length) throw new ConfigError(problems);
  const tls: TLSConfig = {};
  if (crt && key) tls.clientCertPair = { crt, key };
  if (ca) tls.serverRootCACertificate = ca;
  if (temporal.tlsServerName) tls.serverNameOverride = temporal.tlsServerName;
  return { ...options, tls };
}

/** A client connection (workflow starts, signals, queries), as the router and the CLI use. */
export function connectClient(temporal: Config['temporal'], opts: { connectTimeoutMs?: number } = {}): Promise<Connection> {
  const { address, tls, apiKey } = temporalConnectionOptions(temporal);
  return Connection.connect({
    address,
    // Explicit `false`: TLS follows the configuration alone (the SDK would infer it from an API key).
    tls: tls ?? false,
    apiKey,
    ...(opts.connectTimeoutMs === undefined ? {} : { connectTimeout: opts.connectTimeoutMs }),
  });
}

/** Runs `fn` with a client of its own connection, closed afterwards (a CLI command's one errand to Temporal). */
export async function withTemporalClient<T>(temporal: Config['temporal'], fn: (client: Client) => Promise<T>, opts: { connectTimeoutMs?: number } = {}): Promise<T> {
  const connection = await connectClient(temporal, opts);
  try {
    return await fn(new Client({ connection, namespace: temporal.namespace }));
  } finally {
    await connection.close();
  }
}

/** A native connection for workers, from the same options as the client's. */
export function connectWorker(temporal: Config['temporal']): Promise<NativeConnection> {
  const { address, tls, apiKey } = temporalConnectionOptions(temporal);
  return NativeConnection.connect({ address, tls: tls ?? false, apiKey });
}
