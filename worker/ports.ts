/** Loopback ports the process picks for servers it starts itself (the test server, the SDK's metrics exporter). */
import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). The server that binds it
 * a moment later could in principle lose it to another process; the SDK picks its ports this way too.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
