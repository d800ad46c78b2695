import { createSocket, type Socket } from 'node:dgram';
import * as packet from 'dns-packet';

// berth's embedded DNS server. It listens on the gateway address of each
// user-defined network (on the host side, as podman's aardvark does: Node
// cannot enter a namespace to listen on 127.0.0.11 as dockerd does), answers
// the names of containers that share a network with the asking container, and
// forwards every other question to that container's upstream resolvers.

export interface DnsDirectory {
  /** IPv4 addresses for `name` as seen from the container at `source`, or undefined when it is not a berth name. */
  lookup(source: string, name: string): string[] | undefined;
  /** Where to forward other questions from `source`. */
  upstreams(source: string): string[];
}

const TTL = 600;
const FORWARD_TIMEOUT_MS = 4000;

export class DnsServer {
  private readonly sockets = new Map<string, Socket>();

  constructor(
    private readonly directory: DnsDirectory,
    private readonly log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void,
  ) {}

  async listen(address: string): Promise<void> {
    if (this.sockets.has(address)) return;
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(53, address, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', (err) => this.log('warn', `dns on ${address}: ${err.message}`));
    s.on('message', (msg, rinfo) => void this.answer(s, msg, rinfo.address, rinfo.port));
    this.sockets.set(address, s);
  }

  unlisten(address: string): void {
    this.sockets.get(address)?.close();
    this.sockets.delete(address);
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private async answer(s: Socket, msg: Buffer, address: string, port: number): Promise<void> {
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (!q) return;
    const name = q.name.replace(/\.$/, '').toLowerCase();
    const ips = q.type === 'A' || q.type === 'AAAA' || (q.type as string) === 'ANY' ? this.directory.lookup(address, name) : undefined;
    if (ips) {
      const reply = packet.encode({
        type: 'response',
        id: query.id,
        flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | packet.AUTHORITATIVE_ANSWER,
        questions: [q],
        answers: q.type === 'AAAA' ? [] : ips.map((ip) => ({ type: 'A' as const, name: q.name, ttl: TTL, class: 'IN' as const, data: ip })),
      });
      s.send(reply, port, address);
      return;
    }
    const reply = await this.forward(msg, this.directory.upstreams(address));
    if (reply) {
      s.send(reply, port, address);
      return;
    }
    s.send(packet.encode({ type: 'response', id: query.id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | 2 /* SERVFAIL */, questions: [q] }), port, address);
  }

  /** Asks each upstream in turn; the first answer wins. */
  private async forward(msg: Buffer, upstreams: string[]): Promise<Buffer | undefined> {
    for (const server of upstreams) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const c = createSocket(server.includes(':') ? 'udp6' : 'udp4');
        const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
        const done = (b: Buffer | undefined) => {
          clearTimeout(timer);
          c.close();
          resolve(b);
        };
        c.on('error', () => done(undefined));
        c.on('message', (b) => done(b));
        c.send(msg, 53, server);
      });
      if (reply) return reply;
    }
    return undefined;
  }
}
