import type { ContainerConfig, ContainerStatus, HostConfig, HealthState } from '../types/engine.js';
import type { MountRecord } from '../volume/index.js';

// What berthd persists per container (containers/<id>/container.json). It is
// the source of truth across daemon restarts; the runtime's own state is
// re-derived from conmon's pid and exit files.

export interface StoredState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  /** Set once the user stopped the container, so restart policies leave it alone. */
  stoppedByUser?: boolean;
  health?: HealthState;
}

export interface ContainerRecord {
  id: string;
  /** With Docker's leading slash: "/web". */
  name: string;
  created: string;
  path: string;
  args: string[];
  /** The merged config (image defaults + request), as inspect shows it. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Image ID ("sha256:…"). */
  image: string;
  /** Binds, tmpfs and volumes, resolved at create (absent in records older than volumes). */
  mounts?: MountRecord[];
  state: StoredState;
  restartCount: number;
  runtime: string;
  logPath: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
