// A reference Docker engine for side-by-side figures: Debian's docker.io
// (dockerd 20.10 + containerd + runc), installed on demand, started in the
// background on a temporary data root and socket of its own, and stopped by
// its PID afterwards. It never uses /var/run/docker.sock, so it cannot be
// mistaken for the machine's engine, and it gets a bridge the benchmark made
// (removed again at the end) with iptables off, so it leaves no rules behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { busyboxTar, leftoverMounts, runCommand, DOCKER } from '../test/helpers/daemon.js';

const DOCKERD = '/usr/sbin/dockerd';

export class ReferenceDocker {
  private constructor(
    readonly dir: string,
    private readonly proc: ChildProcess,
    readonly bridge: string,
  ) {}

  get socket(): string {
    return join(this.dir, 'docker.sock');
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Installs docker.io when dockerd is missing (root only); undefined when that is impossible. */
  static ensureInstalled(): boolean {
    if (existsSync(DOCKERD)) return true;
    if (process.getuid?.() !== 0) return false;
    console.log('installing the reference engine (Debian docker.io) for side-by-side figures…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], { stdio: 'ignore', env });
    return r.status === 0 && existsSync(DOCKERD);
  }

  static async start(): Promise<ReferenceDocker> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-refdocker-'));
    const bridge = `bref${process.pid % 100000}`;
    const subnet = freeSubnet();
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
    const proc = spawn(DOCKERD, [
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${join(dir, 'docker.sock')}`, '--bridge', bridge, '--iptables=false', '--ip6tables=false',
      '--ip-masq=false', '--ip-forward=false', '--userland-proxy=false', '--log-level', 'error',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ref = new ReferenceDocker(dir, proc, bridge);
    const deadline = Date.now() + 60_000;
    while (!(await ping(ref.socket))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await ref.stop();
        throw new Error(`reference dockerd did not start: ${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return ref;
  }

  docker(args: string[], input?: string) {
    return runCommand(DOCKER, args, { env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'docker-config') }, input });
  }

  /** The same busybox image the berth figures use, imported the same way. */
  async loadBusybox(): Promise<void> {
    const tar = await busyboxTar();
    const r = await runCommand(DOCKER, ['import', '-c', 'CMD ["sh"]', tar, 'busybox:latest'], {
      env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'docker-config') },
    });
    if (r.code !== 0) throw new Error(`docker import into the reference engine failed: ${r.stderr}`);
  }

  /** Stops dockerd (and the containerd it supervises) by PID, then removes its bridge, mounts and files. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    for (const m of (await leftoverMounts(this.dir)).reverse()) sh('umount', ['-l', m]);
    sh('ip', ['link', 'del', this.bridge]);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Resident memory of dockerd plus the containerd it started (and any shims). */
  async memoryMiB(): Promise<number> {
    const pids = [this.proc.pid!, ...descendants(this.proc.pid!)];
    let total = 0;
    for (const pid of pids) {
      const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
      if (m) total += Number(m[1]) / 1024;
    }
    return total;
  }
}

function sh(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: 'ignore' });
}

/** A /24 in 10.213–10.250 that no route on the host covers yet. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  for (let b = 213; b < 250; b++) {
    const prefix = `10.${b}.`;
    if (!routes.includes(prefix)) return `10.${b}.7`;
  }
  throw new Error('no free 10.x subnet for the reference engine bridge');
}

export function descendants(pid: number): number[] {
  const out: number[] = [];
  const children = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const queue = children(pid);
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

function ping(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
