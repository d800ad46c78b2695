import { arch, release } from 'node:os';
import { InvalidParameterError } from '../../errors/index.js';

// A seccomp profile in Docker's format (the OCI filter plus archMap and
// per-rule includes/excludes) and its reduction to the OCI runtime spec's
// linux.seccomp for one container: the rules whose conditions (capabilities
// in the bounding set, architecture, kernel version) hold are kept.

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  /** "<major>.<minor>" */
  minKernel?: string;
}

export interface SeccompRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
}

/** linux.seccomp of the OCI runtime spec. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: Array<{ names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }>;
}

/** Node's arch → the name profiles use (Go's GOARCH as libseccomp spells it). */
const PROFILE_ARCH: Record<string, string> = {
  x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', loong64: 'loongarch64', mips: 'mips', mipsel: 'mipsel',
  ppc: 'ppc', ppc64: 'ppc64le', riscv64: 'riscv64', s390: 's390', s390x: 's390x',
};
const SECCOMP_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64', ppc: 'SCMP_ARCH_PPC', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X', mipsel: 'SCMP_ARCH_MIPSEL',
};

function kernelAtLeast(min: string, kernel = release()): boolean {
  const [wantMajor = 0, wantMinor = 0] = min.split('.').map(Number);
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return false;
  const major = Number(m[1]);
  return major > wantMajor || (major === wantMajor && Number(m[2]) >= wantMinor);
}

/** Parses a profile sent as JSON (the docker CLI reads the file and sends its content). */
export function parseSeccompProfile(body: string): SeccompProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new InvalidParameterError(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidParameterError('Decoding seccomp profile failed: json: cannot unmarshal into a seccomp profile');
  }
  const p = parsed as SeccompProfile;
  for (const r of p.syscalls ?? []) {
    const filters = [r.includes?.minKernel, r.excludes?.minKernel].filter((v) => v !== undefined && v !== '');
    for (const v of filters) {
      if (!/^\d+\.\d+$/.test(String(v)) || /^0+\.0+$/.test(String(v))) {
        throw new InvalidParameterError(`Decoding seccomp profile failed: invalid kernel version: ${JSON.stringify(v)}, expected "<kernel>.<major>"`);
      }
    }
  }
  return p;
}

/**
 * The OCI filter for a container whose bounding set is `bounding`; undefined
 * when the profile turns seccomp off (no default action and no rules).
 */
export function resolveSeccomp(profile: SeccompProfile, bounding: readonly string[], nodeArch = arch()): OciSeccomp | undefined {
  if (!profile.defaultAction && !(profile.syscalls ?? []).length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidParameterError("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const here = PROFILE_ARCH[nodeArch] ?? nodeArch;
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = profile.flags;
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  if (profile.architectures?.length) out.architectures = profile.architectures;
  const native = SECCOMP_ARCH[here];
  const mapped = profile.archMap?.find((a) => a.architecture === native);
  if (mapped) out.architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];

  const holds = (f: SeccompFilter | undefined, any: boolean): boolean => {
    // For includes every condition must hold; for excludes any one excludes.
    if (!f) return !any;
    const conds: boolean[] = [];
    if (f.arches?.length) conds.push(f.arches.includes(here));
    if (f.caps?.length) conds.push(any ? f.caps.some((c) => bounding.includes(c)) : f.caps.every((c) => bounding.includes(c)));
    if (f.minKernel) conds.push(kernelAtLeast(f.minKernel));
    return any ? conds.some(Boolean) : conds.every(Boolean);
  };
  out.syscalls = [];
  for (const rule of profile.syscalls ?? []) {
    if (rule.name && rule.names?.length) {
      throw new InvalidParameterError("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    }
    if (holds(rule.excludes, true) || !holds(rule.includes, false)) continue;
    out.syscalls.push({
      names: rule.name ? [rule.name] : (rule.names ?? []),
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args } : {}),
    });
  }
  return out;
}
