// Where the daemon listens: docker's host syntax (`unix:///path`,
// `tcp://host:port`, a bare `host:port`) turned into connection options.

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type DaemonAddress =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

export class InvalidHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidHostError';
  }
}

/** Parses one host string the way docker's client does; a TCP host without a port gets 2376 with TLS, 2375 without. */
export function parseHost(raw: string, opts: { tls?: boolean } = {}): DaemonAddress {
  const host = raw.trim();
  if (host === '') return parseHost(DEFAULT_HOST);
  const sep = host.indexOf('://');
  const scheme = sep === -1 ? 'tcp' : host.slice(0, sep).toLowerCase();
  const rest = sep === -1 ? host : host.slice(sep + 3);
  switch (scheme) {
    case 'unix': {
      // `unix://` alone means the default socket, as in docker.
      const socketPath = rest === '' ? DEFAULT_HOST.slice('unix://'.length) : rest;
      return { kind: 'unix', socketPath, url: `unix://${socketPath}` };
    }
    case 'tcp':
    case 'http': {
      const hostPort = rest.replace(/\/+$/, '');
      let hostname: string;
      let portText: string | undefined;
      const bracket = /^\[([^\]]+)\](?::(\d*))?$/.exec(hostPort);
      if (bracket) {
        hostname = bracket[1]!;
        portText = bracket[2];
      } else {
        const colon = hostPort.lastIndexOf(':');
        hostname = colon === -1 ? hostPort : hostPort.slice(0, colon);
        portText = colon === -1 ? undefined : hostPort.slice(colon + 1);
      }
      if (hostname === '') hostname = '127.0.0.1';
      // docker's default TCP port: 2375 for plain HTTP, 2376 for TLS.
      const port = portText === undefined || portText === '' ? (opts.tls ? 2376 : 2375) : Number(portText);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new InvalidHostError(`invalid bind address format: ${raw}`);
      return { kind: 'tcp', host: hostname, port, url: `tcp://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}` };
    }
    default:
      throw new InvalidHostError(`invalid bind address format: ${raw}`);
  }
}

export interface HostChoice {
  host: string;
  /** True when nothing chose a host and the built-in default is used. */
  isDefault: boolean;
}

/** `-H` wins over BERTH_HOST, which wins over DOCKER_HOST, which wins over the default. */
export function chooseHost(flagHosts: string[], env: NodeJS.ProcessEnv = process.env): HostChoice {
  if (flagHosts.length > 0) return { host: flagHosts[0]!, isDefault: false };
  if (env.BERTH_HOST) return { host: env.BERTH_HOST, isDefault: false };
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST, isDefault: false };
  return { host: DEFAULT_HOST, isDefault: true };
}
