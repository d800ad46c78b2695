// npm run bench: `run --rm busybox true` end to end, through berth and
// through the real docker CLI against a berthd of its own, printed as medians
// and as ratios against the anchors measured on these machines (DESIGN.md),
// and against a reference Docker engine when one answers on
// /var/run/docker.sock.
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { TestDaemon, BERTH, DOCKER } from '../test/helpers/daemon.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;
const ANCHORS = { 'reference Docker 20.10': 240, 'podman 4.3 + conmon + runc': 320, 'runc run (floor)': 16 };

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

interface Stats { min: number; median: number; max: number }

async function measure(label: string, cmd: string, args: string[], env: Record<string, string>): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await timeOnce(cmd, args, env);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeOnce(cmd, args, env));
  times.sort((a, b) => a - b);
  const s = { min: times[0]!, median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! };
  console.log(`${label.padEnd(46)} median ${s.median.toFixed(1).padStart(7)} ms   min ${s.min.toFixed(1).padStart(7)}   max ${s.max.toFixed(1).padStart(7)}   (${RUNS} runs)`);
  return s;
}

function referenceDockerAnswers(): Promise<boolean> {
  if (!existsSync('/var/run/docker.sock')) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath: '/var/run/docker.sock', path: '/_ping', timeout: 1000 }, (res) => resolve(res.statusCode === 200));
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const d = await TestDaemon.start(['--log-level', 'error']);
  try {
    await d.loadBusybox();
    console.log(`berth benchmark: run --rm busybox true (${RUNS} runs after ${WARMUP} warm-up)\n`);
    const results: Record<string, Stats> = {};
    results['docker CLI → berthd'] = await measure('docker CLI → berthd', DOCKER, ['run', '--rm', 'busybox', 'true'], { DOCKER_HOST: d.host, DOCKER_CONFIG: `${d.dir}/docker-config` });
    results['berth CLI → berthd'] = await measure('berth CLI → berthd', process.execPath, [BERTH, 'run', '--rm', 'busybox', 'true'], { BERTH_HOST: d.host });
    if (await referenceDockerAnswers()) {
      results['docker CLI → reference Docker (this host)'] = await measure('docker CLI → reference Docker (this host)', DOCKER, ['run', '--rm', 'busybox', 'true'], { DOCKER_HOST: 'unix:///var/run/docker.sock' });
    } else {
      console.log('(no reference Docker engine answers on /var/run/docker.sock: ratios use the anchors measured in DESIGN.md)');
    }
    console.log('\nratios (anchor median / berth median; > 1 means berth is faster):');
    for (const [name, s] of Object.entries(results)) {
      if (name.includes('reference')) continue;
      const parts = Object.entries(ANCHORS).map(([a, ms]) => `${a} ${(ms / s.median).toFixed(2)}x`);
      const live = results['docker CLI → reference Docker (this host)'];
      if (live) parts.unshift(`reference Docker here ${(live.median / s.median).toFixed(2)}x`);
      console.log(`  ${name.padEnd(24)} ${parts.join('   ')}`);
    }
    if (d.proc?.pid) console.log(`\nberthd resident memory after the runs: ${rssMiB(d.proc.pid).toFixed(1)} MiB`);
  } finally {
    await d.stop();
  }
}

await main();
