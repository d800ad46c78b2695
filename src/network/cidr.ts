import { isIPv4 } from 'node:net';
import { InvalidParameterError } from '../errors/index.js';

// IPv4 prefixes as plain numbers: enough for IPAM, overlap checks and gateways.

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; with `strict`, host bits must be zero (Docker's subnet rule). */
export function parseCidr(text: string, strict = false): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new InvalidParameterError(`invalid CIDR address: ${text}`);
  const prefix = Number(m[2]);
  const addr = ipToInt(m[1]!);
  const base = (addr & mask(prefix)) >>> 0;
  if (strict && base !== addr) throw new InvalidParameterError(`invalid subnet ${text}: it should be ${formatCidr({ base, prefix })}`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: string | number): boolean {
  const n = typeof ip === 'string' ? ipToInt(ip) : ip;
  return ((n & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The subnets of `size` bits carved out of a pool, in order. */
export function* subnetsOf(pool: Cidr, prefix: number): Generator<Cidr> {
  if (prefix < pool.prefix) return;
  const step = 2 ** (32 - prefix);
  for (let b = pool.base; b < pool.base + size(pool); b += step) yield { base: b >>> 0, prefix };
}

export function isIp(text: string): boolean {
  return isIPv4(text);
}
