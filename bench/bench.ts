// npm run bench: berth side by side with a reference Docker engine started by
// the benchmark itself (Debian's docker.io on a temporary root and socket, see
// reference-docker.ts), same docker CLI, same busybox image, same run. Prints
// medians and ratios (reference / berth: > 1 means berth is faster); where no
// reference engine can run, the anchors measured in DESIGN.md stand in.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon, BERTH, DOCKER } from '../test/helpers/daemon.js';
import { ReferenceDocker, descendants } from './reference-docker.js';
import { comparePulls, type PullStats } from './pull.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 30);
// Containers running while stats are read (moby #39664: dockerd's stats cost); BENCH_STATS_N=0 skips it.
const STATS_N = Number(process.env.BENCH_STATS_N ?? 100);
const STATS_STREAM_S = Number(process.env.BENCH_STATS_STREAM_S ?? 10);
const ANCHORS = { 'reference Docker 20.10 (DESIGN.md)': 240, 'podman 4.3 + conmon + runc': 320 };

interface Stats { min: number; median: number; max: number }

function timeOnce(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(ms);
    });
  });
}

function line(label: string, s: Stats, runs: number): void {
  console.log(`  ${label.padEnd(44)} median ${s.median.toFixed(1).padStart(8)} ms   min ${s.min.toFixed(1).padStart(8)}   max ${s.max.toFixed(1).padStart(8)}   (${runs} runs)`);
}

async function measure(label: string, cmd: string, args: string[], env: Record<string, string>, runs = RUNS): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await timeOnce(cmd, args, env);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeOnce(cmd, args, env));
  times.sort((a, b) => a - b);
  const s = { min: times[0]!, median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! };
  line(label, s, runs);
  return s;
}

/**
 * Two commands measured alternately (a, b, a, b, …), so that a machine whose
 * load drifts during the run weighs on both sides alike.
 */
async function measurePair(
  a: { label: string; cmd: string; args: string[]; env: Record<string, string> },
  b: { label: string; cmd: string; args: string[]; env: Record<string, string> } | undefined,
  runs: number,
): Promise<[Stats, Stats | undefined]> {
  for (let i = 0; i < WARMUP; i++) {
    await timeOnce(a.cmd, a.args, a.env);
    if (b) await timeOnce(b.cmd, b.args, b.env);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push(await timeOnce(a.cmd, a.args, a.env));
    if (b) tb.push(await timeOnce(b.cmd, b.args, b.env));
  }
  const stats = (t: number[]): Stats => {
    t.sort((x, y) => x - y);
    return { min: t[0]!, median: t[Math.floor(t.length / 2)]!, max: t[t.length - 1]! };
  };
  const sa = stats(ta);
  line(a.label, sa, runs);
  const sb = b ? stats(tb) : undefined;
  if (b && sb) line(b.label, sb, runs);
  return [sa, sb];
}

