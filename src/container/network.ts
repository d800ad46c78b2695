import type { ContainerCreateRequest, ContainerConfig, HostConfig } from '../types/engine.js';
import { writeFile } from 'node:fs/promises';
import type { ContainerNetworkRequest, SandboxGrant } from '../network/index.js';
import type { ContainerRecord } from './record.js';

// What the container service tells the network subsystem about a container:
// built here so that the service itself only calls it.

export function networkRequest(id: string, config: ContainerConfig, hostConfig: HostConfig, req?: ContainerCreateRequest): ContainerNetworkRequest {
  return {
    id,
    hostname: config.Hostname ?? id.slice(0, 12),
    domainname: config.Domainname ?? '',
    hostConfig,
    exposedPorts: Object.keys(config.ExposedPorts ?? {}),
    endpoints: req?.NetworkingConfig?.EndpointsConfig ?? undefined,
  };
}

export function networkRequestOf(r: ContainerRecord): ContainerNetworkRequest {
  return networkRequest(r.id, r.config, r.hostConfig);
}

/** The container's hosts and resolv.conf as the network subsystem made them for this run. */
export async function writeNetworkFiles(r: ContainerRecord, grant: SandboxGrant | undefined): Promise<void> {
  await Promise.all([
    grant?.hosts !== undefined ? writeFile(r.hostsPath, grant.hosts) : undefined,
    grant?.resolvConf !== undefined ? writeFile(r.resolvConfPath, grant.resolvConf) : undefined,
  ]);
}
