import { endianness } from 'node:os';
import { InvalidParameterError } from '../errors/index.js';

// OCI platform names (GOARCH values) for Node's process.arch, and parsing of
// "os[/arch[/variant]]" as containerd's platforms.Parse normalises it.

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

function armVariant(): string {
  const v = (process.config.variables as Record<string, unknown>)['arm_version'];
  return `v${typeof v === 'string' || typeof v === 'number' ? v : 7}`;
}

export function hostPlatform(): Platform {
  switch (process.arch) {
    case 'x64':
      return { os: 'linux', architecture: 'amd64' };
    case 'ia32':
      return { os: 'linux', architecture: '386' };
    case 'arm64':
      return { os: 'linux', architecture: 'arm64' };
    case 'arm':
      return { os: 'linux', architecture: 'arm', variant: armVariant() };
    case 'ppc64':
      return { os: 'linux', architecture: endianness() === 'LE' ? 'ppc64le' : 'ppc64' };
    case 'mipsel':
      return { os: 'linux', architecture: 'mipsle' };
    default:
      // s390x, riscv64, loong64, mips already carry their Go names.
      return { os: 'linux', architecture: process.arch };
  }
}

function normalizeArch(arch: string, variant: string | undefined): [string, string | undefined] {
  switch (arch.toLowerCase()) {
    case 'i386':
      return ['386', undefined];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', variant === 'v1' ? undefined : variant];
    case 'aarch64':
    case 'arm64':
      return ['arm64', variant === '8' || variant === 'v8' ? undefined : variant];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      return ['arm', variant ? (variant.startsWith('v') ? variant : `v${variant}`) : 'v7'];
    default:
      return [arch.toLowerCase(), variant];
  }
}

/** Parses "linux", "linux/arm64", "linux/arm/v7" (or just an architecture) into a Platform. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) throw new InvalidParameterError(`invalid platform ${JSON.stringify(spec)}: expected os[/arch[/variant]]`);
  const host = hostPlatform();
  let os = parts[0]!.toLowerCase();
  let arch: string | undefined = parts[1];
  let variant: string | undefined = parts[2];
  if (parts.length === 1 && os !== 'linux') {
    // A bare architecture ("arm64"), as containerd accepts.
    arch = os;
    os = 'linux';
  }
  if (os !== 'linux') throw new InvalidParameterError(`operating system is not supported: ${os}`);
  const [architecture, v] = arch === undefined ? [host.architecture, host.variant] : normalizeArch(arch, variant);
  variant = v;
  const p: Platform = { os, architecture };
  if (variant) p.variant = variant;
  return p;
}
