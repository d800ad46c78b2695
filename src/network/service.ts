import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_HOSTS_LINES, extraHostsLines } from '../util/etc-hosts.js';
import {
  ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, SystemError, errorMessage,
} from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { EndpointSettings, HostConfig, NetworkSettings, Port, PortMap } from '../types/engine.js';
import type {
  NetworkConnectRequest, NetworkCreateRequest, NetworkResource,
} from '../types/network.js';
import { readJsonIfExists, writeJsonAtomic, TEMP_PREFIX } from '../util/atomic-file.js';
import { contains, formatCidr, intToIp, isIp, parseCidr, type Cidr } from './cidr.js';
import { Cni } from './cni.js';
import { DnsServer } from './dns.js';
import { exec, run } from './exec.js';
import { Firewall, type BridgeRules, type PortRule } from './firewall.js';
import { withHostLock } from './host-lock.js';
import { hostConflict, pickSubnet, type AddressPool } from './ipam.js';
import { NetnsDir } from './netns.js';
import { PortHolds, portRequests } from './ports.js';
import type { ContainerNetworking, Endpoint, EndpointWish, NetworkRecord, SandboxRecord } from './records.js';
import { labelMatches, parseUntil } from '../util/filters.js';

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** How the network subsystem sees containers: through the container service, never its records. */
export interface ContainerLookup {
  find(ref: string): { id: string; name: string; pid: number; running: boolean } | undefined;
}

/** What the container service hands over about a container, at create (and start, for older records). */
export interface ContainerNetworkRequest {
  id: string;
  hostname: string;
  domainname: string;
  hostConfig: HostConfig;
  exposedPorts: string[];
  endpoints?: Record<string, EndpointSettings>;
}

/** The network side of a run: which namespace to use and the container's /etc files. */
export interface SandboxGrant {
  /** `host`: the host's namespace; `path`: join it; neither: a new namespace with loopback only. */
  host?: boolean;
  path?: string;
  hosts?: string;
  resolvConf?: string;
}

export interface NetworkServiceOptions {
  /** <data-root>/network */
  root: string;
  /** <exec-root>/network */
  execRoot: string;
  events: EventBus;
  log: Log;
  /** Name of the default bridge's Linux bridge (dockerd's --bridge). */
  bridgeName: string;
  /** The default bridge's gateway address and prefix (dockerd's --bip). */
  bip?: string;
  pools: AddressPool[];
  iptables: boolean;
  ipForward: boolean;
  /** Daemon-wide resolvers (dockerd's --dns). */
  dns: string[];
  cniPath: string;
  /** Sandboxes kept ready per network in use. */
  poolSize: number;
}

const DEFAULT_BRIDGE_OPTIONS = (bridge: string): Record<string, string> => ({
  'com.docker.network.bridge.default_bridge': 'true',
  'com.docker.network.bridge.enable_icc': 'true',
  'com.docker.network.bridge.enable_ip_masquerade': 'true',
  'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
  'com.docker.network.bridge.name': bridge,
  'com.docker.network.driver.mtu': '1500',
});

const KNOWN_BRIDGE_OPTIONS = new Set([
  'com.docker.network.bridge.name', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade',
  'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.default_bridge',
  'com.docker.network.container_iface_prefix', 'com.docker.network.bridge.gateway_mode_ipv4', 'com.docker.network.bridge.inhibit_ipv4',
]);

/** The mode of a container disconnected from all its networks (it may be connected again). */
const DETACHED = 'detached';

/** How long a claim waits before the pool is topped up again. */
const REFILL_DELAY_MS = 150;

const newId = () => randomBytes(32).toString('hex');

export class NetworkService {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly wishes = new Map<string, ContainerNetworking>();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  /** Ready sandboxes per network, handed out first-in first-out. */
  private readonly pools = new Map<string, SandboxRecord[]>();
  private readonly filling = new Set<string>();
  private readonly poolWanted = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly ports = new PortHolds();
  private readonly cni: Cni;
  private readonly netns: NetnsDir;
  private readonly firewall: Firewall;
  private readonly dns: DnsServer;
  private lookup: ContainerLookup = { find: () => undefined };
  private closing = false;

  constructor(private readonly o: NetworkServiceOptions) {
    this.cni = new Cni(o.cniPath);
    this.netns = new NetnsDir(join(o.execRoot, 'netns'));
    const tag = createHash('sha256').update(o.root).digest('hex').slice(0, 8);
    this.firewall = new Firewall(tag, o.iptables);
    this.dns = new DnsServer({ lookup: (s, n) => this.dnsLookup(s, n), upstreams: (s) => this.upstreams(s) }, o.log);
  }

  setContainerLookup(l: ContainerLookup): void {
    this.lookup = l;
  }

  private get netDir() { return join(this.o.root, 'networks'); }
  private get wishDir() { return join(this.o.root, 'containers'); }
  private get sandboxDir() { return join(this.o.execRoot, 'sandboxes'); }
  private get ipamDir() { return join(this.o.execRoot, 'ipam'); }

  // ---- start-up, repair and shutdown -----------------------------------------

  async init(): Promise<void> {
    await Promise.all([mkdir(this.netDir, { recursive: true }), mkdir(this.wishDir, { recursive: true }), mkdir(this.sandboxDir, { recursive: true })]);
    await this.netns.init();
    for (const f of await readdir(this.netDir)) {
      if (f.startsWith(TEMP_PREFIX)) { await rm(join(this.netDir, f), { force: true }); continue; }
      const n = await readJsonIfExists<NetworkRecord>(join(this.netDir, f)).catch(() => undefined);
      if (n) this.networks.set(n.id, n);
    }
    for (const f of await readdir(this.wishDir)) {
      if (f.startsWith(TEMP_PREFIX)) { await rm(join(this.wishDir, f), { force: true }); continue; }
      const w = await readJsonIfExists<ContainerNetworking>(join(this.wishDir, f)).catch(() => undefined);
      if (w) this.wishes.set(w.id, w);
    }
    await this.ensurePredefined();
    if (this.o.ipForward) await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch((err) => this.o.log('warn', `enabling ip_forward: ${errorMessage(err)}`));
    await this.loadSandboxes();
    for (const n of this.networks.values()) if (n.driver === 'bridge') await this.ensureBridge(n);
    await this.repairSandboxes();
    await this.syncFirewall();
    for (const n of this.networks.values()) if (this.hasDns(n)) await this.dns.listen(n.gateway!).catch((err) => this.o.log('warn', `embedded DNS on ${n.gateway}: ${errorMessage(err)}`));
    this.poolWanted.add(this.defaultBridge().id);
    this.refill(this.defaultBridge().id);
  }

