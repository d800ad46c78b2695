import { readFile, writeFile } from 'node:fs/promises';
import { BASE_HOSTS_LINES, extraHostsLines } from '../util/etc-hosts.js';
import { mkdirAllInRoot } from '../archive/index.js';
import { InvalidParameterError } from '../errors/index.js';
import type { HostConfig } from '../types/engine.js';
import type { ContainerRecord } from './record.js';
import { buildSpec, mergeEnv } from './spec.js';
import { resolveUser } from './user.js';
import type { RuntimeMount } from '../volume/index.js';

// What a run needs on disk: the /etc files (written at create) and the OCI
// spec built against the mounted rootfs (at each start): user mounts, the
// user, the working directory, the init.

/** Where Docker puts the init binary inside the container. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

export interface BundleOptions {
  /** The container's rootfs, mounted. */
  rootfs: string;
  cgroupParent: string;
  /** A static init (tini-static) for --init, when installed. */
  initPath?: string;
  /** Binds, tmpfs and volumes, ready (the volume service set them up). */
  userMounts: RuntimeMount[];
  /** The network namespace the network subsystem granted (none: a new one with loopback). */
  network?: { host?: boolean; path?: string };
}

/** Prepares what the spec refers to inside and outside the rootfs, and returns the spec. */
export async function buildBundle(r: ContainerRecord, o: BundleOptions): Promise<unknown> {
  const { rootfs } = o;
  const user = await resolveUser(rootfs, r.config.User, r.hostConfig.GroupAdd ?? []);
  // Made through the one in-root resolver: links in the image are followed inside the rootfs only.
  if (r.config.WorkingDir) mkdirAllInRoot(rootfs, r.config.WorkingDir, { mode: 0o755, uid: user.uid, gid: user.gid });
  return buildSpec({
    id: r.id,
    config: r.config,
    hostConfig: r.hostConfig,
    user,
    // --init: Docker runs tini as PID 1 so signals reach the command and zombies are reaped.
    args: r.hostConfig.Init ? [INIT_PATH_IN_CONTAINER, '--', r.path, ...r.args] : [r.path, ...r.args],
    env: mergeEnv(r.config.Env, r.config.Hostname ?? '', r.config.Tty === true, user.home),
    rootfs,
    etcFiles: { hosts: r.hostsPath, hostname: r.hostnamePath, resolvConf: r.resolvConfPath },
    cgroupParent: r.hostConfig.CgroupParent || o.cgroupParent,
    network: o.network,
    userMounts: [
      ...o.userMounts,
      ...(r.hostConfig.Init ? [{ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: initBinary(o.initPath), options: ['rbind', 'ro', 'rprivate'] }] : []),
    ],
  });
}

/** The static tini that --init puts at /sbin/docker-init. */
function initBinary(path: string | undefined): string {
  if (!path) throw new InvalidParameterError('--init needs tini: install the tini package (its static binary is mounted as the container\'s init)');
  return path;
}

/** The container's hostname, hosts and resolv.conf, bind-mounted at each start. */
export async function writeEtcFiles(r: ContainerRecord): Promise<void> {
  if (r.hostConfig.NetworkMode === 'host') {
    // Like Docker: the host's hosts and resolv.conf as they are (its loopback resolvers work here).
    await Promise.all([
      writeFile(r.hostnamePath, `${r.config.Hostname}\n`),
      readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n').then((t) => writeFile(r.hostsPath, t)),
      readFile('/etc/resolv.conf', 'utf8').catch(() => '').then((t) => writeFile(r.resolvConfPath, t)),
    ]);
    return;
  }
  const hostname = r.config.Hostname!;
  const writes = [writeFile(r.hostnamePath, `${hostname}\n`)];
  const hosts = [...BASE_HOSTS_LINES, ...extraHostsLines(r.hostConfig.ExtraHosts ?? [])];
  writes.push(writeFile(r.hostsPath, hosts.join('\n') + '\n'));
  writes.push(containerResolvConf(r.hostConfig).then((text) => writeFile(r.resolvConfPath, text)));
  await Promise.all(writes);
}

/** The host's resolv.conf without loopback resolvers, which cannot work from the container's netns. */
async function containerResolvConf(h: HostConfig): Promise<string> {
  let host = '';
  try {
    host = await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    /* no resolv.conf on the host */
  }
  let lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (h.Dns?.length) lines = lines.filter((l) => !/^\s*nameserver\s/.test(l)).concat(h.Dns.map((d) => `nameserver ${d}`));
  if (h.DnsSearch?.length) lines = lines.filter((l) => !/^\s*(search|domain)\s/.test(l)).concat(`search ${h.DnsSearch.join(' ')}`);
  if (h.DnsOptions?.length) lines = lines.filter((l) => !/^\s*options\s/.test(l)).concat(`options ${h.DnsOptions.join(' ')}`);
  return lines.filter((l) => l.trim() !== '').join('\n') + '\n';
}
