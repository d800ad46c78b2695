import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectCgroupSupport, cgroupInfoWarnings, type CgroupSupport } from './cgroup-support.js';
import { verifyResources, parseCpuList } from './verify.js';
import { ociResources } from './oci.js';

const full: CgroupSupport = {
  version: 1, mounts: { memory: '/sys/fs/cgroup/memory' }, memoryLimit: true, swapLimit: true, memoryReservation: true, oomKillDisable: true,
  memorySwappiness: true, kernelMemory: true, cpuShares: true, cpuCfs: true, cpuRealtime: true, cpuset: true, cpus: '0-3', mems: '0',
  pidsLimit: true, blkioWeight: true, blkioWeightDevice: true, blkioReadBps: true, blkioWriteBps: true, blkioReadIOps: true, blkioWriteIOps: true,
};
const MB = 1024 * 1024;

describe('resource verification', () => {
  it('stores what applies: swap twice the memory, unlimited pids as null, swappiness -1 as unset', () => {
    const { hostConfig, warnings } = verifyResources({ Memory: 32 * MB, PidsLimit: -1, MemorySwappiness: -1 }, full, 4);
    assert.deepEqual(warnings, []);
    assert.equal(hostConfig.MemorySwap, 64 * MB);
    assert.equal(hostConfig.PidsLimit, null);
    assert.equal(hostConfig.MemorySwappiness, null);
    assert.equal(hostConfig.OomKillDisable, false);
  });

  it('warns and drops what the host cannot do', () => {
    const none: CgroupSupport = { ...full, swapLimit: false, blkioWeight: false, pidsLimit: false, memorySwappiness: false, oomKillDisable: false };
    const { hostConfig, warnings } = verifyResources({ Memory: 32 * MB, BlkioWeight: 300, PidsLimit: 20, MemorySwappiness: 10, OomKillDisable: true, KernelMemory: 8 * MB }, none, 4);
    assert.deepEqual(warnings, [
      'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
      'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
      'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
      'Your kernel does not support OomKillDisable. OomKillDisable discarded.',
      'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
      'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
    ]);
    assert.equal(hostConfig.MemorySwap, -1);
    assert.equal(hostConfig.BlkioWeight, 0);
    assert.equal(hostConfig.PidsLimit, null);
    assert.equal(hostConfig.KernelMemory, undefined);
  });

  it('refuses wrong values with dockerd\'s messages', () => {
    const bad: Array<[object, string]> = [
      [{ Memory: 4 * MB }, 'Minimum memory limit allowed is 6MB'],
      [{ Memory: 32 * MB, MemorySwap: 16 * MB }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
      [{ MemorySwap: 16 * MB }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
      [{ MemoryReservation: 1 * MB }, 'Minimum memory reservation allowed is 6MB'],
      [{ Memory: 16 * MB, MemoryReservation: 32 * MB }, 'Minimum memory limit can not be less than memory reservation limit, see usage'],
      [{ MemorySwappiness: 101 }, 'Invalid value: 101, valid memory swappiness range is 0-100'],
      [{ NanoCpus: 5e8, CpuPeriod: 100000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
      [{ NanoCpus: 5e9 }, 'range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available'],
      [{ CpuPeriod: 500 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
      [{ CpuQuota: 500 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
      [{ CpusetCpus: '5' }, 'Requested CPUs are not available - requested 5, available: 0-3'],
      [{ CpusetCpus: 'x' }, 'Invalid value x for cpuset cpus: invalid format: x'],
      [{ CpusetMems: '1' }, 'Requested memory nodes are not available - requested 1, available: 0'],
      [{ BlkioWeight: 5 }, 'Range of blkio weight is from 10 to 1000'],
      [{ OomScoreAdj: 1001 }, 'Invalid value 1001, range for oom score adj is [-1000, 1000]'],
      [{ CpuShares: -1 }, 'invalid CPU shares (-1): value must be a positive integer'],
    ];
    for (const [h, message] of bad) assert.throws(() => verifyResources(h, full, 4), { message }, JSON.stringify(h));
  });

  it('defaults the cgroup namespace as dockerd does', () => {
    assert.equal(verifyResources({}, full, 4).hostConfig.CgroupnsMode, 'host');
    assert.equal(verifyResources({}, { ...full, version: 2 }, 4).hostConfig.CgroupnsMode, 'private');
    assert.equal(verifyResources({ Privileged: true }, { ...full, version: 2 }, 4).hostConfig.CgroupnsMode, 'private');
    assert.equal(verifyResources({ Privileged: true }, full, 4).hostConfig.CgroupnsMode, 'host');
    assert.equal(verifyResources({ CgroupnsMode: 'private' }, full, 4).hostConfig.CgroupnsMode, 'private');
    assert.throws(() => verifyResources({ CgroupnsMode: 'x' }, full, 4), { message: 'invalid cgroup namespace mode: x' });
  });

  it('parses cpu lists', () => {
    assert.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
    assert.throws(() => parseCpuList('3-1'));
  });
});

describe('OCI resources', () => {
  it('maps limits the way dockerd does', () => {
    const { hostConfig } = verifyResources({ Memory: 32 * MB, MemoryReservation: 16 * MB, NanoCpus: 5e8, CpuShares: 512, CpusetCpus: '0', PidsLimit: 20, MemorySwappiness: 10, BlkioWeight: 300 }, full, 4);
    assert.deepEqual(ociResources(hostConfig), {
      memory: { limit: 32 * MB, reservation: 16 * MB, swap: 64 * MB, swappiness: 10, disableOOMKiller: false },
      cpu: { shares: 512, cpus: '0', period: 100000, quota: 50000 },
      pids: { limit: 20 },
      blockIO: { weight: 300 },
    });
    assert.deepEqual(ociResources({}), {});
    assert.throws(() => ociResources({ BlkioDeviceReadBps: [{ Path: '/dev/berth-none', Rate: 1 }] }), { message: 'stat /dev/berth-none: no such file or directory' });
  });
});

describe('host cgroup support', () => {
  it('finds v1 controllers from mountinfo', () => {
    const info = [
      '30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
      '35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
      '36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
      '37 30 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
    ].join('\n');
    const s = detectCgroupSupport('/nonexistent-cgroup-root', info);
    assert.equal(s.version, 1);
    assert.deepEqual(s.mounts, { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', systemd: '/sys/fs/cgroup/systemd' });
    assert.equal(s.memoryLimit, true);
    assert.equal(s.pidsLimit, false);
    assert.ok(cgroupInfoWarnings({ ...full, swapLimit: false }).includes('WARNING: No swap limit support'));
  });
});
