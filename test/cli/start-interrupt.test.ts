/**
 * Ctrl-C works while `unbroken start` or `unbroken worker` is still starting: here it waits on a
 * "database" that accepts the TCP connection and never says a word.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test.each([
  ['start', /SIGINT received while starting; stopping what already started[\s\S]*start interrupted/],
  ['worker', /SIGINT received while the worker was starting; stopped/],
])('SIGINT during `unbroken %s` hung on the database stops the process within 10 s, saying so', async (command, message) => {
  const sockets: net.Socket[] = [];
  let accepted!: () => void;
  const connected = new Promise<void>((resolve) => (accepted = resolve));
  const silent = net.createServer((socket) => {
    sockets.push(socket);
    accepted();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-interrupt-'));
  try {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'unbroken.js'), command], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${port}/unbroken`,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        SMTP_URL: 'smtp://127.0.0.1:1',
        UNBROKEN_DATA_DIR: dataDir,
        PORT: '0',
        // Longer than the test waits: the signal, not a connect timeout, must end the start.
        DATABASE_CONNECT_TIMEOUT_MS: '60000',
      },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await connected;
    const signalledAt = Date.now();
    child.kill('SIGINT');
    const deadline = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000).unref());
    const code = await Promise.race([exited, deadline]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain('s3cret-pw');
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
