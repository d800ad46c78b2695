import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, rmdir, writeFile, readFile, readdir } from 'node:fs/promises';
import { existsSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { bridgesOf, isClean, networkLeftovers, removeNetworkLeftovers } from './host-network.js';

// Starts a real berthd on a temporary data root, exec root and socket, and
// offers the ways tests drive it: raw HTTP, the berth CLI and the docker CLI.

export const REPO = resolve(import.meta.dirname, '../../..');
export const BERTH = join(REPO, 'bin/berth');
export const BERTHD = join(REPO, 'bin/berthd');
export const DOCKER = '/usr/local/bin/docker';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  raw: Buffer;
  json<T = any>(): T;
}

export class TestDaemon {
  proc: ChildProcess | undefined;
  stderr = '';
  /** This daemon's own default bridge: concurrent test daemons never share one. */
  readonly bridge = `bt${randomBytes(5).toString('hex')}`;
  /** Set by a kill -9: what it leaves is swept by stop() instead of reported. */
  private crashed = false;

  private constructor(readonly dir: string) {}

  get dataRoot() { return join(this.dir, 'data'); }
  get execRoot() { return join(this.dir, 'exec'); }
  get socket() { return join(this.dir, 'berth.sock'); }
  get host() { return `unix://${this.socket}`; }
  /** A cgroup parent of this daemon's own, removed by stop(). */
  get cgroupParent() { return `/${basename(this.dir)}`; }

  static async start(extraArgs: string[] = [], daemonJson: object = {}): Promise<TestDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-test-'));
    const d = new TestDaemon(dir);
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(daemonJson) + '\n');
    try {
      await d.launch(extraArgs);
    } catch (err) {
      // A daemon that refused to start leaves nothing behind either.
      await d.stop().catch(() => {});
      throw err;
    }
    return d;
  }

  async launch(extraArgs: string[] = []): Promise<void> {
    this.stderr = '';
    // BERTHD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p' profiles every test daemon.
    const nodeArgs = process.env.BERTHD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const proc = spawn(process.execPath, [
      ...nodeArgs, BERTHD, '--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', this.host,
      '--config-file', join(this.dir, 'daemon.json'), '--cgroup-parent', this.cgroupParent, '--log-level', 'debug',
      // Test daemons leave the host's ip_forward as it is unless a test asks.
      ...(extraArgs.some((a) => a === '-b' || a.startsWith('--bridge')) ? [] : ['--bridge', this.bridge]),
      ...(extraArgs.some((a) => a.startsWith('--ip-forward')) ? [] : ['--ip-forward=false']),
      ...extraArgs,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      // BERTH_TEST_LOG=path keeps every test daemon's log for debugging.
      if (process.env.BERTH_TEST_LOG) appendFileSync(process.env.BERTH_TEST_LOG, d);
    });
    this.proc = proc;
    this.crashed = false;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`berthd exited with ${proc.exitCode}: ${this.stderr}`);
      try {
        const r = await this.request('GET', '/_ping');
        if (r.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer within 15s: ${this.stderr}`);
  }

  /** SIGKILL, as a crash would: no cleanup runs. */
  async kill9(): Promise<void> {
    const proc = this.proc!;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    this.proc = undefined;
    this.crashed = true;
  }

  async terminate(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    const code = await exited;
    this.proc = undefined;
    return code;
  }

  /** Removes every container, stops the daemon, checks nothing is left mounted, deletes the temp dir. */
  async stop(): Promise<void> {
    try {
      if (this.proc) {
        const list = await this.request('GET', '/containers/json?all=1');
        if (list.status === 200) {
          for (const c of list.json<Array<{ Id: string }>>()) await this.request('DELETE', `/containers/${c.Id}?force=1`);
        }
        await this.terminate();
      }
    } finally {
      const bridges = await bridgesOf(this.dataRoot, [this.bridge]);
      const net = await networkLeftovers(this.dataRoot, this.execRoot, bridges);
      const mounts = await leftoverMounts(this.dir);
      for (const m of mounts.reverse()) await run('umount', ['-l', m]);
      if (!isClean(net)) await removeNetworkLeftovers(net, this.dataRoot);
      await rm(this.dir, { recursive: true, force: true });
      await removeCgroupParent(this.cgroupParent);
      if (mounts.length) throw new Error(`mounts left behind: ${mounts.join(', ')}`);
      if (!isClean(net) && !this.crashed) throw new Error(`network things left behind: ${JSON.stringify(net)}`);
    }
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    return new Promise((resolvePromise, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const req = httpRequest({
        socketPath: this.socket,
        method,
        path,
        headers: { ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: text, raw, json: () => JSON.parse(text) });
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  berth(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
    return runCommand(process.execPath, [BERTH, ...args], { ...opts, env: { BERTH_HOST: this.host, ...opts.env } });
  }

  docker(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
    return runCommand(DOCKER, args, { ...opts, env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'docker-config'), ...opts.env } });
  }

  /** Imports the busybox image built from Debian's busybox-static as busybox:latest. */
  async loadBusybox(reference = 'busybox:latest'): Promise<string> {
    const tar = await busyboxTar();
    const [repo, tag] = reference.split(':');
    const r = await this.request('POST', `/images/create?fromSrc=-&repo=${encodeURIComponent(repo!)}&tag=${tag ?? 'latest'}&changes=${encodeURIComponent('CMD ["sh"]')}`, await readFile(tar), { 'Content-Type': 'application/x-tar' });
    if (r.status !== 200) throw new Error(`import failed: ${r.status} ${r.body}`);
    const last = r.body.trim().split('\n').pop()!;
    const msg = JSON.parse(last) as { status?: string; error?: string };
    if (msg.error) throw new Error(`import failed: ${msg.error}`);
    return msg.status!;
  }
}

let busyboxTarPath: Promise<string> | undefined;
/** The busybox rootfs tarball, built once per test process. */
export function busyboxTar(): Promise<string> {
  busyboxTarPath ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-busybox-'));
    const out = join(dir, 'busybox.tar');
    const r = await runCommand(join(REPO, 'scripts/busybox-rootfs.sh'), [out]);
    if (r.code !== 0) throw new Error(`busybox-rootfs.sh failed: ${r.stderr}`);
    process.once('exit', () => {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    });
    return out;
  })();
  return busyboxTarPath;
}

export function runCommand(cmd: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((r) => execFile(cmd, args, () => r()));
}

/** The runtime removes each container's cgroup; the parent directories are ours. */
export async function removeCgroupParent(parent: string): Promise<void> {
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = await readdir(base).catch(() => [] as string[]);
    for (const c of controllers) await rmdir(join(base, c, parent)).catch(() => {});
    await rmdir(join(base, parent)).catch(() => {});
  }
}

export async function leftoverMounts(under: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(under + '/') || p === under);
}

export function exists(path: string): boolean {
  return existsSync(path);
}

/** Polls until `fn` returns a truthy value or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