  /**
   * After a restart (also after a kill -9): sandboxes of containers keep
   * working (their ports are held again); pool and half-made sandboxes,
   * namespaces nobody records and leases nobody holds are removed.
   */
  private async loadSandboxes(): Promise<void> {
    for (const f of await readdir(this.sandboxDir)) {
      const path = join(this.sandboxDir, f);
      const s = f.startsWith(TEMP_PREFIX) ? undefined : await readJsonIfExists<SandboxRecord>(path).catch(() => undefined);
      if (!s) { await rm(path, { force: true }); continue; }
      this.sandboxes.set(s.id, s);
    }
  }

  private async repairSandboxes(): Promise<void> {
    for (const s of [...this.sandboxes.values()]) {
      if (s.owner && s.ready && this.wishes.has(s.owner)) {
        for (const p of s.ports) await this.ports.reserve({ ...p }).catch((err) => this.o.log('warn', `re-publishing ${p.hostIp}:${p.hostPort}: ${errorMessage(err)}`));
        continue;
      }
      await this.destroySandbox(s);
    }
    const known = new Set([...this.sandboxes.values()].map((s) => s.id));
    for (const name of await this.netns.list()) {
      if (!known.has(name)) await this.netns.remove(name).catch((err) => this.o.log('warn', `removing namespace ${name}: ${errorMessage(err)}`));
    }
    // host-local keeps one file per leased address holding the holder's ID.
    for (const net of await readdir(this.ipamDir).catch(() => [] as string[])) {
      for (const f of await readdir(join(this.ipamDir, net)).catch(() => [] as string[])) {
        if (!isIp(f)) continue;
        const holder = (await readFile(join(this.ipamDir, net, f), 'utf8').catch(() => '')).split(/\s/)[0]!;
        if (!known.has(holder)) await rm(join(this.ipamDir, net, f), { force: true });
      }
    }
  }

