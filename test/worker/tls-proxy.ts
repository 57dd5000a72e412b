/** Test certificates made with the openssl CLI, and a TLS-terminating proxy that demands a client certificate. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

/** PEM files of a throwaway CA, a server certificate for localhost/127.0.0.1, and a client certificate. */
export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Makes a CA and the certificates it signs in `dir`; returns their paths. */
export function makeCertificates(dir: string): TestCertificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=Unbroken test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, subject: string, extensions: string) => {
    fs.writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', ...newKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '1', '-extfile', file(`${name}.ext`));
  };
  leaf('server', '/CN=localhost', 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', '/CN=unbroken-worker', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  return {
    caCert: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
}

/** A running proxy: TLS with a required client certificate outside, plain TCP to Temporal inside. */
export interface TlsProxy {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Connections that presented a certificate the CA signed, and were passed through. */
  authorized: number;
  /** Handshake failures, e.g. a client without a certificate. */
  refusals: string[];
  /** ALPN protocols the passed-through connections agreed on. */
  protocols: (string | false | null)[];
  stop(): Promise<void>;
}

/** Listens on a free local port and pipes every authorized TLS connection to `target` (host:port). */
export async function startTlsProxy(certs: TestCertificates, target: string): Promise<TlsProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    key: fs.readFileSync(certs.serverKey),
    cert: fs.readFileSync(certs.serverCert),
    ca: fs.readFileSync(certs.caCert),
    requestCert: true,
    rejectUnauthorized: true,
    // gRPC is HTTP/2; the frontend behind speaks it in the clear (prior knowledge).
    ALPNProtocols: ['h2'],
  });
  const proxy: TlsProxy = {
    address: '',
    authorized: 0,
    refusals: [],
    protocols: [],
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('tlsClientError', (err) => proxy.refusals.push(err.message));
  server.on('secureConnection', (socket) => {
    proxy.authorized += 1;
    proxy.protocols.push(socket.alpnProtocol);
    const upstream = net.connect(port, host);
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    socket.pipe(upstream).pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return proxy;
}
