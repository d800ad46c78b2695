import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon, REPO, runCommand, eventually } from '../helpers/daemon.js';

// Limits and confinement seen from inside containers run by the real docker
// CLI against berthd: cgroup limits in force (OOM kill, pids, cpu quota),
// Docker's default seccomp profile, capabilities, devices, and the errors and
// warnings dockerd gives for what is wrong or what the host cannot do.

const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const v1Has = (controller: string, file: string) => existsSync(join('/sys/fs/cgroup', controller, file));
const ownCaps = /^CapEff:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;

/** A device node of the host a container may be given (loop devices, else /dev/fuse, /dev/kmsg). */
function someHostDevice(): string | undefined {
  for (const p of ['/dev/loop0', '/dev/loop1', '/dev/fuse', '/dev/kmsg', '/dev/loop-control']) {
    try {
      const st = statSync(p);
      if (st.isBlockDevice() || st.isCharacterDevice()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The file of a limit inside the container (its own cgroup, without a cgroup namespace). */
function limitFile(v1Controller: string, v1File: string, v2File: string): string {
  return cgroupV2 ? `/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/${v2File}` : `/sys/fs/cgroup/${v1Controller}/${v1File}`;
}

describe('limits and confinement (docker CLI)', () => {
  let d: TestDaemon;
  let probeDir: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    // A static helper that tries the syscalls the profile refuses (busybox has no keyctl).
    probeDir = await mkdtemp(join(tmpdir(), 'berth-probe-'));
    const cc = await runCommand('gcc', ['-static', '-O1', '-o', join(probeDir, 'probe'), join(REPO, 'test/fixtures/syscall-probe.c')]);
    assert.equal(cc.code, 0, `gcc -static (scripts/setup.sh installs gcc and libc6-dev): ${cc.stderr}`);
  });
  after(async () => {
    await d?.stop();
    if (probeDir) await rm(probeDir, { recursive: true, force: true });
  });

  it('past --memory 32m a process is OOM-killed: exit 137, State.OOMKilled, an oom event', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const name = `oom-${process.pid}`;
    try {
      // tail keeps the whole (newline-free) input as its last line: it grows until the limit.
      const r = await d.docker(['run', '--name', name, '--memory', '32m', 'busybox', 'tail', '/dev/zero']);
      assert.equal(r.code, 137, r.stderr);
      const state = await d.docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}', name]);
      assert.equal(state.stdout.trim(), 'true 137 33554432');
      const until = Math.floor(Date.now() / 1000) + 1;
      const ev = await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', `container=${name}`, '--format', '{{.Action}}']);
      assert.equal(ev.code, 0, ev.stderr);
      const actions = ev.stdout.trim().split('\n');
      assert.ok(actions.includes('oom'), `events: ${actions.join(',')}`);
      assert.ok(actions.indexOf('oom') < actions.indexOf('die'), 'oom comes before die');
      // A second run is killed the same way and says so again.
      await d.docker(['start', name]);
      await d.docker(['wait', name]);
      assert.equal((await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', name])).stdout.trim(), 'true', 'killed again');
    } finally {
      await d.docker(['rm', '-f', name]);
    }

    // A child killed while the main process lives on: still OOMKilled (dockerd marks any OOM kill).
    const child = `oom-child-${process.pid}`;
    try {
      const r = await d.docker(['run', '--name', child, '--memory', '32m', 'busybox', 'sh', '-c', 'head -c 100m /dev/zero | tail; echo status=$?']);
      // Which process the kernel picks is its choice; the allocating one usually.
      if (r.code === 0) assert.equal(r.stdout.trim(), 'status=137');
      assert.equal((await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', child])).stdout.trim(), 'true');
    } finally {
      await d.docker(['rm', '-f', child]);
    }

    // The oom event comes when the kill happens, while the container still runs (tail made the kernel's first pick).
    const live = `oom-live-${process.pid}`;
    try {
      const run = await d.docker(['run', '-d', '--name', live, '--memory', '32m', 'busybox', 'sh', '-c', 'head -c 100m /dev/zero | (echo 1000 >/proc/self/oom_score_adj; exec tail); sleep 60']);
      assert.equal(run.code, 0, run.stderr);
      await eventually(async () => (await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', live])).stdout.trim() === 'true', 15_000);
      assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', live])).stdout.trim(), 'true');
    } finally {
      await d.docker(['rm', '-f', live]);
    }

    // The same allocation without a limit is not killed.
    const free = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'head -c 100m /dev/zero | tail | wc -c']);
    assert.equal(free.code, 0, free.stderr);
    assert.equal(free.stdout.trim(), String(100 * 1024 * 1024));
    const ok = await d.docker(['run', '--name', child, 'busybox', 'true']);
    assert.equal(ok.code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', child])).stdout.trim(), 'false');
    await d.docker(['rm', child]);
  });

  it('--memory, --memory-reservation, --memory-swap and --oom-score-adj are in force', async () => {
    const files = [
      limitFile('memory', 'memory.limit_in_bytes', 'memory.max'),
      limitFile('memory', 'memory.soft_limit_in_bytes', 'memory.low'),
    ];
    const r = await d.docker(['run', '--rm', '--memory', '48m', '--memory-reservation', '16m', '--oom-score-adj', '300', 'busybox', 'sh', '-c', `cat ${files.join(' ')} /proc/self/oom_score_adj`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [String(48 << 20), String(16 << 20), '300']);
    if (!cgroupV2 && v1Has('memory', 'memory.memsw.limit_in_bytes')) {
      // Docker's default: as much swap again as memory (memory+swap = twice the limit).
      const swap = await d.docker(['run', '--rm', '--memory', '48m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes']);
      assert.equal(swap.stdout.trim(), String(96 << 20));
      const set = await d.docker(['run', '--rm', '--memory', '48m', '--memory-swap', '64m', '--memory-swappiness', '10', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes', '/sys/fs/cgroup/memory/memory.swappiness']);
      assert.deepEqual(set.stdout.trim().split('\n'), [String(64 << 20), '10']);
      const noKill = await d.docker(['run', '--rm', '--memory', '48m', '--oom-kill-disable', 'busybox', 'grep', 'oom_kill_disable', '/sys/fs/cgroup/memory/memory.oom_control']);
      assert.equal(noKill.stdout.trim(), 'oom_kill_disable 1');
    }
  });

  it('--pids-limit 20 stops a fork loop and pids.max reads 20', async () => {
    const max = await d.docker(['run', '--rm', '--pids-limit', '20', 'busybox', 'cat', limitFile('pids', 'pids.max', 'pids.max')]);
    assert.equal(max.code, 0, max.stderr);
    assert.equal(max.stdout.trim(), '20');
    const loop = 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo all-forked';
    const limited = await d.docker(['run', '--rm', '--pids-limit', '20', 'busybox', 'sh', '-c', loop]);
    assert.notEqual(limited.code, 0);
    assert.match(limited.stderr, /can't fork: Resource temporarily unavailable/);
    assert.doesNotMatch(limited.stdout, /all-forked/);
    const unlimited = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', loop.replace('sleep 30', 'sleep 1')]);
    assert.equal(unlimited.code, 0, unlimited.stderr);
    assert.equal(unlimited.stdout.trim(), 'all-forked');
  });

  it('--cpus 0.5 puts a 50 ms quota per 100 ms period in the cgroup; cpu shares and cpuset too', async () => {
    if (cgroupV2) {
      const r = await d.docker(['run', '--rm', '--cpus', '0.5', 'busybox', 'sh', '-c', `cat ${limitFile('cpu', '', 'cpu.max')}`]);
      assert.equal(r.stdout.trim(), '50000 100000');
      return;
    }
    const r = await d.docker(['run', '--rm', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', 'busybox', 'cat',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us', '/sys/fs/cgroup/cpu/cpu.shares', '/sys/fs/cgroup/cpuset/cpuset.cpus']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['50000', '100000', '512', '0']);
    const raw = await d.docker(['run', '--rm', '--cpu-period', '50000', '--cpu-quota', '25000', 'busybox', 'cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us']);
    assert.deepEqual(raw.stdout.trim().split('\n'), ['25000', '50000']);
    const inspect = await d.docker(['run', '-d', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'true']);
    const id = inspect.stdout.trim();
    assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', id])).stdout.trim(), '500000000 20');
    await d.docker(['rm', '-f', id]);
  });

  it('the berth CLI sends the limits as the docker CLI does', async () => {
    const files = cgroupV2
      ? [limitFile('memory', '', 'memory.max'), limitFile('pids', '', 'pids.max'), limitFile('cpu', '', 'cpu.max')]
      : ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'];
    const r = await d.berth(['run', '--rm', '--memory', '32m', '--pids-limit', '20', '--cpus', '0.5', '--kernel-memory', '8m', '--security-opt', 'no-new-privileges',
      '--cap-drop', 'ALL', 'busybox', 'sh', '-c', `cat ${files.join(' ')}; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status`]);
    assert.equal(r.code, 0, r.stderr);
    const quota = cgroupV2 ? '50000 100000' : '50000';
    assert.equal(r.stdout.replace(/\t/g, ' '), `${32 << 20}\n20\n${quota}\nCapEff: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n`);
    assert.equal(r.stderr, 'WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.\n');
    const bad = await d.berth(['run', '--rm', '--cap-add', 'BOGUS', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid CapAdd: unknown capability: "CAP_BOGUS"/);
  });

  it('block I/O throttles name the device by its major:minor', async () => {
    const dev = ['/dev/loop0', '/dev/loop1'].find((p) => existsSync(p) && statSync(p).isBlockDevice());
    assert.ok(dev, 'a block device to throttle');
    const rdev = statSync(dev).rdev;
    const mm = `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & ~0xff)}`;
    const files = cgroupV2 ? [limitFile('', '', 'io.max')] : ['/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device', '/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device'];
    const r = await d.docker(['run', '--rm', '--device-read-bps', `${dev}:1mb`, '--device-write-iops', `${dev}:100`, 'busybox', 'sh', '-c', `cat ${files.join(' ')}`]);
    assert.equal(r.code, 0, r.stderr);
    if (cgroupV2) assert.match(r.stdout, new RegExp(`^${mm} rbps=1048576 wbps=max riops=max wiops=100$`, 'm'));
    else assert.equal(r.stdout, `${mm} 1048576\n${mm} 100\n`);
    const missing = await d.docker(['run', '--rm', '--device-read-bps', '/dev/berth-no-such-disk:1mb', 'busybox', 'true']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error response from daemon: stat \/dev\/berth-no-such-disk: no such file or directory/);
  });

  it('limits the host cannot apply are warned about; wrong limits are refused with dockerd\'s words', async () => {
    const blkio = await d.docker(['run', '--rm', '--blkio-weight', '300', 'busybox', 'true']);
    assert.equal(blkio.code, 0, blkio.stderr);
    const weightSupported = cgroupV2 ? readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('io') : v1Has('blkio', 'blkio.weight');
    if (weightSupported) assert.doesNotMatch(blkio.stderr, /Weight discarded/);
    else assert.match(blkio.stderr, /WARNING: Your kernel does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\./);

    // Kernel memory limits are gone from the API (v1.42) and from Linux: never applied, and said so.
    const kmem = await d.request('POST', '/v1.47/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { KernelMemory: 64 << 20 } });
    assert.equal(kmem.status, 201, kmem.body);
    assert.deepEqual(kmem.json().Warnings, ['Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.']);
    await d.request('DELETE', `/containers/${kmem.json().Id}?force=1`);

    const small = await d.docker(['run', '--rm', '--memory', '4m', 'busybox', 'true']);
    assert.equal(small.code, 125);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    const swap = await d.docker(['run', '--rm', '--memory', '32m', '--memory-swap', '16m', 'busybox', 'true']);
    assert.equal(swap.code, 125);
    assert.match(swap.stderr, /Minimum memoryswap limit should be larger than memory limit, see usage/);
    const n = cpus().length;
    const tooMany = await d.docker(['run', '--rm', '--cpus', String(n + 1), 'busybox', 'true']);
    assert.equal(tooMany.code, 125);
    assert.match(tooMany.stderr, new RegExp(`range of CPUs is from 0\\.01 to ${n}\\.00, as there are only ${n} CPUs available`));
    const both = await d.docker(['run', '--rm', '--cpus', '0.5', '--cpu-quota', '20000', 'busybox', 'true']);
    assert.match(both.stderr, /Conflicting options: Nano CPUs and CPU Quota cannot both be set/);
    const cpuset = await d.docker(['run', '--rm', '--cpuset-cpus', '64-65', 'busybox', 'true']);
    assert.equal(cpuset.code, 125);
    assert.match(cpuset.stderr, /Requested CPUs are not available - requested 64-65, available: /);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', 'refused containers are not created');
  });

  it('applies Docker\'s default seccomp profile; seccomp=unconfined and --privileged run without it', async () => {
    const status = (args: string[]) => d.docker(['run', '--rm', ...args, 'busybox', 'sh', '-c', 'grep "^Seccomp:" /proc/self/status']);
    assert.match((await status([])).stdout, /^Seccomp:\s+2$/m);
    assert.match((await status(['--security-opt', 'seccomp=unconfined'])).stdout, /^Seccomp:\s+0$/m);
    assert.match((await status(['--privileged'])).stdout, /^Seccomp:\s+0$/m);
    assert.match((await status(['--security-opt', 'seccomp=builtin'])).stdout, /^Seccomp:\s+2$/m);
  });

  it('refuses unshare, then mount, keyctl and add_key by default; CAP_SYS_ADMIN opens the namespace calls', async () => {
    const userns = await d.docker(['run', '--rm', 'busybox', 'unshare', '-U', '-r', '-m', 'sh', '-c', 'mount -t tmpfs none /tmp && echo mounted']);
    assert.notEqual(userns.code, 0);
    assert.match(userns.stderr, /unshare\(0x10020000\): Operation not permitted/);
    assert.doesNotMatch(userns.stdout, /mounted/);

    const probe = await d.docker(['run', '--rm', '-v', `${probeDir}:/probe:ro`, 'busybox', '/probe/probe']);
    assert.equal(probe.code, 0, probe.stderr);
    assert.equal(probe.stdout, 'add_key EPERM\nkeyctl EPERM\nrequest_key EPERM\nclone3 ENOSYS\nunshare_user EPERM\n');

    // Without the profile the same calls reach the kernel.
    const open = await d.docker(['run', '--rm', '--security-opt', 'seccomp=unconfined', '-v', `${probeDir}:/probe:ro`, 'busybox', '/probe/probe']);
    assert.match(open.stdout, /^clone3 (EINVAL|EFAULT)$/m);
    assert.match(open.stdout, /^keyctl (ok|\w+)$/m);
    assert.doesNotMatch(open.stdout, /^keyctl EPERM$/m);

    // The profile's capability rules: with CAP_SYS_ADMIN, mount namespaces and mounts are allowed.
    const admin = await d.docker(['run', '--rm', '--cap-add', 'SYS_ADMIN', 'busybox', 'unshare', '-m', 'sh', '-c', 'mount -t tmpfs none /tmp && echo mounted']);
    assert.equal(admin.code, 0, admin.stderr);
    assert.equal(admin.stdout.trim(), 'mounted');
  });

  it('honours a profile file (sent by the CLI as JSON) and shows it in inspect as dockerd does', async () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const file = join(d.dir, 'no-mkdir.json');
    await writeFile(file, JSON.stringify(profile, null, 2));
    const r = await d.docker(['run', '--name', `prof-${process.pid}`, '--security-opt', `seccomp=${file}`, 'busybox', 'sh', '-c', 'grep "^Seccomp:" /proc/self/status; mkdir /x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stderr, /mkdir: can't create directory '\/x': Operation not permitted/);
    const opt = await d.docker(['inspect', '-f', '{{json .HostConfig.SecurityOpt}}', `prof-${process.pid}`]);
    assert.deepEqual(JSON.parse(opt.stdout), [`seccomp=${JSON.stringify(profile)}`]);
    await d.docker(['rm', `prof-${process.pid}`]);

    const bad = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { SecurityOpt: ['seccomp={not json'] } });
    assert.equal(bad.status, 201, 'dockerd reads the profile at start');
    const start = await d.docker(['start', bad.json().Id]);
    assert.notEqual(start.code, 0);
    assert.match(start.stderr, /Decoding seccomp profile failed/);
    await d.docker(['rm', bad.json().Id]);
  });

  it('no-new-privileges, and bad --security-opt values refused with dockerd\'s message (exit 125)', async () => {
    const nnp = (opt: string[]) => d.docker(['run', '--rm', ...opt, 'busybox', 'sh', '-c', 'grep "^NoNewPrivs:" /proc/self/status']);
    assert.match((await nnp([])).stdout, /NoNewPrivs:\s+0/);
    assert.match((await nnp(['--security-opt', 'no-new-privileges'])).stdout, /NoNewPrivs:\s+1/);
    assert.match((await nnp(['--security-opt', 'no-new-privileges=true'])).stdout, /NoNewPrivs:\s+1/);
    assert.match((await nnp(['--security-opt', 'no-new-privileges:false'])).stdout, /NoNewPrivs:\s+0/);

    const bogus = await d.docker(['run', '--rm', '--security-opt', 'bogus=1', 'busybox', 'true']);
    assert.equal(bogus.code, 125);
    assert.match(bogus.stderr, /Error response from daemon: invalid --security-opt 2: "bogus=1"/);
    const maybe = await d.docker(['run', '--rm', '--security-opt', 'no-new-privileges=maybe', 'busybox', 'true']);
    assert.equal(maybe.code, 125);
    assert.match(maybe.stderr, /invalid --security-opt 2: "no-new-privileges=maybe"/);
    const raw = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { SecurityOpt: ['nonsense'] } });
    assert.equal(raw.status, 400);
    assert.equal(raw.json().message, 'invalid --security-opt 1: "nonsense"');
    // Without AppArmor or SELinux on the host, dockerd accepts and ignores their options.
    if (!existsSync('/sys/kernel/security/apparmor') && !existsSync('/sys/fs/selinux/enforce')) {
      const lsm = await d.docker(['run', '--rm', '--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable', 'busybox', 'true']);
      assert.equal(lsm.code, 0, lsm.stderr);
    }
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
  });

  it('--cap-add/--cap-drop with names validated (with or without CAP_, ALL)', async () => {
    const capEff = async (args: string[]) => {
      const r = await d.docker(['run', '--rm', ...args, 'busybox', 'sh', '-c', 'grep "^CapEff:" /proc/self/status']);
      assert.equal(r.code, 0, r.stderr);
      return /CapEff:\s+(\S+)/.exec(r.stdout)![1];
    };
    assert.equal(await capEff([]), '00000000a80425fb', "Docker's default set");
    assert.equal(await capEff(['--cap-drop', 'ALL', '--cap-add', 'net_admin']), '0000000000001000');
    assert.equal(await capEff(['--cap-drop', 'all', '--cap-add', 'CAP_CHOWN', '--cap-add', 'kill']), '0000000000000021');
    assert.equal(await capEff(['--cap-drop', 'CHOWN']), '00000000a80425fa');
    assert.equal(await capEff(['--cap-add', 'ALL']), ownCaps, 'ALL is every capability the daemon has');

    const bogus = await d.docker(['run', '--rm', '--cap-add', 'BOGUS', 'busybox', 'true']);
    assert.equal(bogus.code, 125);
    assert.match(bogus.stderr, /Error response from daemon: invalid CapAdd: unknown capability: "CAP_BOGUS"/);
    const drop = await d.docker(['run', '--rm', '--cap-drop', 'cap_nope', 'busybox', 'true']);
    assert.equal(drop.code, 125);
    assert.match(drop.stderr, /invalid CapDrop: unknown capability: "CAP_NOPE"/);
    // A capability this daemon does not hold itself cannot be given (here: CAP_SYS_RESOURCE, when bounded away).
    const mask = BigInt(`0x${ownCaps}`);
    if (!((mask >> 24n) & 1n)) {
      const missing = await d.docker(['run', '--rm', '--cap-add', 'SYS_RESOURCE', 'busybox', 'true']);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /invalid CapAdd: capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"/);
    } else {
      assert.equal(((BigInt(`0x${await capEff(['--cap-add', 'SYS_RESOURCE'])}`) >> 24n) & 1n), 1n);
    }
  });

  it('--privileged: every capability the daemon has, the host\'s devices, no masks, writable /sys', async () => {
    const r = await d.docker(['run', '--rm', '--privileged', 'busybox', 'sh', '-c',
      'grep "^CapEff:" /proc/self/status; mount | grep " on /sys type sysfs"; ls -1 /dev']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^CapEff:\\s+${ownCaps}$`, 'm'));
    assert.match(r.stdout, /on \/sys type sysfs \(rw,/);
    const inContainer = new Set(r.stdout.split('\n'));
    const hostDevs = readdirSync('/dev', { withFileTypes: true })
      .filter((e) => (e.isCharacterDevice() || e.isBlockDevice()) && e.name !== 'console')
      .map((e) => e.name);
    const missing = hostDevs.filter((n) => !inContainer.has(n));
    assert.deepEqual(missing, [], 'every host device node is in the privileged container');
    const plain = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'ls -1 /dev; mount | grep " on /sys type sysfs"']);
    assert.match(plain.stdout, /on \/sys type sysfs \(ro,/);
    const dev = someHostDevice();
    if (dev) assert.doesNotMatch(plain.stdout, new RegExp(`^${dev.slice(5)}$`, 'm'), 'an unprivileged container has no host devices');
  });

  it('--device creates the node with its cgroup rule; a missing device gets dockerd\'s error', async () => {
    const dev = someHostDevice();
    assert.ok(dev, 'a host device to pass in');
    const st = statSync(dev);
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff);
    const kind = st.isBlockDevice() ? 'block special file' : 'character special file';
    const r = await d.docker(['run', '--rm', '--device', `${dev}:/dev/mydev:r`, 'busybox', 'sh', '-c',
      'stat -c "%F %t:%T" /dev/mydev; head -c 0 /dev/mydev && echo read-ok; echo x > /dev/mydev || echo write-refused']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${kind} ${major.toString(16)}:${minor.toString(16)}\nread-ok\nwrite-refused\n`);
    assert.match(r.stderr, /can't create \/dev\/mydev: Operation not permitted/, 'r only: the device cgroup refuses the write');
    const same = await d.docker(['run', '--rm', '--device', dev, 'busybox', 'ls', dev]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout.trim(), dev);

    // Without --device the node is refused by the device cgroup even when made by hand.
    const type = st.isBlockDevice() ? 'b' : 'c';
    const mknod = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', `mknod /tmp/n ${type} ${major} ${minor} && head -c 0 /tmp/n`]);
    assert.notEqual(mknod.code, 0);
    const rule = await d.docker(['run', '--rm', '--device-cgroup-rule', `${type} ${major}:* r`, 'busybox', 'sh', '-c', `mknod /tmp/n ${type} ${major} ${minor} && head -c 0 /tmp/n && echo allowed`]);
    assert.equal(rule.code, 0, rule.stderr);
    assert.equal(rule.stdout.trim(), 'allowed');

    // As with dockerd, the device is looked up at start; the CLI reads "no such file or directory" as exit 127.
    const missing = await d.docker(['run', '--rm', '--device', '/dev/berth-no-such-device', 'busybox', 'true']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Error response from daemon: error gathering device information while adding custom device "\/dev\/berth-no-such-device": no such file or directory/);
    const notDev = await d.docker(['run', '--rm', '--device', '/etc/hostname', 'busybox', 'true']);
    assert.match(notDev.stderr, /error gathering device information while adding custom device "\/etc\/hostname": not a device node/);
    const badRule = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { DeviceCgroupRules: ['x 1:2 rwm'] } });
    const started = await d.request('POST', `/containers/${badRule.json().Id}/start`);
    assert.notEqual(started.status, 204);
    assert.match(started.json().message, /invalid device cgroup rule format: 'x 1:2 rwm'/);
    await d.request('DELETE', `/containers/${badRule.json().Id}?force=1`);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', '--rm containers that failed to start are gone');
  });

  it('cgroup namespaces: the host\'s by default on cgroup v1, private on v2 or when asked', async () => {
    const own = await d.docker(['run', '--rm', '--cgroupns', 'private', 'busybox', 'cat', '/proc/self/cgroup']);
    assert.equal(own.code, 0, own.stderr);
    assert.ok(own.stdout.trim().split('\n').every((l) => l.endsWith(':/')), own.stdout);
    const dflt = await d.docker(['run', '-d', 'busybox', 'cat', '/proc/self/cgroup']);
    const id = dflt.stdout.trim();
    await d.docker(['wait', id]);
    const seen = (await d.docker(['logs', id])).stdout;
    assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.CgroupnsMode}}', id])).stdout.trim(), cgroupV2 ? 'private' : 'host');
    if (cgroupV2) assert.match(seen, /^0::\/$/m);
    else assert.ok(seen.includes(id), 'the host namespace shows the container\'s cgroup path');
    await d.docker(['rm', id]);
    const bad = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { CgroupnsMode: 'shared' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().message, 'invalid cgroup namespace mode: shared');
  });

  it('info lists the seccomp profile and what the cgroups can limit', async () => {
    const info = await d.request('GET', '/info');
    const body = info.json();
    assert.deepEqual(body.SecurityOptions, cgroupV2 ? ['name=seccomp,profile=builtin', 'name=cgroupns'] : ['name=seccomp,profile=builtin']);
    assert.equal(body.PidsLimit, true);
    assert.equal(body.MemoryLimit, true);
    assert.equal(body.CpuCfsQuota, true);
    if (!cgroupV2) assert.equal(body.SwapLimit, v1Has('memory', 'memory.memsw.limit_in_bytes'));
    const cli = await d.docker(['info', '--format', '{{json .SecurityOptions}}']);
    assert.equal(cli.stdout.trim(), JSON.stringify(body.SecurityOptions));
    const text = await d.docker(['info']);
    assert.match(text.stdout, /Security Options:\n\s+seccomp\n\s+Profile: builtin/);
  });
});
