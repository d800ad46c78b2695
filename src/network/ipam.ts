import { readFile } from 'node:fs/promises';
import { InvalidParameterError, UnavailableError } from '../errors/index.js';
import { formatCidr, overlaps, parseCidr, subnetsOf, type Cidr } from './cidr.js';
import { run } from './exec.js';

// Subnet choice for bridges. A subnet is free when no route or address on the
// host overlaps it (that covers docker0, other berthds' bridges and the host's
// own networks) and none of this daemon's networks has it. Callers hold the
// host lock from the pick until their bridge carries the address.

export interface AddressPool {
  base: string;
  size: number;
}

/** Docker's default pools: 172.17-31.0.0/16 whole, then 192.168.0.0/16 in /20s. */
export const DEFAULT_POOLS: AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

/** `base=10.10.0.0/16,size=24` (dockerd's --default-address-pools). */
export function parsePool(text: string): AddressPool {
  const fields = Object.fromEntries(text.split(',').map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
  if (!fields.base || !fields.size) throw new InvalidParameterError(`invalid default address pool: ${text}: want base=CIDR,size=N`);
  const base = parseCidr(fields.base);
  const sz = Number(fields.size);
  if (!Number.isInteger(sz) || sz < base.prefix || sz > 30) throw new InvalidParameterError(`invalid default address pool: ${text}: size must be between ${base.prefix} and 30`);
  return { base: formatCidr(base), size: sz };
}

/** Every IPv4 prefix the host routes or has on an interface. */
export async function hostPrefixes(): Promise<Cidr[]> {
  const out: Cidr[] = [];
  const routes = JSON.parse((await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all'])) || '[]') as Array<{ dst: string; type?: string }>;
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || (r.type && r.type !== 'unicast')) continue;
    try {
      out.push(parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`));
    } catch {
      /* not IPv4 */
    }
  }
  const links = JSON.parse((await run('ip', ['-4', '-j', 'addr'])) || '[]') as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  for (const l of links) for (const a of l.addr_info ?? []) out.push(parseCidr(`${a.local}/${a.prefixlen}`));
  // The host's resolvers must stay reachable from containers.
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  for (const m of resolv.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)) out.push(parseCidr(`${m[1]}/32`));
  return out.filter((c) => !(c.prefix <= 8 && c.base === 0x7f000000));
}

export async function pickSubnet(pools: AddressPool[], taken: Cidr[]): Promise<Cidr> {
  const host = await hostPrefixes();
  const busy = [...host, ...taken];
  for (const pool of pools) {
    for (const candidate of subnetsOf(parseCidr(pool.base), pool.size)) {
      if (!busy.some((b) => overlaps(b, candidate))) return candidate;
    }
  }
  throw new UnavailableError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** Whether `subnet` clashes with the host's routes or addresses (a user's --subnet may, as with Docker, as long as it is not on a link). */
export async function hostConflict(subnet: Cidr): Promise<string | undefined> {
  for (const p of await hostPrefixes()) {
    if (overlaps(p, subnet) && p.prefix < 32) return formatCidr(p);
  }
  return undefined;
}
