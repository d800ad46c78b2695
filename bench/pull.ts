// Pull benchmark: a ≈200 MB, 4-layer image from the reference registry on
// loopback, pulled by the docker CLI through a berthd and through a reference
// dockerd side by side, measured the same way: both daemons fresh, their data
// roots on one file system the benchmark makes for them, the image removed
// from both before every timed pull (cold), one untimed pull each first,
// rounds alternating which engine goes first, medians and the berth/dockerd
// ratio. comparePulls() is what `npm run bench` runs too; run alone with
// `npm run bench:pull` (BENCH_PULL_RUNS, BENCH_PULL_BYTES, BENCH_PULL_FS=host
// to stay on the host's temporary directory).
//
// Why a file system of its own: on an ext4 without a journal (this machine's
// root), a new inode skips every inode of its block group freed in the last
// one to six minutes, one bitmap bit and inode-table lookup each; a pull right
// after the rmi of the same 4,400 files then spends up to a second of CPU in
// that scan, and which engine pays depends on which block group its data root
// landed in and on what everything else on the machine deleted there lately.
// A fresh ext4 with a journal (the default, as hosts have it) has no such
// scan, and nothing else writes to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { TestDaemon, DOCKER, runCommand } from '../test/helpers/daemon.js';
import { putBlob, putManifest, sha256, startReferenceRegistry, waitForHttp, type TestRegistry } from '../test/helpers/registry.js';
import { hostPlatform } from '../src/image/platform.js';

export interface PullTarget {
  label: string;
  /** Pulls `ref` (the image is absent when called). */
  pull(ref: string): Promise<void>;
  /** Removes `ref` and its layers so the next pull downloads everything again. */
  remove(ref: string): Promise<void>;
}

export interface PullStats {
  label: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** A layer of many files (like a real image's): half incompressible bytes, half text, so gzip does real work. */
async function makeLayer(index: number, bytes: number): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  const fileSize = 48 * 1024;
  const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(Math.ceil(fileSize / 2 / 55))).subarray(0, fileSize / 2);
  pack.entry({ name: `layer${index}/`, type: 'directory', mode: 0o755 });
  for (let i = 0, written = 0; written < bytes; i++, written += fileSize) {
    if (i % 100 === 0) pack.entry({ name: `layer${index}/d${i / 100}/`, type: 'directory', mode: 0o755 });
    pack.entry({ name: `layer${index}/d${Math.floor(i / 100)}/f${i}`, mode: 0o644 }, Buffer.concat([randomBytes(fileSize / 2), text]));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Pushes a 4-layer image of `totalBytes` (uncompressed) to the registry; returns its reference. */
export async function pushBenchImage(reg: TestRegistry, totalBytes = 200 * 1024 * 1024): Promise<string> {
  const repo = 'bench/pull';
  const diffIds: string[] = [];
  const layers: Array<{ mediaType: string; digest: string; size: number }> = [];
  for (let i = 0; i < 4; i++) {
    const tar = await makeLayer(i, totalBytes / 4);
    const gz = gzipSync(tar);
    diffIds.push(sha256(tar));
    layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: await putBlob(reg.host, repo, gz), size: gz.length });
  }
  const config = Buffer.from(JSON.stringify({ architecture: hostPlatform().architecture, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDigest = await putBlob(reg.host, repo, config);
  const mt = 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length }, layers }));
  await putManifest(reg.host, repo, 'latest', mt, manifest);
  const compressed = layers.reduce((n, l) => n + l.size, 0);
  console.log(`pull image: 4 layers, ${(totalBytes / 1e6).toFixed(0)} MB plain, ${(compressed / 1e6).toFixed(0)} MB gzip`);
  return `${reg.host}/${repo}:latest`;
}

/**
 * Times `runs` pulls per target. The order of the targets flips every round
 * (A B, B A, …) so that neither always follows the other's clean-up; after
 * each removal `settle` (untimed) lets the written data reach the disk.
 */
