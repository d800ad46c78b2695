import { cpus, hostname, release, totalmem, arch } from 'node:os';
import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { API_VERSION, MIN_API_VERSION } from '../api/index.js';
import type { SystemVersion } from '../types/engine.js';
import type { CgroupLayout } from '../runtime/index.js';
import { cgroupInfoWarnings, cgroupSupport } from '../container/resources/index.js';
import { kernelHasSeccomp } from '../container/security/index.js';
import { LOG_DRIVERS } from '../container/index.js';

// /version and /info: what the host and this daemon are, in dockerd's fields.

export const ENGINE_VERSION = '0.1.0';
const UNAME_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ppc64: 'ppc64le', s390x: 's390x' };
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

export async function operatingSystemName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

export function binaryVersion(path: string, args = ['--version']): Promise<string> {
  return new Promise((resolve) => {
    execFile(path, args, (err, stdout) => {
      if (err) return resolve('unknown');
      resolve(/version\s+(\S+)/i.exec(stdout)?.[1] ?? stdout.split('\n')[0]!.trim());
    });
  });
}

export interface VersionInputs {
  runtimeName: string;
  runtimeVersion: string;
  conmonVersion: string;
}

export function systemVersion(v: VersionInputs): SystemVersion {
  const details = {
    ApiVersion: API_VERSION,
    Arch: GO_ARCH[arch()] ?? arch(),
    BuildTime: '',
    Experimental: 'false',
    GitCommit: '',
    GoVersion: process.version,
    KernelVersion: release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
  };
  return {
    Platform: { Name: 'berth' },
    Components: [
      { Name: 'Engine', Version: ENGINE_VERSION, Details: details },
      { Name: v.runtimeName, Version: v.runtimeVersion, Details: { GitCommit: '' } },
      { Name: 'conmon', Version: v.conmonVersion, Details: { GitCommit: '' } },
    ],
    Version: ENGINE_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: 'linux',
    Arch: GO_ARCH[arch()] ?? arch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

function openFileCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

export interface InfoInputs {
  id: string;
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  driver: string;
  dataRoot: string;
  runtimes: Record<string, { path: string }>;
  defaultRuntime: string;
  cgroupLayout: CgroupLayout;
  operatingSystem: string;
  debug: boolean;
  eventsListeners: number;
  initBinary?: string;
  /** The default logging driver of new containers. */
  loggingDriver: string;
}

export function systemInfo(i: InfoInputs): Record<string, unknown> {
  const cg = cgroupSupport();
  const warnings = cgroupInfoWarnings(cg);
  return {
    ID: i.id,
    Containers: i.containers.total,
    ContainersRunning: i.containers.running,
    ContainersPaused: i.containers.paused,
    ContainersStopped: i.containers.stopped,
    Images: i.images,
    Driver: i.driver,
    DriverStatus: [],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: LOG_DRIVERS },
    MemoryLimit: cg.memoryLimit,
    SwapLimit: cg.swapLimit,
    CpuCfsPeriod: cg.cpuCfs,
    CpuCfsQuota: cg.cpuCfs,
    CPUShares: cg.cpuShares,
    CPUSet: cg.cpuset,
    PidsLimit: cg.pidsLimit,
    IPv4Forwarding: true,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: i.debug,
    NFd: openFileCount(),
    OomKillDisable: cg.oomKillDisable,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: i.loggingDriver,
    CgroupDriver: 'cgroupfs',
    CgroupVersion: i.cgroupLayout === 'v2' ? '2' : '1',
    NEventsListener: i.eventsListeners,
    KernelVersion: release(),
    OperatingSystem: i.operatingSystem,
    OSVersion: '',
    OSType: 'linux',
    Architecture: UNAME_ARCH[arch()] ?? arch(),
    IndexServerAddress: '',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: null },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    GenericResources: null,
    DockerRootDir: i.dataRoot,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: ENGINE_VERSION,
    Runtimes: i.runtimes,
    DefaultRuntime: i.defaultRuntime,
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: i.initBinary ?? '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    // cgroupns: containers get a private cgroup namespace by default (cgroup v2 hosts, as dockerd).
    SecurityOptions: [...(kernelHasSeccomp() ? ['name=seccomp,profile=builtin'] : []), ...(cg.version === 2 ? ['name=cgroupns'] : [])],
    CDISpecDirs: [],
    Warnings: warnings.length ? warnings : null,
  };
}
