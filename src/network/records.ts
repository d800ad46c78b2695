// What the network subsystem keeps. Networks and each container's wishes
// (which networks, aliases, ports) live in the data root; sandboxes (a
// namespace with its interfaces, addresses and published ports) only live
// while the host is up, so they are kept in the exec root (tmpfs).

export interface NetworkRecord {
  id: string;
  name: string;
  created: string;
  driver: 'bridge' | 'host' | 'null';
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** bridge driver only */
  bridge?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** A subnet the user chose (static --ip is allowed only then, as in Docker). */
  userSubnet?: boolean;
  /** bridge, host and none: listed, never removed. */
  predefined?: boolean;
  /** Whether berth made the Linux bridge (it deletes only what it made). */
  ownsBridge?: boolean;
}

export interface EndpointWish {
  aliases: string[];
  ipv4?: string;
  mac?: string;
  links?: string[];
  endpointId: string;
}

export interface ContainerNetworking {
  id: string;
  hostname: string;
  domainname: string;
  /** bridge, host, none, container:<id>, or a network ID. */
  mode: string;
  /** Network ID → how the container joins it, in the order joined. */
  networks: Record<string, EndpointWish>;
  portBindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
  publishAll: boolean;
  exposed: string[];
  /** Whether the run cannot have changed its namespace (no privilege, no CAP_NET_ADMIN, no net.* sysctls), so the namespace may serve the next container. */
  reusable?: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
}

export interface Endpoint {
  networkId: string;
  ifname: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  /** The host end of the veth pair. */
  hostVeth?: string;
  /** The interface's counters when this run took the namespace (a pooled or reused one has counted before). */
  baseline?: Record<string, number>;
}

export interface PublishedPort {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export interface SandboxRecord {
  id: string;
  /** The container using it; none while it waits in a pool. */
  owner?: string;
  /** The network whose pool made it. */
  poolNetwork: string;
  /** Set once set-up finished; a sandbox without it is half-made and is swept. */
  ready: boolean;
  netns: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
  /** Another container joined it (--network container:…): never handed to a new container. */
  shared?: boolean;
}