  private async ensurePredefined(): Promise<void> {
    const byName = (name: string) => [...this.networks.values()].find((n) => n.predefined && n.name === name);
    const base = { created: new Date().toISOString(), internal: false, attachable: false, labels: {}, ipamOptions: null, predefined: true };
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!byName(name)) await this.saveNetwork({ ...base, id: newId(), name, driver, options: {} });
    }
    const existing = byName('bridge');
    if (existing && existing.bridge === this.o.bridgeName && (!this.o.bip || this.bipMatches(existing))) return;
    // A new default bridge, or its --bridge/--bip changed since the last start.
    if (existing) await this.removeBridge(existing);
    const net: NetworkRecord = {
      ...base, id: existing?.id ?? newId(), name: 'bridge', driver: 'bridge', bridge: this.o.bridgeName,
      options: DEFAULT_BRIDGE_OPTIONS(this.o.bridgeName),
    };
    if (this.o.bip) {
      const c = parseCidr(this.o.bip);
      net.subnet = formatCidr(c);
      net.gateway = this.o.bip.split('/')[0]!;
      net.userSubnet = true;
    }
    await this.saveNetwork(net);
  }

  private bipMatches(n: NetworkRecord): boolean {
    return n.gateway === this.o.bip!.split('/')[0] && n.subnet === formatCidr(parseCidr(this.o.bip!));
  }

  /** Makes the Linux bridge of a network exist with its gateway address, picking a subnet first when it has none. */
  private async ensureBridge(n: NetworkRecord): Promise<void> {
    const exists = (await exec('ip', ['link', 'show', 'dev', n.bridge!])).code === 0;
    if (exists && n.subnet) {
      await this.bridgeAddress(n);
      return;
    }
    await withHostLock(async () => {
      // A subnet we picked ourselves may have gone to another engine while our bridge was down
      // (a clean stop removes it): pick again unless a running container still has an address in it.
      if (n.subnet && !n.userSubnet && !exists && ![...this.sandboxes.values()].some((s) => s.endpoints.some((e) => e.networkId === n.id))) {
        if (await hostConflict(parseCidr(n.subnet))) n.subnet = undefined;
      }
      if (!n.subnet) {
        const c = await pickSubnet(this.o.pools, this.takenSubnets(n.id));
        n.subnet = formatCidr(c);
        n.gateway = intToIp(c.base + 1);
        await this.saveNetwork(n);
      }
      if ((await exec('ip', ['link', 'show', 'dev', n.bridge!])).code !== 0) {
        await run('ip', ['link', 'add', 'name', n.bridge!, 'type', 'bridge']);
        n.ownsBridge = true;
        await this.saveNetwork(n);
      }
      await this.bridgeAddress(n);
    });
  }

  private async bridgeAddress(n: NetworkRecord): Promise<void> {
    const prefix = n.subnet!.split('/')[1];
    const r = await exec('ip', ['addr', 'add', `${n.gateway}/${prefix}`, 'dev', n.bridge!]);
    if (r.code !== 0 && !/exists|already assigned/i.test(r.stderr)) throw new SystemError(`adding ${n.gateway}/${prefix} to ${n.bridge}: ${r.stderr.trim()}`);
    await run('ip', ['link', 'set', n.bridge!, 'up']);
    // Published ports are reachable on 127.0.0.1: DNAT'd loopback traffic may leave through the bridge.
    await writeFile(`/proc/sys/net/ipv4/conf/${n.bridge}/route_localnet`, '1').catch(() => {});
  }

  private async removeBridge(n: NetworkRecord): Promise<void> {
    this.dns.unlisten(n.gateway ?? '');
    if (n.ownsBridge && n.bridge) await exec('ip', ['link', 'del', n.bridge]);
    else if (n.bridge && n.gateway) await exec('ip', ['addr', 'del', `${n.gateway}/${n.subnet!.split('/')[1]}`, 'dev', n.bridge]);
  }

  private takenSubnets(except?: string): Cidr[] {
    return [...this.networks.values()].filter((n) => n.subnet && n.id !== except).map((n) => parseCidr(n.subnet!));
  }

  /**
   * On a clean stop: ready pools are dropped; when no container holds a
   * sandbox any more, bridges, rules and the namespace mount go too, so a
   * stopped daemon leaves nothing on the host (the next start makes them again).
   */
  async close(): Promise<void> {
    this.closing = true;
    this.dns.close();
    while (this.pending.size || this.filling.size) {
      await Promise.all([...this.pending]);
      if (this.filling.size) await new Promise((r) => setTimeout(r, 10));
    }
    for (const s of [...this.sandboxes.values()]) if (!s.owner) await this.destroySandbox(s);
    this.pools.clear();
    if ([...this.sandboxes.values()].some((s) => s.owner)) {
      this.ports.releaseAll();
      return;
    }
    this.ports.releaseAll();
    await this.firewall.close().catch((err) => this.o.log('warn', `removing iptables chains: ${errorMessage(err)}`));
    for (const n of this.networks.values()) if (n.driver === 'bridge') await this.removeBridge(n);
    await rm(this.ipamDir, { recursive: true, force: true });
    await this.netns.close().catch((err) => this.o.log('warn', `unmounting ${this.netns.dir}: ${errorMessage(err)}`));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => {});
    return p;
  }

  // ---- records ---------------------------------------------------------------

  private async saveNetwork(n: NetworkRecord): Promise<void> {
    this.networks.set(n.id, n);
    await writeJsonAtomic(join(this.netDir, `${n.id}.json`), n);
  }

  private async saveWish(w: ContainerNetworking): Promise<void> {
    this.wishes.set(w.id, w);
    await writeJsonAtomic(join(this.wishDir, `${w.id}.json`), w);
  }

  private async saveSandbox(s: SandboxRecord): Promise<void> {
    this.sandboxes.set(s.id, s);
    await writeJsonAtomic(join(this.sandboxDir, `${s.id}.json`), s);
  }

  defaultBridge(): NetworkRecord {
    return [...this.networks.values()].find((n) => n.predefined && n.name === 'bridge')!;
  }

  /** By exact name, full ID, or unique ID prefix, as Docker resolves networks. */
  find(ref: string): NetworkRecord {
    const all = [...this.networks.values()];
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const prefixed = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw new InvalidParameterError(`network ${ref} is ambiguous (${prefixed.length} matches found based on ID prefix)`);
    throw new NotFoundError(`network ${ref} not found`);
  }

  private sandboxOf(containerId: string): SandboxRecord | undefined {
    for (const s of this.sandboxes.values()) if (s.owner === containerId) return s;
    return undefined;
  }

  // ---- containers: register at create, sandbox at start, release at exit ------

  /**
   * Validates and records how a container joins networks. Errors in Docker's
   * words: an unknown network is 400 here (dockerd says 404, but the docker
   * CLI reads a 404 from create as a missing image and tries a pull).
   */
  async register(req: ContainerNetworkRequest): Promise<void> {
    const h = req.hostConfig;
    const modeIn = h.NetworkMode || 'default';
    const endpoints = req.endpoints ?? {};
    let mode: string;
    const networks: Record<string, EndpointWish> = {};
    const wish = (net: NetworkRecord, cfg: EndpointSettings | undefined): EndpointWish => {
      const ipv4 = (cfg?.IPAMConfig as { IPv4Address?: string } | undefined)?.IPv4Address || undefined;
      const aliases = (cfg?.Aliases ?? []).filter(Boolean);
      this.checkEndpoint(net, ipv4, aliases);
      return { aliases, ...(ipv4 ? { ipv4 } : {}), ...(cfg?.MacAddress ? { mac: cfg.MacAddress } : {}), ...(cfg?.Links?.length ? { links: cfg.Links } : {}), endpointId: newId() };
    };
    if (modeIn === 'host' || modeIn === 'none') {
      mode = modeIn;
      networks[this.find(modeIn).id] = { aliases: [], endpointId: newId() };
      if (Object.keys(h.PortBindings ?? {}).length && modeIn === 'host') { /* Docker ignores them with a warning in the CLI */ }
    } else if (modeIn.startsWith('container:')) {
      const other = this.lookup.find(modeIn.slice('container:'.length));
      if (!other) throw new InvalidParameterError(`No such container: ${modeIn.slice('container:'.length)}`);
      if (other.id === req.id) throw new InvalidParameterError('cannot join own network namespace');
      mode = `container:${other.id}`;
    } else {
      let primary: NetworkRecord;
      try {
        primary = this.find(modeIn === 'default' ? 'bridge' : modeIn);
      } catch (err) {
        throw err instanceof NotFoundError ? new InvalidParameterError(err.message) : err;
      }
      if (primary.driver !== 'bridge') throw new InvalidParameterError(`network ${modeIn} not found`);
      mode = primary.id;
      const primaryCfg = endpoints[modeIn] ?? endpoints[primary.name] ?? endpoints[primary.id];
      networks[primary.id] = wish(primary, primaryCfg);
      for (const [ref, cfg] of Object.entries(endpoints)) {
        let net: NetworkRecord;
        try {
          net = this.find(ref === 'default' ? 'bridge' : ref);
        } catch (err) {
          throw err instanceof NotFoundError ? new InvalidParameterError(err.message) : err;
        }
        if (net.id === primary.id || cfg === primaryCfg) continue;
        if (net.driver !== 'bridge') throw new InvalidParameterError('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
        networks[net.id] = wish(net, cfg);
      }
    }
    const w: ContainerNetworking = {
      id: req.id,
      hostname: req.hostname,
      domainname: req.domainname,
      mode,
      networks,
      portBindings: (h.PortBindings ?? {}) as ContainerNetworking['portBindings'],
      publishAll: h.PublishAllPorts === true,
      reusable: h.Privileged !== true
        && !(h.CapAdd ?? []).some((c) => /^(CAP_)?(NET_ADMIN|ALL|SYS_ADMIN)$/i.test(c))
        && !Object.keys(h.Sysctls ?? {}).some((k) => k.startsWith('net.')),
      exposed: req.exposedPorts,
      dns: h.Dns ?? [],
      dnsSearch: h.DnsSearch ?? [],
      dnsOptions: h.DnsOptions ?? [],
      extraHosts: h.ExtraHosts ?? [],
    };
    // Bad port specs fail the create, as with Docker.
    portRequests(w.portBindings, false, []);
    for (const e of w.extraHosts) {
      const i = e.indexOf(':');
      const ip = e.slice(i + 1);
      if (i < 1 || (ip !== 'host-gateway' && !isIp(ip) && !ip.includes(':'))) throw new InvalidParameterError(`invalid IP address in add-host: "${ip}"`);
    }
    await this.saveWish(w);
  }

  private checkEndpoint(net: NetworkRecord, ipv4: string | undefined, aliases: string[]): void {
    if (net.predefined && aliases.length) throw new InvalidParameterError('network-scoped alias is supported only for containers in user defined networks');
    if (ipv4) {
      if (net.predefined) throw new InvalidParameterError('user specified IP address is supported on user defined networks only');
      if (!net.userSubnet) throw new InvalidParameterError('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!isIp(ipv4) || !contains(parseCidr(net.subnet!), ipv4)) throw new InvalidParameterError(`no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`);
    }
  }

  /**
   * Once the container service has loaded: forgets containers it does not
   * know (a crash between the removal of a record and ours) and frees their
   * sandboxes.
   */
  async forgetUnknown(): Promise<void> {
    for (const id of [...this.wishes.keys()]) {
      if (!this.lookup.find(id)) await this.forget(id);
    }
  }

  /** The container is removed: forget its wishes (its sandbox was released at exit). */
  async forget(containerId: string): Promise<void> {
    const s = this.sandboxOf(containerId);
    if (s) await this.release(containerId);
    this.wishes.delete(containerId);
    await rm(join(this.wishDir, `${containerId}.json`), { force: true });
  }

  /** Hands a container its network namespace at start; the set-up was mostly done ahead, in a pool. */
  async acquire(req: ContainerNetworkRequest): Promise<SandboxGrant> {
    if (!this.wishes.has(req.id)) await this.register(req);
    const w = this.wishes.get(req.id)!;
    if (w.mode === 'host') return { host: true };
    if (w.mode === 'none') return { hosts: this.hostsFile(w, undefined), resolvConf: await this.resolvConf(w, undefined) };
    if (w.mode.startsWith('container:')) return this.joinContainer(w);
    const existing = this.sandboxOf(w.id);
    if (existing) await this.release(w.id);
    const netIds = Object.keys(w.networks).filter((id) => this.networks.get(id)?.driver === 'bridge');
    // Disconnected from every network (compose does that before it reconnects with aliases): loopback only.
    if (netIds.length === 0) return { hosts: this.hostsFile(w, undefined), resolvConf: await this.resolvConf(w, undefined) };
    const primary = this.networks.get(netIds[0]!)!;
    const pw = w.networks[primary.id]!;
    let s: SandboxRecord;
    if (!pw.ipv4 && !pw.mac) {
      s = this.takeFromPool(primary.id) ?? (await this.makeSandbox(primary, pw));
    } else {
      s = await this.makeSandbox(primary, pw);
    }
    s.owner = w.id;
    try {
      for (const id of netIds.slice(1)) await this.addEndpoint(s, this.networks.get(id)!, w.networks[id]!);
      for (const e of s.endpoints) e.baseline = await vethCounters(e.hostVeth);
      const requests = portRequests(w.portBindings, w.publishAll, w.exposed);
      for (const r of requests) s.ports.push(await this.ports.reserve(r));
      await this.saveSandbox(s);
      if (s.ports.length) await this.syncFirewall();
    } catch (err) {
      await this.release(w.id).catch(() => {});
      throw err;
    }
    for (const e of s.endpoints) this.o.events.emit('network', 'connect', e.networkId, { container: w.id, name: this.networks.get(e.networkId)?.name ?? '', type: 'bridge' });
    this.poolWanted.add(primary.id);
    // Later, not now: the start this sandbox is for needs the CPU first.
    setTimeout(() => this.refill(primary.id), REFILL_DELAY_MS).unref();
    return { path: s.netns, hosts: this.hostsFile(w, s), resolvConf: await this.resolvConf(w, s) };
  }

  private async joinContainer(w: ContainerNetworking): Promise<SandboxGrant> {
    const otherId = w.mode.slice('container:'.length);
    const other = this.lookup.find(otherId);
    if (!other || !other.running) throw new ConflictError(`cannot join network namespace of a non running container: ${otherId}`);
    const ow = this.wishes.get(other.id);
    if (ow?.mode === 'host') return { host: true };
    const s = this.sandboxOf(other.id);
    const ownHosts = this.hostsFile({ ...w, hostname: w.hostname }, s);
    if (s && !s.shared) {
      s.shared = true;
      await this.saveSandbox(s);
    }
    if (s) return { path: s.netns, hosts: ownHosts, resolvConf: await this.resolvConf(ow ?? w, s) };
    return { path: `/proc/${other.pid}/ns/net`, hosts: ownHosts, resolvConf: await this.resolvConf(ow ?? w, undefined) };
  }

  /**
   * The run ended (and the runtime has killed every process of it): ports and
   * names go at once. A namespace the container could not have changed, with
   * one plain interface, goes back to its network's pool for the next
   * container (no CNI call, no namespace to make); any other is destroyed.
   */
  release(containerId: string): Promise<void> {
    const s = this.sandboxOf(containerId);
    if (!s) return Promise.resolve();
    const w = this.wishes.get(containerId);
    s.owner = undefined;
    this.sandboxes.delete(s.id);
    for (const p of s.ports) this.ports.release(p);
    for (const e of s.endpoints) this.o.events.emit('network', 'disconnect', e.networkId, { container: containerId, name: this.networks.get(e.networkId)?.name ?? '', type: 'bridge' });
    const hadPorts = s.ports.length > 0;
    s.ports = [];
    const only = s.endpoints.length === 1 ? s.endpoints[0]! : undefined;
    const wish = only && w?.networks[only.networkId];
    const pool = only && this.pools.get(only.networkId);
    const reuse = !!(w?.reusable && !s.shared && wish && !wish.ipv4 && !wish.mac && pool && pool.length < this.o.poolSize && !this.closing);
    return this.track((async () => {
      if (hadPorts) await this.syncFirewall().catch((err) => this.o.log('warn', `iptables: ${errorMessage(err)}`));
      if (reuse && this.networks.has(only!.networkId)) {
        s.poolNetwork = only!.networkId;
        await this.saveSandbox(s);
        pool!.push(s);
        return;
      }
      await this.destroySandbox(s);
    })());
  }

  // ---- sandboxes -------------------------------------------------------------

  private cniConfig(n: NetworkRecord, runtime: { ips?: string[]; mac?: string } = {}): Record<string, unknown> {
    const range: Record<string, string> = { subnet: n.subnet!, gateway: n.gateway! };
    if (n.ipRange) {
      const r = parseCidr(n.ipRange);
      range.rangeStart = intToIp(r.base + (r.prefix >= 31 ? 0 : 1));
      range.rangeEnd = intToIp(r.base + 2 ** (32 - r.prefix) - 2);
    }
    const mtu = Number(n.options['com.docker.network.driver.mtu'] ?? 0);
    return {
      cniVersion: '1.0.0',
      name: n.id,
      type: 'bridge',
      bridge: n.bridge,
      // berth puts the gateway address on the bridge itself (bridgeAddress) and
      // owns forwarding (--ip-forward): the plugin's isGateway would also turn on
      // the host's ip_forward on every ADD, whatever --ip-forward=false says.
      isGateway: false,
      hairpinMode: true,
      ipMasq: false,
      ...(mtu > 0 ? { mtu } : {}),
      capabilities: { ips: true, mac: true },
      runtimeConfig: { ...(runtime.ips ? { ips: runtime.ips } : {}), ...(runtime.mac ? { mac: runtime.mac } : {}) },
      ipam: {
        type: 'host-local',
        dataDir: this.ipamDir,
        ranges: [[range]],
        // An internal network has no way out: no default route.
        routes: n.internal ? [] : [{ dst: '0.0.0.0/0' }],
      },
    };
  }

  private ifnameFor(s: SandboxRecord): string {
    for (let i = 0; ; i++) if (!s.endpoints.some((e) => e.ifname === `eth${i}`)) return `eth${i}`;
  }

  /** A namespace with loopback up and an interface on `net`: the expensive part of a start, done ahead when possible. */
  private async makeSandbox(net: NetworkRecord, wish?: EndpointWish): Promise<SandboxRecord> {
    const s: SandboxRecord = { id: newId(), poolNetwork: net.id, ready: false, netns: this.netns.path(''), endpoints: [], ports: [] };
    s.netns = this.netns.path(s.id);
    // The record lands before anything is made, so a crash mid-way is swept at the next start.
    await this.saveSandbox(s);
    try {
      await this.netns.create(s.id);
      await this.cni.invoke({ command: 'ADD', containerId: s.id, netns: s.netns, ifname: 'lo', config: { cniVersion: '1.0.0', name: 'lo', type: 'loopback' } });
      await this.addEndpoint(s, net, wish);
      s.ready = true;
      await this.saveSandbox(s);
      return s;
    } catch (err) {
      await this.destroySandbox(s);
      throw err;
    }
  }

  private async addEndpoint(s: SandboxRecord, net: NetworkRecord, wish?: EndpointWish): Promise<Endpoint> {
    const prefixLen = Number(net.subnet!.split('/')[1]);
    const ifname = this.ifnameFor(s);
    const result = await this.cni.invoke({
      command: 'ADD', containerId: s.id, netns: s.netns, ifname,
      config: this.cniConfig(net, { ...(wish?.ipv4 ? { ips: [`${wish.ipv4}/${prefixLen}`] } : {}), ...(wish?.mac ? { mac: wish.mac } : {}) }),
    }).catch((err: Error) => {
      if (wish?.ipv4 && /already|requested IP address/i.test(err.message)) throw new ConflictError(`Address already in use`);
      if (/no IP addresses available/i.test(err.message)) throw new ConflictError(`no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`);
      throw err;
    });
    const ip = result.ips?.[0];
    const iface = result.interfaces?.find((i) => i.sandbox);
    const hostVeth = result.interfaces?.find((i) => !i.sandbox && i.name !== net.bridge)?.name;
    const e: Endpoint = { networkId: net.id, ifname, ip: ip?.address.split('/')[0] ?? '', prefixLen, gateway: ip?.gateway ?? net.gateway!, mac: iface?.mac ?? '', ...(hostVeth ? { hostVeth } : {}) };
    s.endpoints.push(e);
    return e;
  }

  private async removeEndpoint(s: SandboxRecord, e: Endpoint): Promise<void> {
    const net = this.networks.get(e.networkId);
    if (net) {
      await this.cni.invoke({ command: 'DEL', containerId: s.id, netns: s.netns, ifname: e.ifname, config: this.cniConfig(net) })
        .catch((err) => this.o.log('warn', `CNI DEL ${e.ifname} of ${s.id.slice(0, 12)}: ${errorMessage(err)}`));
    }
    s.endpoints = s.endpoints.filter((x) => x !== e);
  }

  /**
   * Frees a whole sandbox. No CNI DEL per interface: unpinning the namespace
   * makes the kernel delete its veth pairs, and the address leases are
   * host-local's files (one per address, holding the holder's ID), released
   * here directly. That saves two plugin executions per container on a
   * 2-core host where they compete with the next start.
   */
  private async destroySandbox(s: SandboxRecord): Promise<void> {
    this.sandboxes.delete(s.id);
    await this.netns.remove(s.id).catch((err) => this.o.log('warn', `removing namespace ${s.id.slice(0, 12)}: ${errorMessage(err)}`));
    const releaseLease = async (netId: string, ip: string) => {
      const file = join(this.ipamDir, netId, ip);
      const holder = (await readFile(file, 'utf8').catch(() => '')).split(/\s/)[0];
      if (holder === s.id) await rm(file, { force: true });
    };
    if (s.ready) {
      for (const e of s.endpoints) await releaseLease(e.networkId, e.ip);
    } else {
      // Half-made (a crash between ADD and the record): find its leases by ID.
      for (const n of this.networks.values()) {
        if (n.driver !== 'bridge') continue;
        for (const f of await readdir(join(this.ipamDir, n.id)).catch(() => [] as string[])) if (isIp(f)) await releaseLease(n.id, f);
      }
    }
    s.endpoints = [];
    await rm(join(this.sandboxDir, `${s.id}.json`), { force: true });
  }

  private takeFromPool(networkId: string): SandboxRecord | undefined {
    return this.pools.get(networkId)?.shift();
  }

  /** Tops the pool of a network up, one sandbox at a time, in the background. */
  private refill(networkId: string): void {
    if (this.closing || this.filling.has(networkId) || this.o.poolSize <= 0 || !this.poolWanted.has(networkId)) return;
    const net = this.networks.get(networkId);
    if (!net || net.driver !== 'bridge') return;
    const pool = this.pools.get(networkId) ?? [];
    this.pools.set(networkId, pool);
    if (pool.length >= this.o.poolSize) return;
    this.filling.add(networkId);
    void this.makeSandbox(net)
      .then((s) => {
        // A released namespace may have refilled the pool meanwhile.
        if (this.closing || !this.networks.has(networkId) || pool.length >= this.o.poolSize) return this.destroySandbox(s);
        pool.push(s);
      })
      .catch((err) => this.o.log('warn', `preparing a sandbox on ${net.name}: ${errorMessage(err)}`))
      .finally(() => {
        this.filling.delete(networkId);
        if (!this.closing && pool.length < this.o.poolSize) setImmediate(() => this.refill(networkId));
      });
  }

  private async drainPool(networkId: string): Promise<void> {
    const pool = this.pools.get(networkId) ?? [];
    this.pools.delete(networkId);
    this.poolWanted.delete(networkId);
    while (this.filling.has(networkId)) await new Promise((r) => setTimeout(r, 10));
    for (const s of pool) await this.destroySandbox(s);
    for (const s of [...this.sandboxes.values()]) if (!s.owner && s.poolNetwork === networkId) await this.destroySandbox(s);
  }

  // ---- iptables --------------------------------------------------------------

  private syncFirewall(): Promise<void> {
    const bridges: BridgeRules[] = [];
    for (const n of this.networks.values()) {
      if (n.driver !== 'bridge' || !n.subnet) continue;
      bridges.push({
        bridge: n.bridge!, subnet: n.subnet, internal: n.internal,
        icc: n.options['com.docker.network.bridge.enable_icc'] !== 'false',
        masquerade: n.options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
      });
    }
    const ports: PortRule[] = [];
    for (const s of this.sandboxes.values()) {
      if (!s.owner) continue;
      const e = s.endpoints[0];
      const net = e && this.networks.get(e.networkId);
      if (!e || !net) continue;
      for (const p of s.ports) ports.push({ ...p, containerIp: e.ip, bridge: net.bridge! });
    }
    return this.firewall.apply(bridges, ports);
  }

  // ---- names -----------------------------------------------------------------

  private hasDns(n: NetworkRecord): boolean {
    return n.driver === 'bridge' && !n.predefined && !!n.gateway;
  }

  private endpointsByIp(ip: string): { s: SandboxRecord; e: Endpoint } | undefined {
    for (const s of this.sandboxes.values()) {
      if (!s.owner) continue;
      const e = s.endpoints.find((x) => x.ip === ip);
      if (e) return { s, e };
    }
    return undefined;
  }

  /** Names a container answers to on one network: its name, its aliases, its short ID. */
  private dnsNames(containerId: string, networkId: string): string[] {
    const c = this.lookup.find(containerId);
    const w = this.wishes.get(containerId);
    return [c?.name, ...(w?.networks[networkId]?.aliases ?? []), containerId.slice(0, 12)].filter((x): x is string => !!x);
  }

  private dnsLookup(source: string, name: string): string[] | undefined {
    const asker = this.endpointsByIp(source);
    const nets = asker ? asker.s.endpoints.map((e) => e.networkId) : [];
    const found: string[] = [];
    for (const s of this.sandboxes.values()) {
      if (!s.owner) continue;
      for (const e of s.endpoints) {
        if (!nets.includes(e.networkId) || !this.hasDns(this.networks.get(e.networkId)!)) continue;
        if (this.dnsNames(s.owner, e.networkId).some((n) => n.toLowerCase() === name)) found.push(e.ip);
      }
    }
    if (name === 'host.docker.internal' && asker) found.push(asker.e.gateway);
    return found.length ? [...new Set(found)] : undefined;
  }

  private upstreams(source: string): string[] {
    const asker = this.endpointsByIp(source);
    const w = asker?.s.owner ? this.wishes.get(asker.s.owner) : undefined;
    if (w?.dns.length) return w.dns;
    if (this.o.dns.length) return this.o.dns;
    return this.hostResolvers;
  }

  private hostResolvers: string[] = [];

  private hostsFile(w: ContainerNetworking, s: SandboxRecord | undefined): string {
    const lines = [...BASE_HOSTS_LINES];
    const gateway = s?.endpoints[0]?.gateway ?? this.defaultBridge().gateway ?? '';
    lines.push(...extraHostsLines(w.extraHosts, this.defaultBridge().gateway));
    // Beyond Docker: host.docker.internal reaches the host on Linux too.
    if (gateway && !w.extraHosts.some((h) => h.startsWith('host.docker.internal:'))) lines.push(`${gateway}\thost.docker.internal`);
    const ip = s?.endpoints[0]?.ip;
    if (ip) {
      const fqdn = w.domainname ? `${w.hostname}.${w.domainname}` : '';
      lines.push(`${ip}\t${fqdn ? `${fqdn} ` : ''}${w.hostname}`);
    }
    return lines.join('\n') + '\n';
  }

  /** User-defined networks: the embedded DNS on the gateway. The default bridge: the host's resolvers (never loopback ones). */
  private async resolvConf(w: ContainerNetworking, s: SandboxRecord | undefined): Promise<string> {
    const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    this.hostResolvers = [...host.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
    let search = [...host.matchAll(/^\s*(?:search|domain)\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    let options = [...host.matchAll(/^\s*options\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    const dnsNet = s?.endpoints.map((e) => this.networks.get(e.networkId)).find((n) => n && this.hasDns(n));
    let servers: string[];
    if (dnsNet) {
      servers = [dnsNet.gateway!];
    } else {
      servers = w.dns.length ? w.dns : this.o.dns.length ? this.o.dns : this.hostResolvers.filter((x) => !/^(127\.|::1$)/.test(x));
      if (servers.length === 0 && s) servers = ['8.8.8.8', '8.8.4.4'];
    }
    if (w.dnsSearch.length) search = w.dnsSearch.filter((x) => x !== '.');
    if (w.dnsOptions.length) options = w.dnsOptions;
    const lines = [...servers.map((x) => `nameserver ${x}`)];
    if (search.length) lines.push(`search ${search.join(' ')}`);
    if (options.length) lines.push(`options ${options.join(' ')}`);
    return lines.join('\n') + '\n';
  }

  // ---- views for inspect and ps ----------------------------------------------

  private endpointView(w: ContainerNetworking, netId: string, e: Endpoint | undefined): EndpointSettings {
    const wish = w.networks[netId];
    return {
      IPAMConfig: wish?.ipv4 ? { IPv4Address: wish.ipv4 } : null,
      Links: wish?.links ?? null,
      Aliases: wish?.aliases.length ? wish.aliases : null,
      MacAddress: e?.mac ?? '',
      DriverOpts: null,
      NetworkID: netId,
      EndpointID: e ? wish?.endpointId ?? '' : '',
      Gateway: e?.gateway ?? '',
      IPAddress: e?.ip ?? '',
      IPPrefixLen: e?.prefixLen ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: e && this.hasDns(this.networks.get(netId)!) ? this.dnsNames(w.id, netId) : null,
    };
  }

  /** NetworkSettings of `docker inspect`, with the legacy top-level fields of the first network. */
  settings(containerId: string, running: boolean): NetworkSettings {
    const w = this.wishes.get(containerId);
    const s = running ? this.sandboxOf(containerId) : undefined;
    const out: NetworkSettings = {
      Bridge: '', SandboxID: s?.id ?? '', SandboxKey: s?.netns ?? '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      Ports: {}, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
      EndpointID: '', Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
      Networks: {},
    };
    if (!w) return out;
    for (const netId of Object.keys(w.networks)) {
      const net = this.networks.get(netId);
      if (!net) continue;
      out.Networks[net.name] = this.endpointView(w, netId, s?.endpoints.find((e) => e.networkId === netId));
    }
    const first = s?.endpoints[0];
    if (first) {
      const view = this.endpointView(w, first.networkId, first);
      out.EndpointID = view.EndpointID ?? '';
      out.Gateway = first.gateway;
      out.IPAddress = first.ip;
      out.IPPrefixLen = first.prefixLen;
      out.MacAddress = first.mac;
    }
    if (running && w.mode !== 'host' && !w.mode.startsWith('container:')) out.Ports = this.portView(w, s);
    return out;
  }

  /** Exposed-only ports show as null, published ones with their host side (Docker's shape). */
  private portView(w: ContainerNetworking, s: SandboxRecord | undefined): PortMap {
    const ports: PortMap = {};
    for (const key of w.exposed) ports[key.includes('/') ? key : `${key}/tcp`] = null;
    for (const key of Object.keys(w.portBindings)) ports[key.includes('/') ? key : `${key}/tcp`] ??= null;
    for (const p of s?.ports ?? []) {
      const key = `${p.containerPort}/${p.proto}`;
      (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    return ports;
  }

  /** The network parts of a `/containers/json` entry. */
  summary(containerId: string, running: boolean): { Ports: Port[]; Networks: Record<string, EndpointSettings> } {
    const w = this.wishes.get(containerId);
    if (!w) return { Ports: [], Networks: {} };
    const settings = this.settings(containerId, running);
    const s = running ? this.sandboxOf(containerId) : undefined;
    const ports: Port[] = [];
    for (const [key, list] of Object.entries(this.portView(w, s))) {
      const [p, proto] = key.split('/');
      if (!list) ports.push({ PrivatePort: Number(p), Type: proto as Port['Type'] });
      else for (const b of list) ports.push({ IP: b.HostIp, PrivatePort: Number(p), PublicPort: Number(b.HostPort), Type: proto as Port['Type'] });
    }
    return { Ports: ports, Networks: settings.Networks };
  }

  /** Each interface's counters when the run began, for stats to count from there as Docker's fresh veth does. */
  counterBaseline(containerId: string): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const e of this.sandboxOf(containerId)?.endpoints ?? []) if (e.baseline) out[e.ifname] = e.baseline;
    return out;
  }

  /** For ps's network= filter: the names and IDs of the container's networks. */
  networksOf(containerId: string): string[] {
    const w = this.wishes.get(containerId);
    if (!w) return [];
    return Object.keys(w.networks).flatMap((id) => [id, this.networks.get(id)?.name ?? '']);
  }

  /** The published ports for ps's publish= filter and `docker port`. */
  publishedPorts(containerId: string): Array<{ proto: string; containerPort: number; hostIp: string; hostPort: number }> {
    return this.sandboxOf(containerId)?.ports ?? [];
  }

  // ---- the /networks API ----------------------------------------------------

  resource(n: NetworkRecord, verbose = false): NetworkResource {
    const containers: NetworkResource['Containers'] = {};
    for (const s of this.sandboxes.values()) {
      if (!s.owner) continue;
      for (const e of s.endpoints) {
        if (e.networkId !== n.id) continue;
        const w = this.wishes.get(s.owner);
        containers[s.owner] = {
          Name: this.lookup.find(s.owner)?.name ?? '',
          EndpointID: w?.networks[n.id]?.endpointId ?? '',
          MacAddress: e.mac,
          IPv4Address: `${e.ip}/${e.prefixLen}`,
          IPv6Address: '',
        };
      }
    }
    void verbose;
    const ipamConfig = n.driver === 'bridge' && n.subnet ? [{ Subnet: n.subnet, Gateway: n.gateway!, ...(n.ipRange ? { IPRange: n.ipRange } : {}) }] : [];
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: n.driver,
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: n.ipamOptions, Config: ipamConfig },
      Internal: n.internal,
      Attachable: n.attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.options,
      Labels: n.labels,
    };
  }

  list(filters: Record<string, string[]> = {}): NetworkResource[] {
    const known = new Set(['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling']);
    for (const k of Object.keys(filters)) if (!known.has(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    for (const t of filters.type ?? []) if (t !== 'custom' && t !== 'builtin') throw new InvalidParameterError(`invalid filter: 'type'='${t}'`);
    for (const d of filters.dangling ?? []) if (!['true', 'false', '1', '0'].includes(d)) throw new InvalidParameterError(`invalid filter 'dangling=${d}'`);
    const inUse = this.networksInUse();
    const any = (key: string, pred: (v: string) => boolean) => !filters[key]?.length || filters[key]!.some(pred);
    const nets = [...this.networks.values()].filter((n) =>
      any('driver', (v) => n.driver === v) &&
      any('id', (v) => n.id.startsWith(v)) &&
      any('name', (v) => n.name.includes(v)) &&
      any('scope', (v) => v === 'local') &&
      any('type', (v) => (v === 'builtin') === !!n.predefined) &&
      any('dangling', (v) => (v === 'true' || v === '1') === (!n.predefined && !inUse.has(n.id))) &&
      (!filters.label?.length || filters.label.every((v) => {
        const eq = v.indexOf('=');
        return eq < 0 ? v in n.labels : n.labels[v.slice(0, eq)] === v.slice(eq + 1);
      })));
    nets.sort((a, b) => a.created.localeCompare(b.created));
    return nets.map((n) => this.resource(n));
  }

  private networksInUse(): Set<string> {
    const ids = new Set<string>();
    for (const w of this.wishes.values()) if (this.lookup.find(w.id)) for (const id of Object.keys(w.networks)) ids.add(id);
    return ids;
  }

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name;
    if (!name) throw new InvalidParameterError('network name is empty');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new InvalidParameterError(`invalid network name "${name}"`);
    const driver = req.Driver || 'bridge';
    if (['bridge', 'host', 'none', 'default'].includes(name) && [...this.networks.values()].some((n) => n.predefined && n.name === name)) {
      throw new ForbiddenError(`operation is not permitted on predefined ${name} network `);
    }
    if (name === 'default') throw new ForbiddenError('operation is not permitted on predefined default network ');
    if ([...this.networks.values()].some((n) => n.name === name)) throw new ConflictError(`network with name ${name} already exists`);
    if (driver === 'host' || driver === 'null') throw new ForbiddenError(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw new NotFoundError(`plugin "${driver}" not found`);
    if (req.EnableIPv6) throw new InvalidParameterError('IPv6 networks are not supported by this berth');
    const options = { ...(req.Options ?? {}) };
    for (const k of Object.keys(options)) {
      if (k.startsWith('com.docker.network.') && !KNOWN_BRIDGE_OPTIONS.has(k)) throw new InvalidParameterError(`unknown bridge option: ${k}`);
    }
    const configs = req.IPAM?.Config ?? [];
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw new NotFoundError(`plugin "${req.IPAM.Driver}" not found`);
    const v4 = configs.filter((c) => !(c.Subnet ?? '').includes(':'));
    if (v4.length > 1) throw new InvalidParameterError('this berth supports one IPv4 subnet per network');
    const id = newId();
    const bridge = options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw new InvalidParameterError(`bridge name ${bridge} is too long (at most 15 characters)`);
    if ([...this.networks.values()].some((n) => n.bridge === bridge)) throw new ConflictError(`bridge name ${bridge} is already used by another network`);
    const net: NetworkRecord = {
      id, name, created: new Date().toISOString(), driver: 'bridge', internal: req.Internal === true, attachable: req.Attachable === true,
      labels: req.Labels ?? {}, options, ipamOptions: req.IPAM?.Options ?? null, bridge,
    };
    const c = v4[0];
    if (c?.Gateway && !c.Subnet) throw new InvalidParameterError('a gateway needs a subnet');
    if (c?.IPRange && !c.Subnet) throw new InvalidParameterError('an ip-range needs a subnet');
    if (c?.Subnet) {
      const subnet = parseCidr(c.Subnet, true);
      net.subnet = formatCidr(subnet);
      net.userSubnet = true;
      for (const other of this.networks.values()) {
        if (other.subnet && parseCidr(other.subnet).base !== undefined && overlapsCidr(parseCidr(other.subnet), subnet)) {
          throw new ForbiddenError(`Pool overlaps with other one on this address space`);
        }
      }
      const routed = await hostConflict(subnet);
      if (routed) throw new ForbiddenError(`Pool overlaps with other one on this address space (the host routes ${routed})`);
      if (c.Gateway) {
        if (!isIp(c.Gateway) || !contains(subnet, c.Gateway)) throw new InvalidParameterError(`no matching subnet for gateway ${c.Gateway}`);
        net.gateway = c.Gateway;
      } else {
        net.gateway = intToIp(subnet.base + 1);
      }
      if (c.IPRange) {
        const r = parseCidr(c.IPRange, true);
        if (!contains(subnet, r.base) || r.prefix < subnet.prefix) throw new InvalidParameterError(`no matching subnet for range ${c.IPRange}`);
        net.ipRange = formatCidr(r);
      }
    }
    try {
      await this.ensureBridge(net);
      await this.saveNetwork(net);
      await this.syncFirewall();
      if (this.hasDns(net)) await this.dns.listen(net.gateway!).catch((err) => this.o.log('warn', `embedded DNS on ${net.gateway}: ${errorMessage(err)}`));
    } catch (err) {
      await this.removeBridge(net).catch(() => {});
      this.networks.delete(id);
      await rm(join(this.netDir, `${id}.json`), { force: true });
      await this.syncFirewall().catch(() => {});
      throw err;
    }
    this.o.events.emit('network', 'create', id, { name, type: 'bridge' });
    return { Id: id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    const n = this.find(ref);
    if (n.predefined) throw new ForbiddenError(`${n.name} is a pre-defined network and cannot be removed`);
    // A container being removed (its record already gone) no longer counts.
    const users = [...this.wishes.values()].filter((w) => n.id in w.networks && this.lookup.find(w.id));
    if (users.length) {
      throw new ForbiddenError(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    }
    await this.drainPool(n.id);
    this.networks.delete(n.id);
    await rm(join(this.netDir, `${n.id}.json`), { force: true });
    await this.removeBridge(n);
    await rm(join(this.ipamDir, n.id), { recursive: true, force: true });
    await this.syncFirewall();
    this.o.events.emit('network', 'destroy', n.id, { name: n.name, type: 'bridge' });
  }

  async prune(filters: Record<string, string[]> = {}): Promise<{ NetworksDeleted: string[] }> {
    for (const k of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const until = filters.until?.[0] ? parseUntil(filters.until[0]) : undefined;
    const inUse = this.networksInUse();
    const deleted: string[] = [];
    for (const n of [...this.networks.values()]) {
      if (n.predefined || inUse.has(n.id)) continue;
      if (until !== undefined && Date.parse(n.created) >= until) continue;
      const labelOk = (filters.label ?? []).every((v) => labelMatches(n.labels, v)) && (filters['label!'] ?? []).every((v) => !labelMatches(n.labels, v));
      if (!labelOk) continue;
      await this.remove(n.id);
      deleted.push(n.name);
    }
    return { NetworksDeleted: deleted };
  }

  async connect(ref: string, req: NetworkConnectRequest): Promise<void> {
    const n = this.find(ref);
    const c = this.lookup.find(req.Container ?? '');
    if (!c) throw new NotFoundError(`No such container: ${req.Container}`);
    const w = this.wishes.get(c.id);
    if (!w) throw new NotFoundError(`No such container: ${req.Container}`);
    if (w.mode === 'host' || w.mode === 'none' || w.mode.startsWith('container:') || n.driver !== 'bridge') {
      if (n.driver === 'host' || n.driver === 'null' || w.mode === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
      throw new InvalidParameterError(`container sharing network namespace with another container or host cannot be connected to any other network`);
    }
    if (w.networks[n.id]) throw new ForbiddenError(`endpoint with name ${c.name} already exists in network ${n.name}`);
    const cfg = req.EndpointConfig ?? {};
    const ipv4 = cfg.IPAMConfig?.IPv4Address || undefined;
    const aliases = (cfg.Aliases ?? []).filter(Boolean);
    this.checkEndpoint(n, ipv4, aliases);
    const wish: EndpointWish = { aliases, ...(ipv4 ? { ipv4 } : {}), ...(cfg.MacAddress ? { mac: cfg.MacAddress } : {}), endpointId: newId() };
    const s = c.running ? this.sandboxOf(c.id) : undefined;
    if (s) {
      await this.addEndpoint(s, n, wish);
      await this.saveSandbox(s);
    }
    w.networks[n.id] = wish;
    if (w.mode === DETACHED) w.mode = n.id;
    await this.saveWish(w);
    if (s) this.o.events.emit('network', 'connect', n.id, { container: c.id, name: n.name, type: 'bridge' });
  }

  async disconnect(ref: string, container: string, force = false): Promise<void> {
    const n = this.find(ref);
    const c = this.lookup.find(container ?? '');
    const w = c ? this.wishes.get(c.id) : undefined;
    if (!c || !w) {
      if (force) return;
      throw new NotFoundError(`No such container: ${container}`);
    }
    if (n.driver === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
    if (!w.networks[n.id]) throw new ForbiddenError(`container ${c.id} is not connected to network ${n.name}`);
    const s = this.sandboxOf(c.id);
    const e = s?.endpoints.find((x) => x.networkId === n.id);
    if (s && e) {
      if (s.endpoints[0] === e && s.ports.length) {
        for (const p of s.ports) this.ports.release(p);
        s.ports = [];
        await this.syncFirewall();
      }
      await this.removeEndpoint(s, e);
      await this.saveSandbox(s);
      this.o.events.emit('network', 'disconnect', n.id, { container: c.id, name: n.name, type: 'bridge' });
    }
    delete w.networks[n.id];
    if (w.mode === n.id) w.mode = Object.keys(w.networks)[0] ?? DETACHED;
    await this.saveWish(w);
  }
}

/** The container side's counters, read from the host end of its veth (what one receives the other sent). */
async function vethCounters(hostVeth: string | undefined): Promise<Record<string, number> | undefined> {
  if (!hostVeth) return undefined;
  const read = (n: string) => readFile(`/sys/class/net/${hostVeth}/statistics/${n}`, 'utf8').then(Number).catch(() => 0);
  const [rb, rp, re, rd, tb, tp, te, td] = await Promise.all(['tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped', 'rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped'].map(read));
  return { rx_bytes: rb!, rx_packets: rp!, rx_errors: re!, rx_dropped: rd!, tx_bytes: tb!, tx_packets: tp!, tx_errors: te!, tx_dropped: td! };
}

function overlapsCidr(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}



