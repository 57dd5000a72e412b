/**
 * The embedded Temporal server of `unbroken start`: the Temporal CLI's dev server, persisting to
 * a SQLite file in the data folder so waiting journeys survive a restart.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './binaries';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(opts: { dataDir: string; port?: number; uiPort?: number; host?: string }): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error('the Temporal CLI is not installed: run `npm run setup:temporal`, set UNBROKEN_TEMPORAL_CLI, or set TEMPORAL_ADDRESS to an existing server');
  }
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  for (const p of [port, uiPort]) {
    if (!(await portFree(p, host))) {
      throw new Error(`port ${p} on ${host} is in use; stop what runs there, or set TEMPORAL_ADDRESS to use that server`);
    }
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const log = fs.openSync(path.join(opts.dataDir, 'temporal.log'), 'a');
  const proc = spawn(
    cli.path,
    [
      'server', 'start-dev',
      '--db-filename', path.join(opts.dataDir, 'temporal.db'),
      '--ip', host,
      '--port', String(port),
      '--ui-port', String(uiPort),
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  let exited: number | null = null;
  proc.once('exit', (code) => (exited = code ?? -1));
  const address = `${host}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`the Temporal dev server exited with code ${exited}; see ${path.join(opts.dataDir, 'temporal.log')}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`the Temporal dev server did not answer on ${address} within 60 s: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return {
    address,
    uiUrl: `http://${host}:${uiPort}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
