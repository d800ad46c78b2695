// Docker Engine API wire shapes (v1.47), shared by berthd, the berth CLI and
// the dashboard so they cannot drift apart. Field names are Docker's exactly;
// only the fields berth serves are listed, the rest stay optional.

export type Labels = Record<string, string>;

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** Image config as Docker shows it (`Config` of an image, OCI config.config). */
export interface ImageConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean | null;
  MacAddress?: string | null;
  OnBuild?: string[] | null;
  Labels?: Labels | null;
  StopSignal?: string | null;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

/** Container config (`Config` of a container create request / inspect). */
export type ContainerConfig = ImageConfig;

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}
export type PortMap = Record<string, PortBinding[] | null>;

export interface MountSpec {
  Target?: string;
  Source?: string;
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Labels; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface HostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  VolumesFrom?: string[] | null;
  Mounts?: MountSpec[] | null;
  ConsoleSize?: [number, number] | null;
  Annotations?: Record<string, string>;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Cgroup?: string;
  Links?: string[] | null;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  Isolation?: string;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Init?: boolean | null;
  // Resources
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  Devices?: DeviceMapping[] | null;
  KernelMemory?: number;
  CpuCount?: number;
  CpuPercent?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  BlkioWeightDevice?: Array<{ Path: string; Weight: number }> | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  DeviceCgroupRules?: string[] | null;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface EndpointSettings {
  IPAMConfig?: unknown;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  IPv6Gateway?: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  DriverOpts?: Record<string, string> | null;
  DNSNames?: string[] | null;
}

export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointSettings>;
}

/** Body of POST /containers/create. */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
  Platform?: string;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthState {
  Status: 'none' | 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  HairpinMode?: boolean;
  LinkLocalIPv6Address?: string;
  LinkLocalIPv6PrefixLen?: number;
  Ports: PortMap;
  SecondaryIPAddresses?: unknown;
  SecondaryIPv6Addresses?: unknown;
  EndpointID: string;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: NetworkSettings;
}

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: 'tcp' | 'udp' | 'sctp';
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Labels;
  State: ContainerStatus;
  Status: string;
  HostConfig: { NetworkMode: string; Annotations?: Record<string, string> };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
}

export interface ContainerWaitResponse {
  StatusCode: number;
  Error: { Message: string } | null;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Labels;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ImageConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface ImageHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[];
  Size: number;
  Comment: string;
}

export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** One line of a pull/push/build/load/import progress stream. */
export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export interface EventMessage {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'node' | 'service' | 'secret' | 'config' | 'builder';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
  // Deprecated fields old clients still read.
  status?: string;
  id?: string;
  from?: string;
}

export interface SystemVersion {
  Platform: { Name: string };
  Components: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental?: boolean;
  BuildTime: string;
}

export interface ErrorResponse {
  message: string;
}

/** GET /info (`system.Info`): the fields berth serves; the rest stay optional. */
export interface SystemInfo {
  ID?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | null;
  SystemStatus?: Array<[string, string]> | null;
  Plugins?: { Volume?: string[] | null; Network?: string[] | null; Authorization?: string[] | null; Log?: string[] | null };
  MemoryLimit?: boolean;
  SwapLimit?: boolean;
  Debug?: boolean;
  NFd?: number;
  NGoroutines?: number;
  SystemTime?: string;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  NEventsListener?: number;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSVersion?: string;
  OSType?: string;
  Architecture?: string;
  IndexServerAddress?: string;
  RegistryConfig?: {
    InsecureRegistryCIDRs?: string[] | null;
    IndexConfigs?: Record<string, { Name: string; Mirrors?: string[] | null; Secure: boolean; Official?: boolean }> | null;
    Mirrors?: string[] | null;
  } | null;
  NCPU?: number;
  MemTotal?: number;
  DockerRootDir?: string;
  HttpProxy?: string;
  HttpsProxy?: string;
  NoProxy?: string;
  Name?: string;
  Labels?: string[] | null;
  ExperimentalBuild?: boolean;
  ServerVersion?: string;
  Runtimes?: Record<string, { path?: string; runtimeArgs?: string[] }>;
  DefaultRuntime?: string;
  Swarm?: { NodeID?: string; NodeAddr?: string; LocalNodeState?: string; ControlAvailable?: boolean; Error?: string; RemoteManagers?: unknown };
  LiveRestoreEnabled?: boolean;
  Isolation?: string;
  InitBinary?: string;
  ContainerdCommit?: { ID?: string; Expected?: string };
  RuncCommit?: { ID?: string; Expected?: string };
  InitCommit?: { ID?: string; Expected?: string };
  SecurityOptions?: string[] | null;
  ProductLicense?: string;
  DefaultAddressPools?: Array<{ Base: string; Size: number }> | null;
  CDISpecDirs?: string[] | null;
  Warnings?: string[] | null;
}

/** HostConfig.DeviceRequests entry (`--gpus`). */
export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[] | null;
  Capabilities?: string[][] | null;
  Options?: Record<string, string> | null;
}

export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

/** HostConfig of a create request with the resource fields docker's CLI also sends. */
export interface ContainerCreateHostConfig extends HostConfig {
  DeviceRequests?: DeviceRequest[] | null;
}
