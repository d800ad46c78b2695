// Pull benchmark: a ≈200 MB, 4-layer image from the reference registry on
// loopback, pulled by the docker CLI through berthd and through a reference
// dockerd side by side (same registry, same image, alternating runs, the
// image removed between runs), printed as medians and the berth/dockerd
// ratio. benchPull() takes the pull and the clean-up as functions, so
// bench.ts can add its own targets; run alone with `npm run bench:pull`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/** Times `runs` pulls per target, alternating targets run by run. */
export async function benchPull(ref: string, targets: PullTarget[], runs = 5): Promise<PullStats[]> {
  const stats = targets.map((t) => ({ label: t.label, runs: [] as number[] }));
  // One untimed pull each: endpoints and connections as a user's second pull finds them.
  for (const t of targets) {
    await t.pull(ref);
    await t.remove(ref);
  }
  for (let i = 0; i < runs; i++) {
    for (const [k, t] of targets.entries()) {
      const start = process.hrtime.bigint();
      await t.pull(ref);
      stats[k]!.runs.push(Number(process.hrtime.bigint() - start) / 1e6);
      await t.remove(ref);
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
export async function startReferenceDockerd(): Promise<ReferenceDockerd | undefined> {
  if (!existsSync('/usr/sbin/dockerd')) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-dockerd-'));
  const sock = join(dir, 'docker.sock');
  await writeFile(join(dir, 'daemon.json'), '{}\n');
  const proc: ChildProcess = spawn('/usr/sbin/dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${sock}`, '--pidfile', join(dir, 'dockerd.pid'),
    '--config-file', join(dir, 'daemon.json'), '--bridge', 'none', '--iptables=false', '--ip-masq=false', '--log-level', 'error',
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

export async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_PULL_RUNS ?? 5);
  const [reg, d] = await Promise.all([startReferenceRegistry(), TestDaemon.start(['--log-level', 'error'])]);
  let dockerd: ReferenceDockerd | undefined;
  try {
    await waitForHttp(`http://${reg.host}/v2/`, undefined, () => reg.log());
    const ref = await pushBenchImage(reg, Number(process.env.BENCH_PULL_BYTES ?? 200 * 1024 * 1024));
    dockerd = await startReferenceDockerd().catch((err: unknown) => {
      console.log(`(no reference dockerd: ${(err as Error).message.split('\n')[0]})`);
      return undefined;
    });
    const targets = [dockerCliTarget('docker CLI → berthd', d.host, join(d.dir, 'docker-config'))];
    if (dockerd) targets.push(dockerCliTarget('docker CLI → reference dockerd', dockerd.host, join(d.dir, 'docker-config-ref')));
    const stats = await benchPull(ref, targets, runs);
    console.log(`\ndocker pull of a 4-layer image from a loopback registry (${runs} runs each, alternating):`);
    for (const s of stats) console.log(`  ${s.label.padEnd(34)} median ${(s.median / 1000).toFixed(2)} s   min ${(s.min / 1000).toFixed(2)}   max ${(s.max / 1000).toFixed(2)}`);
    if (stats.length === 2) console.log(`  berth / dockerd: ${(stats[0]!.median / stats[1]!.median).toFixed(2)}x (target ≤ 0.67x)`);
  } finally {
    await dockerd?.stop();
    await d.stop();
    await reg.stop();
  }
}

if (process.argv[1]?.endsWith('pull.js')) await main();
