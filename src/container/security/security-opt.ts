import { existsSync, readFileSync } from 'node:fs';
import { InvalidParameterError } from '../../errors/index.js';

// HostConfig.SecurityOpt as dockerd reads it: no-new-privileges[=bool],
// writable-cgroups[=bool], seccomp=unconfined|builtin|<profile JSON>,
// apparmor=PROFILE, label=..., with "=" or the old ":" separator.

export interface SecurityOptions {
  noNewPrivileges: boolean;
  writableCgroups?: boolean;
  /** '' (daemon default), 'builtin', 'unconfined' or a profile's JSON text. */
  seccomp: string;
  appArmorProfile: string;
  labels: string[];
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

export function parseSecurityOpt(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: '', appArmorProfile: '', labels: [] };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw new InvalidParameterError(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const at = opt.indexOf(sep);
    const key = opt.slice(0, at);
    const value = opt.slice(at + 1);
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.appArmorProfile = value;
        break;
      case 'seccomp':
        out.seccomp = value;
        break;
      case 'no-new-privileges':
      case 'writable-cgroups': {
        const b = parseBool(value);
        if (b === undefined) throw new InvalidParameterError(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        if (key === 'no-new-privileges') out.noNewPrivileges = b;
        else out.writableCgroups = b;
        break;
      }
      default:
        throw new InvalidParameterError(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}

let seccompInKernel: boolean | undefined;

/** Whether the kernel has seccomp (the Seccomp line in /proc/self/status). */
export function kernelHasSeccomp(): boolean {
  if (seccompInKernel === undefined) {
    try {
      seccompInKernel = /^Seccomp:/m.test(readFileSync('/proc/self/status', 'utf8'));
    } catch {
      seccompInKernel = false;
    }
  }
  return seccompInKernel;
}

/** AppArmor is loaded on this host (dockerd's test). */
export function hostHasAppArmor(): boolean {
  if (!existsSync('/sys/kernel/security/apparmor')) return false;
  try {
    readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8');
    return true;
  } catch {
    return false;
  }
}

export function hostHasSELinux(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}
