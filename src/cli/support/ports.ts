import type { Port, PortMap } from '../../types/engine.js';

// Published ports as docker reads them (`-p [ip:][hostPort:]containerPort[/proto]`,
// ranges, the long `published=,target=` form) and prints them in `ps`
// (`0.0.0.0:8080->80/tcp`, `80-81/tcp`).

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

function parsePort(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error('invalid syntax');
  const n = Number(text);
  if (n > 65535) throw new Error('value out of range');
  return n;
}

/** go-connections nat.ParsePortRange. */
export function parsePortRange(text: string): [number, number] {
  if (text === '') throw new Error('empty string specified for ports');
  if (!text.includes('-')) {
    const p = parsePort(text);
    return [p, p];
  }
  const [a, b] = text.split('-');
  const start = parsePort(a!);
  const end = parsePort(b!);
  if (end < start) throw new Error(`invalid range specified for port: ${text}`);
  return [start, end];
}

/** go-connections nat.SplitProtoPort: "80/udp" → ["udp","80"]. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw === '' || parts[0] === '') return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1] === '') return ['tcp', parts[0]!];
  return [parts[1]!, parts[0]!];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const containerPort = parts[n - 1]!;
  switch (n) {
    case 1:
      return ['', '', containerPort];
    case 2:
      return ['', parts[0]!, containerPort];
    case 3:
      return [parts[0]!, parts[1]!, containerPort];
    default:
      return [parts.slice(0, n - 2).join(':'), parts[n - 2]!, containerPort];
  }
}

function isIp(text: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(text)) return text.split('.').every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':');
}

export interface PortSpecs {
  exposed: Record<string, object>;
  bindings: PortMap;
}

/** docker's convertToStandardNotation for the `published=8080,target=80` form. */
export function toStandardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of spec.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
}

/** go-connections nat.ParsePortSpecs: ExposedPorts and PortBindings of `-p` values. */
export function parsePortSpecs(specs: readonly string[]): PortSpecs {
  const exposed: Record<string, object> = {};
  const bindings: PortMap = {};
  for (const raw of specs) {
    let [ip, hostPort, containerPortText] = splitParts(raw);
    const [proto, containerPort] = splitProtoPort(containerPortText);
    if (ip.startsWith('[')) {
      const close = ip.indexOf(']');
      if (close === -1) throw new Error(`invalid IP address ${ip}: missing ']' in address`);
      ip = ip.slice(1, close);
    }
    if (ip !== '' && !isIp(ip)) throw new Error(`invalid IP address: ${ip}`);
    if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
    let start: number, end: number;
    try {
      [start, end] = parsePortRange(containerPort);
    } catch {
      throw new Error(`invalid containerPort: ${containerPort}`);
    }
    let hostStart = 0,
      hostEnd = 0;
    if (hostPort !== '') {
      try {
        [hostStart, hostEnd] = parsePortRange(hostPort);
      } catch {
        throw new Error(`invalid hostPort: ${hostPort}`);
      }
    }
    if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
    if (!PROTOCOLS.includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
    for (let i = 0; i <= end - start; i++) {
      const key = `${start + i}/${proto.toLowerCase()}`;
      let host = hostPort === '' ? '' : String(hostStart + i);
      if (start === end && hostStart !== hostEnd) host = `${hostStart}-${hostEnd}`;
      exposed[key] = {};
      (bindings[key] ??= [])!.push({ HostIp: ip, HostPort: host });
    }
  }
  return { exposed, bindings };
}

function joinHostPort(host: string, port: string | number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function comparePorts(a: Port, b: Port): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  const ipA = a.IP ?? '';
  const ipB = b.IP ?? '';
  if (ipA !== ipB) return ipA < ipB ? -1 : 1;
  const pubA = a.PublicPort ?? 0;
  const pubB = b.PublicPort ?? 0;
  if (pubA !== pubB) return pubA - pubB;
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function formGroup(key: string, first: number, last: number): string {
  const parts = key.split('/');
  let type = parts[0]!;
  let ip = '';
  if (parts.length > 1) {
    ip = parts[0]!;
    type = parts[1]!;
  }
  let group = String(first);
  if (first !== last) group = `${group}-${last}`;
  if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}

/** docker's formatter.DisplayablePorts: consecutive ports grouped, mappings as ip:host->container/proto. */
export function displayablePorts(input: readonly Port[]): string {
  const ports = [...input].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const port of ports) {
    const current = port.PrivatePort;
    let key: string = port.Type;
    if (port.IP) {
      if (port.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(port.IP, port.PublicPort ?? 0)}->${port.PrivatePort}/${port.Type}`);
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === group.last + 1) {
      group.last = current;
      continue;
    }
    result.push(formGroup(key, group.first, group.last));
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  result.push(...hostMappings);
  return result.join(', ');
}
