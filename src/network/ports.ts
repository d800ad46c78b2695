import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { ConflictError, InvalidParameterError } from '../errors/index.js';
import type { PortMap } from '../types/engine.js';

// Published ports. Each host port is held by a listening socket in berthd for
// as long as it is published: the kernel then tells us when a port is taken
// (by anyone: another berthd, dockerd's proxy, any program), port 0 gives a
// free random port, and nothing else can take it meanwhile. The traffic itself
// never reaches the socket: iptables sends it to the container first.

export type Proto = 'tcp' | 'udp' | 'sctp';

export interface PortRequest {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  /** 0: any free port. */
  hostPort: number;
  /** Inclusive end of a host port range (hostPort..hostPortEnd). */
  hostPortEnd?: number;
}

export interface Published {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

/** "80/tcp" → [80, "tcp"]. */
export function parsePortKey(key: string): { port: number; proto: Proto } {
  const [p, proto = 'tcp'] = key.split('/');
  const port = Number(p);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidParameterError(`invalid port specification: "${key}"`);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidParameterError(`invalid proto: ${proto}`);
  return { port, proto: proto as Proto };
}

/** What to publish, from PortBindings and (with -P) every exposed port. */
export function portRequests(bindings: PortMap | null | undefined, publishAll: boolean, exposed: string[]): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, proto } = parsePortKey(key);
    seen.add(`${port}/${proto}`);
    for (const b of list ?? [{}]) {
      const hostIp = b.HostIp || '0.0.0.0';
      if (hostIp.includes(':')) continue; // IPv6 host addresses: this berth publishes on IPv4
      const [from, to] = (b.HostPort || '0').split('-');
      const hostPort = Number(from || 0);
      const hostPortEnd = to ? Number(to) : undefined;
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535 || (hostPortEnd !== undefined && (!Number.isInteger(hostPortEnd) || hostPortEnd < hostPort || hostPortEnd > 65535))) {
        throw new InvalidParameterError(`invalid port specification: "${b.HostPort}"`);
      }
      out.push({ proto, containerPort: port, hostIp, hostPort, ...(hostPortEnd !== undefined ? { hostPortEnd } : {}) });
    }
  }
  if (publishAll) {
    for (const key of exposed) {
      const { port, proto } = parsePortKey(key);
      if (!seen.has(`${port}/${proto}`)) out.push({ proto, containerPort: port, hostIp: '0.0.0.0', hostPort: 0 });
    }
  }
  return out;
}

type Holder = Server | Socket;

function hold(proto: Proto, hostIp: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', (err) => {
        s.close();
        reject(err);
      });
      s.bind({ address: hostIp, port, exclusive: true }, () => resolve({ holder: s, port: s.address().port }));
      return;
    }
    // sctp cannot be held from Node; tcp stands in so two publishers still collide.
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: hostIp, port, exclusive: true }, () => {
      const a = s.address();
      resolve({ holder: s, port: typeof a === 'object' && a ? a.port : port });
    });
    s.on('connection', (c) => c.destroy());
  });
}

export class PortHolds {
  private readonly held = new Map<string, Holder>();

  private static key(p: Published): string {
    return `${p.proto}:${p.hostIp}:${p.hostPort}`;
  }

  /** Reserves one request; a range takes its first free port. */
  async reserve(r: PortRequest): Promise<Published> {
    const candidates = r.hostPortEnd !== undefined ? Array.from({ length: r.hostPortEnd - r.hostPort + 1 }, (_, i) => r.hostPort + i) : [r.hostPort];
    let lastErr: unknown;
    for (const port of candidates) {
      try {
        const { holder, port: got } = await hold(r.proto, r.hostIp, port);
        const p: Published = { proto: r.proto, containerPort: r.containerPort, hostIp: r.hostIp, hostPort: got };
        this.held.set(PortHolds.key(p), holder);
        return p;
      } catch (err) {
        lastErr = err;
      }
    }
    const code = (lastErr as NodeJS.ErrnoException | undefined)?.code;
    const where = `${r.hostIp}:${r.hostPortEnd !== undefined ? `${r.hostPort}-${r.hostPortEnd}` : r.hostPort}`;
    if (code === 'EADDRINUSE') throw new ConflictError(`Bind for ${where} failed: port is already allocated`);
    if (code === 'EADDRNOTAVAIL') throw new InvalidParameterError(`failed to bind host port for ${where}: cannot assign requested address`);
    throw new ConflictError(`failed to bind host port for ${where}/${r.proto}: ${(lastErr as Error)?.message ?? 'unknown error'}`);
  }

  release(p: Published): void {
    const k = PortHolds.key(p);
    const h = this.held.get(k);
    this.held.delete(k);
    if (h) h.close();
  }

  releaseAll(): void {
    for (const h of this.held.values()) h.close();
    this.held.clear();
  }
}
