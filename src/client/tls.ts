import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// TLS to a daemon on TCP, with the docker CLI's rules: --tlsverify (or
// DOCKER_TLS_VERIFY) verifies the daemon against the CA and implies --tls;
// --tls alone (or DOCKER_TLS) encrypts without verifying the daemon. The
// files default to ca.pem, cert.pem and key.pem in $DOCKER_CERT_PATH (else
// the config directory); a client certificate is sent when its files exist.

export interface ClientTls {
  /** Verify the daemon's certificate against `ca` (and its name). */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsFlags {
  tls?: boolean;
  tlsverify?: boolean;
  /** --tlsverify was given (even as =false): TLS is on, as in docker. */
  tlsverifyGiven?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** The directory the default certificate files live in. */
export function certDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** Loads the client's TLS settings, or undefined when TLS is off. Throws TlsConfigError for unreadable files. */
export function clientTls(flags: TlsFlags, env: NodeJS.ProcessEnv = process.env): ClientTls | undefined {
  const verifyFromEnv = Boolean(env.DOCKER_TLS_VERIFY);
  const verify = flags.tlsverify ?? verifyFromEnv;
  const enabled = flags.tlsverifyGiven || verify || flags.tls === true || (flags.tls === undefined && Boolean(env.DOCKER_TLS));
  if (!enabled) return undefined;
  const dir = certDir(env);
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsConfigError(`Could not read ${what} "${path}": ${(err as Error).message}`);
    }
  };
  const caPath = flags.tlscacert || join(dir, 'ca.pem');
  // As docker: the client pair is used when named or when the default files exist.
  const certPath = flags.tlscert || join(dir, 'cert.pem');
  const keyPath = flags.tlskey || join(dir, 'key.pem');
  const useCert = Boolean(flags.tlscert) || existsSync(certPath);
  const useKey = Boolean(flags.tlskey) || existsSync(keyPath);
  if (useCert !== useKey) throw new TlsConfigError('Could not load X509 key pair: cert or key missing');
  return {
    verify,
    ca: verify || flags.tlscacert ? read(caPath, 'CA certificate') : undefined,
    cert: useCert ? read(certPath, 'certificate') : undefined,
    key: useKey ? read(keyPath, 'key') : undefined,
  };
}
