import { readFileSync } from 'node:fs';
import { InvalidParameterError } from '../../errors/index.js';

// Capability names, what the daemon itself holds, and the container's set
// from CapAdd/CapDrop/Privileged the way dockerd computes it.

/** Every capability Linux defines, indexed by its bit number. */
export const KNOWN_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's default set for an unprivileged container. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Names of the capabilities set in a /proc/<pid>/status bitmap (hex). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return KNOWN_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

let daemonCaps: string[] | undefined;

/** The daemon's effective capabilities: all a container can be given (dockerd reads the same). */
export function daemonCapabilities(): string[] {
  if (!daemonCaps) {
    try {
      const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      daemonCaps = m ? capabilitiesFromMask(m[1]!) : [...KNOWN_CAPABILITIES];
    } catch {
      daemonCaps = [...KNOWN_CAPABILITIES];
    }
  }
  return daemonCaps;
}

/** "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "all" → "ALL"; unknown names refused. */
export function normalizeCapabilities(caps: readonly string[] | null | undefined, field: 'CapAdd' | 'CapDrop', available = daemonCapabilities()): string[] {
  const out: string[] = [];
  for (const raw of caps ?? []) {
    let c = raw.toUpperCase();
    if (c === 'ALL') {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (!(KNOWN_CAPABILITIES as readonly string[]).includes(c)) {
      throw new InvalidParameterError(`invalid ${field}: unknown capability: ${JSON.stringify(c)}`);
    }
    if (!available.includes(c)) {
      throw new InvalidParameterError(`invalid ${field}: capability not supported by your kernel or not available in the current environment: ${JSON.stringify(c)}`);
    }
    out.push(c);
  }
  return out;
}

/** The container's capability set: privileged gets all the daemon has; ALL in CapAdd wins over ALL in CapDrop. */
export function containerCapabilities(h: { CapAdd?: string[] | null; CapDrop?: string[] | null; Privileged?: boolean }): string[] {
  const all = daemonCapabilities();
  if (h.Privileged) return [...all];
  const add = normalizeCapabilities(h.CapAdd, 'CapAdd');
  const drop = normalizeCapabilities(h.CapDrop, 'CapDrop');
  if (!add.length && !drop.length) return [...DEFAULT_CAPABILITIES];
  if (add.includes('ALL')) return all.filter((c) => !drop.includes(c));
  if (drop.includes('ALL')) return [...new Set(add)];
  return [...new Set([...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add])];
}