export async function benchPull(ref: string, targets: PullTarget[], runs = 5, settle: () => Promise<void> = async () => {}): Promise<PullStats[]> {
  const stats = targets.map((t) => ({ label: t.label, runs: [] as number[] }));
  // One untimed pull each: endpoints and connections as a user's second pull finds them.
  for (const t of targets) {
    await t.pull(ref);
    await t.remove(ref);
    await settle();
  }
  for (let i = 0; i < runs; i++) {
    const order = [...targets.keys()];
    if (i % 2 === 1) order.reverse();
    for (const k of order) {
      const t = targets[k]!;
      const start = process.hrtime.bigint();
      await t.pull(ref);
      stats[k]!.runs.push(Number(process.hrtime.bigint() - start) / 1e6);
      await t.remove(ref);
      await settle();
    }
  }
  return stats.map((s) => {
    const sorted = [...s.runs].sort((a, b) => a - b);
    return { ...s, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
  });
}

/** A pull target driven by the docker CLI against DOCKER_HOST. */
export function dockerCliTarget(label: string, dockerHost: string, configDir: string): PullTarget {
  const env = { DOCKER_HOST: dockerHost, DOCKER_CONFIG: configDir };
  return {
    label,
    async pull(ref) {
      const r = await runCommand(DOCKER, ['pull', '-q', ref], { env, timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`${label}: docker pull failed: ${r.stderr}`);
    },
    async remove(ref) {
      const r = await runCommand(DOCKER, ['rmi', ref], { env });
      if (r.code !== 0) throw new Error(`${label}: docker rmi failed: ${r.stderr}`);
    },
  };
}

export interface ReferenceDockerd {
  host: string;
  stop(): Promise<void>;
}

/**
 * A reference dockerd of the benchmark's own: its own data root, exec root,
 * socket and pidfile under a temp dir, no bridge and no iptables rules, so
 * it leaves nothing behind; stopped by its PID.
 */
export async function startReferenceDockerd(parent = tmpdir()): Promise<ReferenceDockerd | undefined> {
  if (!existsSync('/usr/sbin/dockerd')) return undefined;
  const dir = await mkdtemp(join(parent, 'berth-bench-dockerd-'));
  const sock = join(dir, 'docker.sock');
  await writeFile(join(dir, 'daemon.json'), '{}\n');
  const proc: ChildProcess = spawn('/usr/sbin/dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${sock}`, '--pidfile', join(dir, 'dockerd.pid'),
    '--config-file', join(dir, 'daemon.json'), '--bridge', 'none', '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(proc.pid!, 'SIGTERM');
      await exited;
    }
    await runCommand('umount', ['-R', join(dir, 'data')]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`dockerd exited ${proc.exitCode}: ${log}`);
      const r = await runCommand(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: { DOCKER_HOST: `unix://${sock}` } });
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer: ${log}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `unix://${sock}`, stop };
}

