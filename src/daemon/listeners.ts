import { readFile, unlink } from 'node:fs/promises';
import { InvalidParameterError } from '../errors/index.js';
import type { ApiServer, TlsListenOptions } from '../api/index.js';
import type { DaemonConfig, TlsSettings } from './config.js';
import type { Logger } from './logger.js';
import { lookupGroupId } from './socket-group.js';

// Opens the API on every -H host as dockerd does: UNIX sockets 0660 owned by
// the socket group; TCP only with TLS and client certificates, unless the user
// explicitly turned authentication off (--tls=false or --tlsverify=false),
// because the API is root on this machine for whoever reaches it.

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new InvalidParameterError(`could not read ${what} "${path}": ${(err as Error).message}`);
  }
}

/** The certificates for TCP listeners, or undefined for plain HTTP. */
export async function loadTls(tls: TlsSettings): Promise<TlsListenOptions | undefined> {
  if (!tls.enabled) return undefined;
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
  } catch (err) {
    throw new InvalidParameterError(`could not load X509 key pair (cert: "${tls.cert}", key: "${tls.key}"): ${(err as Error).message}`);
  }
  if (tls.verify && !tls.ca) throw new InvalidParameterError('--tlsverify needs the CA certificate that signs client certificates: give --tlscacert (or put ca.pem in $DOCKER_CERT_PATH or ~/.docker)');
  const ca = tls.ca ? await readPem(tls.ca, 'CA certificate') : undefined;
  return { cert, key, ca, verify: tls.verify };
}

export interface ListenPlan {
  hosts: string[];
  tls?: TlsListenOptions;
  /** Group of the UNIX sockets; undefined keeps the daemon's own. */
  gid?: number;
}

/**
 * Checks every host and loads what the listeners need, before berthd touches
 * anything: a refused TCP host or a missing certificate stops the start early.
 */
export async function planListeners(config: DaemonConfig, log: Logger): Promise<ListenPlan> {
  // Certificates matter only to TCP listeners: a DOCKER_TLS_VERIFY left in the shell must not stop a socket-only daemon.
  const tls = config.hosts.some((h) => h.startsWith('tcp://')) ? await loadTls(config.tls) : undefined;
  let gid: number | undefined;
  if (config.group !== '') {
    gid = await lookupGroupId(config.group);
    if (gid === undefined) {
      if (config.groupExplicit) throw new InvalidParameterError(`group ${config.group} not found`);
      log('warn', `could not change group of the API sockets to ${config.group}: group ${config.group} not found`);
    }
  }
  for (const host of config.hosts) {
    if (host.startsWith('unix://') || host.startsWith('/')) continue;
    if (!host.startsWith('tcp://')) throw new InvalidParameterError(`invalid host: ${host}: only unix:// and tcp:// are supported`);
    if (tls?.verify) continue;
    if (!config.tls.explicitlyUnauthenticated) {
      throw new InvalidParameterError(`refusing to listen on ${host} without --tlsverify: anyone who can reach it gets root on this machine. Use --tlsverify with --tlscacert, --tlscert and --tlskey, or say --tls=false (plain HTTP) or --tlsverify=false (TLS without client certificates) to accept the risk`);
    }
    log('warn', `Binding to ${host} without --tlsverify is insecure: it gives root access on this machine to everyone who can reach it`);
    log('warn', `Binding to an IP address, even on localhost, can also give access to scripts run in a browser (${host})`);
  }
  return { hosts: config.hosts, tls, gid };
}

/** Listens on every planned host; returns the cleanups (socket files to remove). */
export async function openListeners(api: ApiServer, plan: ListenPlan, log: Logger): Promise<Array<() => Promise<void>>> {
  const cleanups: Array<() => Promise<void>> = [];
  const { tls, gid } = plan;
  // TCP first: clients (and tests) that wait for the UNIX socket then find every listener up.
  const isUnix = (h: string) => h.startsWith('unix://') || h.startsWith('/');
  for (const host of [...plan.hosts.filter((h) => !isUnix(h)), ...plan.hosts.filter(isUnix)]) {
    const unixPath = host.startsWith('unix://') ? host.slice('unix://'.length) : host.startsWith('/') ? host : undefined;
    if (unixPath !== undefined) {
      await api.listenUnix(unixPath, { mode: 0o660, gid });
      cleanups.push(() => unlink(unixPath).catch(() => {}));
      log('info', `API listen on ${host}`);
      continue;
    }
    const u = new URL(host);
    const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
    await api.listenTcp(hostname, Number(u.port || (tls ? 2376 : 2375)), tls);
    log('info', `API listen on ${host}${tls ? (tls.verify ? ' (TLS, client certificates required)' : ' (TLS)') : ' (plain HTTP)'}`);
  }
  return cleanups;
}
