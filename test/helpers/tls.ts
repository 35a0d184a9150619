/**
 * TLS material and a TLS front for the tests of cluster profiles: a private CA with server and client
 * certificates (openssl), and a TLS-terminating TCP proxy — the role an ingress or load balancer plays in front
 * of Temporal — since the Temporal dev server itself speaks plaintext only.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export interface Pki {
  dir: string;
  caFile: string;
  /** A certificate (and key) signed by the CA: a server one with SANs, or a client one. */
  issue(name: string, sans?: string[]): { certFile: string; keyFile: string };
}

export function makePki(dir: string): Pki {
  fs.mkdirSync(dir, { recursive: true });
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dapt test CA');
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    issue(name, sans) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      const ext = sans ? `subjectAltName=${sans.join(',')}\n` : 'extendedKeyUsage=clientAuth\n';
      fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
      return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
    },
  };
}

/** TLS on 127.0.0.1:<port> → plaintext TCP to `target`; with `clientCa`, clients must present a certificate it signed (mTLS). */
export async function tlsProxy(
  target: { host: string; port: number },
  server: { certFile: string; keyFile: string },
  clientCa?: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = tls.createServer(
    {
      cert: fs.readFileSync(server.certFile),
      key: fs.readFileSync(server.keyFile),
      ALPNProtocols: ['h2'], // gRPC
      ...(clientCa ? { requestCert: true, rejectUnauthorized: true, ca: fs.readFileSync(clientCa) } : {}),
    },
    (client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  srv.on('tlsClientError', () => {}); // a refused client (no certificate) is what some tests want
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}
