import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './daemon.js';

// A throw-away PKI made with the machine's openssl: a CA, a server
// certificate for 127.0.0.1/localhost, a client certificate signed by the CA,
// and a client certificate signed by a different ("rogue") CA.

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

async function openssl(args: string[]): Promise<void> {
  const r = await runCommand('openssl', args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=berth test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

async function issue(dir: string, name: string, ca: { cert: string; key: string }, ext: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}-cert.pem`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, ext);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile]);
  return { cert, key };
}

/** Makes the PKI in a fresh temp dir (the caller removes `dir`). */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-'));
  const ca = await makeCa(dir, 'ca');
  const rogueCa = await makeCa(dir, 'rogue-ca');
  const server = await issue(dir, 'server', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const client = await issue(dir, 'client', ca, 'extendedKeyUsage=clientAuth\n');
  const rogue = await issue(dir, 'rogue', rogueCa, 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    rogueCert: rogue.cert,
    rogueKey: rogue.key,
  };
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
