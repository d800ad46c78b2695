import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../errors/index.js';
import { exec } from './exec.js';

// Drives CNI plugins by the CNI protocol: the command and the container's
// coordinates in the environment, the network configuration on stdin, the
// result (or an error object) as JSON on stdout.

export const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni'];

export interface CniResult {
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
}

export interface CniCall {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  netns: string;
  ifname: string;
  config: Record<string, unknown>;
}

export function findCniPath(): string | undefined {
  return CNI_DIRS.find((d) => existsSync(join(d, 'bridge')));
}

export class Cni {
  constructor(private readonly path: string) {}

  async invoke(call: CniCall): Promise<CniResult> {
    const type = String(call.config.type);
    const r = await exec(join(this.path, type), [], {
      input: JSON.stringify(call.config),
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: call.command,
        CNI_CONTAINERID: call.containerId,
        CNI_NETNS: call.netns,
        CNI_IFNAME: call.ifname,
        CNI_PATH: this.path,
      },
    });
    if (r.code !== 0) {
      let msg = r.stderr.trim() || r.stdout.trim();
      try {
        const e = JSON.parse(r.stdout) as { msg?: string; details?: string };
        msg = [e.msg, e.details].filter(Boolean).join(': ');
      } catch {
        /* not JSON */
      }
      throw new SystemError(`CNI ${type} ${call.command}: ${msg}`);
    }
    return r.stdout.trim() ? (JSON.parse(r.stdout) as CniResult) : {};
  }
}