export interface ScratchFs {
  /** Where the daemons' directories go. */
  dir: string;
  /** How it was made, for the report. */
  note: string;
  /** Writes what is dirty on it out to the disk (untimed, between pulls). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A fresh ext4 (journal and all, mkfs's defaults) on a loop device, for both
 * engines' data roots; the host's temporary directory when one cannot be
 * made (not root, no loop devices) or BENCH_PULL_FS=host asks for it.
 */
export async function scratchFileSystem(sizeBytes = 6 * 1024 ** 3): Promise<ScratchFs> {
  const host = (why: string): ScratchFs => ({ dir: tmpdir(), note: `the host's ${tmpdir()} (${why})`, settle: async () => {}, stop: async () => {} });
  if (process.env.BENCH_PULL_FS === 'host') return host('BENCH_PULL_FS=host');
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-fs-'));
  const image = join(dir, 'ext4.img');
  const mnt = join(dir, 'mnt');
  let mounted = false;
  const stop = async () => {
    // Recursive (anything a daemon left mounted below), lazy if still busy.
    if (mounted && (await runCommand('umount', ['-R', mnt])).code !== 0) await runCommand('umount', ['-R', '-l', mnt]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const fh = await open(image, 'w');
    await fh.truncate(sizeBytes);
    await fh.close();
    // Inode tables and journal written now, not by a kernel thread during the runs.
    const mkfs = await runCommand('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    if (mkfs.code !== 0) throw new Error(`mkfs.ext4: ${mkfs.stderr.trim()}`);
    await mkdir(mnt);
    const mount = await runCommand('mount', ['-o', 'loop', image, mnt]);
    if (mount.code !== 0) throw new Error(`mount -o loop: ${mount.stderr.trim()}`);
    mounted = true;
  } catch (err) {
    await stop();
    return host((err as Error).message.split('\n')[0]!);
  }
  return {
    dir: mnt,
    note: `a fresh ${(sizeBytes / 1024 ** 3).toFixed(0)} GiB ext4 on a loop device`,
    settle: async () => {
      await runCommand('sync', ['-f', mnt]);
    },
    stop,
  };
}

/** Runs `fn` with the temporary directory (os.tmpdir(), which test daemons use) set to `dir`. */
async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * The pull comparison: registry and image, then a fresh berthd and a fresh
 * reference dockerd with their data roots on a scratch file system, timed
 * by benchPull; prints its lines and returns the stats (berth first).
 */
export async function comparePulls(opts: { runs?: number; bytes?: number; indent?: string } = {}): Promise<PullStats[]> {
  const runs = opts.runs ?? Number(process.env.BENCH_PULL_RUNS ?? 5);
  const bytes = opts.bytes ?? Number(process.env.BENCH_PULL_BYTES ?? 200 * 1024 * 1024);
  const pad = opts.indent ?? '  ';
  const fs = await scratchFileSystem();
  const reg = await startReferenceRegistry();
  let d: TestDaemon | undefined;
  let dockerd: ReferenceDockerd | undefined;
  try {
    await waitForHttp(`http://${reg.host}/v2/`, undefined, () => reg.log());
    const ref = await pushBenchImage(reg, bytes);
    d = await withTmpdir(fs.dir, () => TestDaemon.start(['--log-level', 'error']));
    dockerd = await startReferenceDockerd(fs.dir).catch((err: unknown) => {
      console.log(`(no reference dockerd: ${(err as Error).message.split('\n')[0]})`);
      return undefined;
    });
    const targets = [dockerCliTarget('docker CLI → berthd', d.host, join(d.dir, 'docker-config'))];
    if (dockerd) targets.push(dockerCliTarget('docker CLI → reference dockerd', dockerd.host, join(d.dir, 'docker-config-ref')));
    const loadBefore = load();
    const stats = await benchPull(ref, targets, runs, fs.settle);
    console.log(`docker pull of that image: ${runs} timed runs each after one untimed, order flipped every round, image removed before each; both daemons fresh, data roots on ${fs.note}`);
    for (const s of stats) console.log(`${pad}${s.label.padEnd(44)} median ${s.median.toFixed(0).padStart(8)} ms   min ${s.min.toFixed(0).padStart(8)}   max ${s.max.toFixed(0).padStart(8)}   runs ${s.runs.map((r) => r.toFixed(0)).join(' ')}`);
    if (stats.length === 2) console.log(`${pad}berth / dockerd: ${(stats[0]!.median / stats[1]!.median).toFixed(2)}x (target ≤ 0.67x)`);
    console.log(`${pad}load average (1, 5, 15 min) before: ${loadBefore}   after: ${load()}`);
    return stats;
  } finally {
    await dockerd?.stop();
    await d?.stop();
    await reg.stop();
    await fs.stop();
  }
}

export async function main(): Promise<void> {
  await comparePulls();
}

if (process.argv[1]?.endsWith('pull.js')) await main();
