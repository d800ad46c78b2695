import { exec, run } from './exec.js';

// berth's iptables rules, all in chains of this daemon's own (BERTH-<tag>-*),
// reached by one jump each from the built-in chains. Every change rewrites the
// chains whole with one `iptables-restore --noflush` (declaring a chain there
// flushes it), so the rules always equal the state in memory and a crash can
// leave nothing but a stale copy that the next start replaces. Docker's chains
// and everyone else's are never read or touched.

export interface BridgeRules {
  bridge: string;
  subnet: string;
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
}

export interface PortRule {
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  bridge: string;
}

interface Jump {
  table: 'nat' | 'filter';
  chain: string;
  rule: string[];
}

export class Firewall {
  readonly pre: string;
  readonly post: string;
  readonly fwd: string;
  readonly iso: string;
  private readonly jumps: Jump[];
  private queue: Promise<void> = Promise.resolve();
  private jumped = false;

  constructor(tag: string, readonly enabled: boolean) {
    this.pre = `BERTH-${tag}-DNAT`;
    this.post = `BERTH-${tag}-POST`;
    this.fwd = `BERTH-${tag}-FWD`;
    this.iso = `BERTH-${tag}-ISO`;
    this.jumps = [
      { table: 'nat', chain: 'PREROUTING', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', this.pre] },
      { table: 'nat', chain: 'OUTPUT', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', this.pre] },
      { table: 'nat', chain: 'POSTROUTING', rule: ['-j', this.post] },
      { table: 'filter', chain: 'FORWARD', rule: ['-j', this.fwd] },
    ];
  }

  /** Writes the chains for the given state, then makes sure the jumps exist. */
  apply(bridges: BridgeRules[], ports: PortRule[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const text = this.render(bridges, ports);
    const next = this.queue.then(async () => {
      await run('iptables-restore', ['-w', '--noflush'], { input: text });
      if (this.jumped) return;
      this.jumped = true;
      for (const j of this.jumps) {
        const check = await exec('iptables', ['-w', '-t', j.table, '-C', j.chain, ...j.rule]);
        if (check.code !== 0) await run('iptables', ['-w', '-t', j.table, '-I', j.chain, '1', ...j.rule]);
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  render(bridges: BridgeRules[], ports: PortRule[]): string {
    const nat = [`*nat`, `:${this.pre} - [0:0]`, `:${this.post} - [0:0]`];
    const filter = [`*filter`, `:${this.fwd} - [0:0]`, `:${this.iso} - [0:0]`];
    for (const p of ports) {
      const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ['-d', `${p.hostIp}/32`] : [];
      nat.push(`-A ${this.pre} ${dst.join(' ')} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`.replace(/ {2,}/g, ' '));
      // Hairpin: a container reaching its own published port through the host.
      nat.push(`-A ${this.post} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
      filter.push(`-A ${this.fwd} -d ${p.containerIp}/32 ! -i ${p.bridge} -o ${p.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j ACCEPT`);
    }
    for (const b of bridges) {
      if (b.masquerade && !b.internal) nat.push(`-A ${this.post} -s ${b.subnet} ! -o ${b.bridge} -j MASQUERADE`);
      // Published ports reached on 127.0.0.1 leave through the bridge (route_localnet) with a loopback source.
      nat.push(`-A ${this.post} -s 127.0.0.0/8 -o ${b.bridge} -j MASQUERADE`);
      filter.push(`-A ${this.fwd} -o ${b.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
      filter.push(`-A ${this.fwd} -i ${b.bridge} -o ${b.bridge} -j ${b.icc ? 'ACCEPT' : 'DROP'}`);
      filter.push(`-A ${this.fwd} -i ${b.bridge} ! -o ${b.bridge} -j ${this.iso}`);
      if (b.internal) {
        filter.push(`-A ${this.fwd} -i ${b.bridge} ! -o ${b.bridge} -j DROP`);
        filter.push(`-A ${this.fwd} ! -i ${b.bridge} -o ${b.bridge} -j DROP`);
      } else {
        filter.push(`-A ${this.fwd} -i ${b.bridge} ! -o ${b.bridge} -j ACCEPT`);
      }
      // Networks are isolated from each other, as Docker's isolation chains do.
      filter.push(`-A ${this.iso} -o ${b.bridge} -j DROP`);
    }
    return [...nat, 'COMMIT', ...filter, 'COMMIT', ''].join('\n');
  }

  /** Removes the jumps and the chains: nothing of this daemon is left in iptables. */
  close(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const next = this.queue.then(async () => {
      this.jumped = false;
      for (const j of this.jumps) {
        while ((await exec('iptables', ['-w', '-t', j.table, '-D', j.chain, ...j.rule])).code === 0) { /* every copy */ }
      }
      for (const [table, chain] of [['nat', this.pre], ['nat', this.post], ['filter', this.fwd], ['filter', this.iso]] as const) {
        await exec('iptables', ['-w', '-t', table, '-F', chain]);
        await exec('iptables', ['-w', '-t', table, '-X', chain]);
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }
}