/** N `run -d` at once, until all of them answered (each answers once its container runs). */
async function concurrentRuns(label: string, env: Record<string, string>): Promise<number> {
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => timeOnce(DOCKER, ['run', '-d', '--name', `bench-${i}`, 'busybox', 'sleep', '600'], env)));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(0).padStart(8)} ms`);
  return ms;
}

function rssMiB(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) / 1024;
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Resident memory of the engine's own processes, without the containers' processes. */
function engineMemory(rootPid: number, containerPids: Set<number>): number {
  return rssMiB([rootPid, ...descendants(rootPid)].filter((p) => !containerPids.has(p)));
}

function containerPidsOf(run: (args: string[]) => Promise<{ stdout: string }>): Promise<Set<number>> {
  return containerPidsOfNames(run, Array.from({ length: CONCURRENT }, (_, i) => `bench-${i}`));
}

function containerPidsOfNames(run: (args: string[]) => Promise<{ stdout: string }>, names: string[]): Promise<Set<number>> {
  return run(['inspect', '-f', '{{.State.Pid}}', ...names]).then((r) => {
    const pids = new Set<number>();
    for (const p of r.stdout.split('\n').map(Number).filter((n) => n > 0)) {
      pids.add(p);
      for (const d of descendants(p)) pids.add(d);
    }
    return pids;
  });
}

const CLK_TCK = 100;

/** CPU seconds (user + system, with reaped children) of these processes so far. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the ")" of comm: state is 3rd, utime 14th, stime 15th, cutime 16th, cstime 17th.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return ticks / CLK_TCK;
}

/**
 * The engine's own processes: the daemon, its descendants, and the monitors
 * that detached from it (conmon, containerd shims) found by its directory in
 * their command line; the containers' processes left out.
 */
function engineProcesses(rootPid: number, dir: string, containerPids: Set<number>): number[] {
  const pids = new Set([rootPid, ...descendants(rootPid)]);
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) pids.add(Number(p));
    } catch {
      /* gone */
    }
  }
  return [...pids].filter((p) => !containerPids.has(p) && p !== process.pid);
}

/**
 * Waits until both engines are quiet: no CPU used by the daemons and their
 * processes over 300 ms (10 s at most). Work one section leaves behind (the
 * network tear-down of 30 removed containers, dockerd's own clean-up) then
 * does not land in the next section's timings, on either side.
 */
async function settle(engines: Array<{ pid: number; dir: string }>): Promise<void> {
  const pids = () => engines.flatMap((e) => engineProcesses(e.pid, e.dir, new Set()));
  const deadline = Date.now() + 10_000;
  let last = cpuSeconds(pids());
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    const now = cpuSeconds(pids());
    if (now - last < 0.005) return;
    last = now;
  }
}

interface StatsCost { noStream: number; noStreamMs: number; streamPct: number; idlePct: number }

/** Engine CPU while `docker stats` reads N running containers: one --no-stream, then a stream for a while. */
async function statsCost(label: string, env: Record<string, string>, engine: () => number[]): Promise<StatsCost> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const idleStart = cpuSeconds(engine());
  await sleep(STATS_STREAM_S * 500);
  const idlePct = ((cpuSeconds(engine()) - idleStart) / (STATS_STREAM_S / 2)) * 100;

  const before = cpuSeconds(engine());
  const noStreamMs = await timeOnce(DOCKER, ['stats', '--no-stream'], env);
  const noStream = cpuSeconds(engine()) - before;

  const child = spawn(DOCKER, ['stats', '--format', '{{.ID}} {{.CPUPerc}} {{.MemUsage}}'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
  await sleep(2000); // every container's stream opened
  const streamStart = cpuSeconds(engine());
  const t0 = Date.now();
  await sleep(STATS_STREAM_S * 1000);
  const streamPct = ((cpuSeconds(engine()) - streamStart) / ((Date.now() - t0) / 1000)) * 100;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  console.log(`  ${label.padEnd(44)} --no-stream: ${noStream.toFixed(2).padStart(6)} CPU s (${noStreamMs.toFixed(0)} ms wall)   streaming: ${streamPct.toFixed(1).padStart(6)} % CPU   idle: ${idlePct.toFixed(1)} %`);
  return { noStream, noStreamMs, streamPct, idlePct };
}

async function startIdle(run: (args: string[]) => Promise<{ code: number; stderr: string }>, n: number): Promise<void> {
  const batch = 20;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
      const r = await run(['run', '-d', '--name', `bstat-${i + j}`, 'busybox', 'sleep', '600']);
      if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
    }));
  }
}

function ratio(reference: number | undefined, berth: number): string {
  return reference === undefined ? 'n/a' : `${(reference / berth).toFixed(2)}x`;
}

async function main(): Promise<void> {
  const d = await TestDaemon.start(['--log-level', 'error']);
  let ref: ReferenceDocker | undefined;
  try {
    await d.loadBusybox();
    if (ReferenceDocker.ensureInstalled()) {
      ref = await ReferenceDocker.start();
      await ref.loadBusybox();
    }
    const berthEnv = { DOCKER_HOST: d.host, DOCKER_CONFIG: `${d.dir}/docker-config` };
    const refEnv = ref ? { DOCKER_HOST: ref.host, DOCKER_CONFIG: `${ref.dir}/docker-config` } : undefined;

    console.log(`berth benchmark (${RUNS} runs after ${WARMUP} warm-up each; reference: ${ref ? `dockerd ${(await ref.docker(['version', '-f', '{{.Server.Version}}'])).stdout.trim()} started by the benchmark` : 'none could be started, DESIGN.md anchors used'})\n`);
    const engines = [{ pid: d.proc!.pid!, dir: d.dir }, ...(ref ? [{ pid: ref.pid!, dir: ref.dir }] : [])];
    await settle(engines);
    console.log('run --rm busybox true');
    const viaDocker = await measure('docker CLI → berthd', DOCKER, ['run', '--rm', 'busybox', 'true'], berthEnv);
    const viaBerth = await measure('berth CLI → berthd', process.execPath, [BERTH, 'run', '--rm', 'busybox', 'true'], { BERTH_HOST: d.host });
    const viaRef = refEnv ? await measure('docker CLI → reference dockerd', DOCKER, ['run', '--rm', 'busybox', 'true'], refEnv) : undefined;

    await settle(engines);
    console.log(`\n${CONCURRENT} concurrent run -d until all run`);
    const concBerth = await concurrentRuns('docker CLI → berthd', berthEnv);
    const concRef = refEnv ? await concurrentRuns('docker CLI → reference dockerd', refEnv) : undefined;

    console.log(`\nengine memory with ${CONCURRENT} running containers (daemon + monitors, containers' own processes excluded)`);
    const memBerth = engineMemory(d.proc!.pid!, await containerPidsOf((a) => d.docker(a)));
    console.log(`  ${'berthd + conmon'.padEnd(44)} ${memBerth.toFixed(1).padStart(8)} MiB`);
    const memRef = ref ? engineMemory(ref.pid!, await containerPidsOf((a) => ref!.docker(a))) : undefined;
    if (memRef !== undefined) console.log(`  ${'dockerd + containerd + shims'.padEnd(44)} ${memRef.toFixed(1).padStart(8)} MiB`);

    const names = Array.from({ length: CONCURRENT }, (_, i) => `bench-${i}`);
    await d.docker(['rm', '-f', ...names]);
    if (ref) await ref.docker(['rm', '-f', ...names]);
    await settle(engines);

    // The builder: a 10-step Dockerfile (ENV, WORKDIR, five COPYs of 1 MB, a RUN, a LABEL),
    // built cold (--no-cache) and rebuilt with every step cached, classic builder on both.
    const ctx = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
    let build: { coldBerth: Stats; cachedBerth: Stats; coldRef?: Stats; cachedRef?: Stats };
    try {
      for (let i = 1; i <= 5; i++) writeFileSync(join(ctx, `f${i}`), randomBytes(1024 * 1024));
      writeFileSync(join(ctx, 'Dockerfile'), ['FROM busybox', 'ENV APP=/app', 'WORKDIR /app', 'COPY f1 .', 'COPY f2 .', 'COPY f3 .', 'COPY f4 .', 'COPY f5 .', 'RUN cat f1 f2 f3 f4 f5 > /dev/null && echo built > marker', 'LABEL bench=build'].join('\n') + '\n');
      const buildRuns = Math.max(5, Math.floor(RUNS / 2));
      const legacy = { DOCKER_BUILDKIT: '0' };
      console.log(`\ndocker build (classic builder), 10 steps with five 1 MB COPYs`);
      const side = (label: string, env: Record<string, string>, args: string[]) => ({ label, cmd: DOCKER, args, env: { ...env, ...legacy } });
      const cold = ['build', '--no-cache', '-t', 'bench-build', ctx];
      const cached = ['build', '-t', 'bench-build', ctx];
      const [coldBerth, coldRef] = await measurePair(side('cold (--no-cache), docker CLI → berthd', berthEnv, cold), refEnv ? side('cold (--no-cache), docker CLI → reference', refEnv, cold) : undefined, buildRuns);
      const [cachedBerth, cachedRef] = await measurePair(side('all steps cached, docker CLI → berthd', berthEnv, cached), refEnv ? side('all steps cached, docker CLI → reference', refEnv, cached) : undefined, buildRuns);
      build = { coldBerth, cachedBerth, ...(coldRef ? { coldRef } : {}), ...(cachedRef ? { cachedRef } : {}) };
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }

    // Pull: a ≈200 MB 4-layer image from a reference registry on loopback,
    // through a berthd and a reference dockerd of its own, both fresh, their
    // data roots on one scratch file system (see pull.ts for why).
    console.log('');
    const pull: PullStats[] = await comparePulls();

    let statsBerth: StatsCost | undefined;
    let statsRef: StatsCost | undefined;
    if (STATS_N > 0) {
      console.log(`\nengine CPU for stats of ${STATS_N} running containers (docker stats --no-stream, then streaming for ${STATS_STREAM_S} s)`);
      const statNames = Array.from({ length: STATS_N }, (_, i) => `bstat-${i}`);
      await startIdle((a) => d.docker(a), STATS_N);
      const berthPids = await containerPidsOfNames((a) => d.docker(a), statNames);
      statsBerth = await statsCost('docker CLI → berthd (berthd + conmon)', berthEnv, () => engineProcesses(d.proc!.pid!, d.dir, berthPids));
      await d.docker(['rm', '-f', ...statNames]);
      if (ref && refEnv) {
        await startIdle((a) => ref!.docker(a), STATS_N);
        const refPids = await containerPidsOfNames((a) => ref!.docker(a), statNames);
        statsRef = await statsCost('docker CLI → dockerd (+ containerd + shims)', refEnv, () => engineProcesses(ref!.pid!, ref!.dir, refPids));
        await ref.docker(['rm', '-f', ...statNames]);
      }
    }

    console.log('\nratios (reference / berth; > 1 means berth is faster or smaller):');
    console.log(`  run --rm, docker CLI       ${ratio(viaRef?.median, viaDocker.median)}   ${Object.entries(ANCHORS).map(([a, ms]) => `${a}: ${(ms / viaDocker.median).toFixed(2)}x`).join('   ')}`);
    console.log(`  run --rm, berth CLI        ${ratio(viaRef?.median, viaBerth.median)}`);
    console.log(`  ${CONCURRENT} concurrent run -d     ${ratio(concRef, concBerth)}`);
    console.log(`  engine memory              ${ratio(memRef, memBerth)}`);
    console.log(`  build, cold                ${ratio(build.coldRef?.median, build.coldBerth.median)}`);
    console.log(`  build, all cached          ${ratio(build.cachedRef?.median, build.cachedBerth.median)}   (berth/reference ${build.cachedRef ? (build.cachedBerth.median / build.cachedRef.median).toFixed(2) : 'n/a'}; the goal is <= 0.5)`);
    console.log(`  pull, 200 MB 4 layers      ${ratio(pull[1]?.median, pull[0]!.median)}   (berth/reference ${pull[1] ? (pull[0]!.median / pull[1].median).toFixed(2) : 'n/a'}; the goal is <= 0.67)`);
    if (statsBerth) {
      console.log(`  stats --no-stream CPU      ${ratio(statsRef?.noStream, statsBerth.noStream)}`);
      console.log(`  streaming stats CPU        ${ratio(statsRef?.streamPct, statsBerth.streamPct)}`);
    }
  } finally {
    await ref?.stop();
    await d.stop();
  }
}

await main();
