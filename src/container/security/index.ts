import { InvalidParameterError } from '../../errors/index.js';
import type { HostConfig } from '../../types/engine.js';
import { containerCapabilities, normalizeCapabilities } from './capabilities.js';
import { devicesFromPath, hostDevices, parseDeviceCgroupRule, type OciDevice, type OciDeviceRule } from './devices.js';
import { parseSeccompProfile, resolveSeccomp, type OciSeccomp } from './seccomp.js';
import { defaultSeccompProfile } from './seccomp-default.js';
import { hostHasAppArmor, hostHasSELinux, kernelHasSeccomp, parseSecurityOpt } from './security-opt.js';

// What confines a container: capabilities, seccomp, no-new-privileges,
// devices and their cgroup rules, all decided from its HostConfig the way
// dockerd decides them.

export { DEFAULT_CAPABILITIES, KNOWN_CAPABILITIES, daemonCapabilities } from './capabilities.js';
export { kernelHasSeccomp } from './security-opt.js';
export type { OciDevice, OciDeviceRule } from './devices.js';
export type { OciSeccomp } from './seccomp.js';

export interface Confinement {
  capabilities: string[];
  seccomp?: OciSeccomp;
  noNewPrivileges: boolean;
  /** Device nodes the runtime creates in the container's /dev. */
  devices: OciDevice[];
  /** Device-cgroup rules after the default deny-all. */
  deviceRules: OciDeviceRule[];
  /** /sys and the cgroup mount writable (privileged, or writable-cgroups). */
  writableSys: boolean;
  writableCgroups: boolean;
  appArmorProfile?: string;
}

/** Create-time checks, as dockerd makes them: security options and capability names. */
export function validateConfinement(h: HostConfig): void {
  const opts = parseSecurityOpt(h.SecurityOpt);
  if (opts.labels.some((l) => l !== 'disable') && hostHasSELinux()) {
    throw new InvalidParameterError('SELinux labels are not supported by this berth');
  }
  normalizeCapabilities(h.CapAdd, 'CapAdd');
  normalizeCapabilities(h.CapDrop, 'CapDrop');
}

/** The confinement of one run of the container (start time: devices are looked up now). */
export function confinement(h: HostConfig): Confinement {
  const opts = parseSecurityOpt(h.SecurityOpt);
  const privileged = h.Privileged === true;
  const capabilities = containerCapabilities(h);

  let seccomp: OciSeccomp | undefined;
  const requested = opts.seccomp;
  const custom = requested !== '' && requested !== 'builtin' && requested !== 'unconfined';
  if (requested !== 'unconfined' && (!privileged || requested !== '')) {
    if (!kernelHasSeccomp()) {
      if (custom) throw new InvalidParameterError('seccomp is not enabled in your kernel, cannot run a custom seccomp profile');
    } else {
      seccomp = resolveSeccomp(custom ? parseSeccompProfile(requested) : defaultSeccompProfile(), capabilities);
    }
  }

  const devices: OciDevice[] = [];
  const deviceRules: OciDeviceRule[] = [];
  if (privileged) {
    devices.push(...hostDevices());
    for (const m of h.Devices ?? []) {
      // The host's /dev is there already; only a device under another name is added.
      if (!m.PathInContainer || m.PathInContainer === m.PathOnHost) continue;
      devices.push(...devicesFromPath({ ...m, CgroupPermissions: 'rwm' }).devices);
    }
    deviceRules.push({ allow: true, access: 'rwm' });
  } else {
    for (const m of h.Devices ?? []) {
      const found = devicesFromPath(m);
      devices.push(...found.devices);
      deviceRules.push(...found.rules);
    }
    for (const r of h.DeviceCgroupRules ?? []) deviceRules.push(parseDeviceCgroupRule(r));
  }

  let appArmorProfile: string | undefined;
  if (hostHasAppArmor() && opts.appArmorProfile) appArmorProfile = opts.appArmorProfile;

  return {
    capabilities,
    ...(seccomp ? { seccomp } : {}),
    noNewPrivileges: opts.noNewPrivileges,
    devices,
    deviceRules,
    writableSys: privileged,
    writableCgroups: opts.writableCgroups ?? privileged,
    ...(appArmorProfile ? { appArmorProfile } : {}),
  };
}
