import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';
import { importImage } from '../helpers/images.js';
import { definitionErrors, schemaErrors } from '../helpers/api-schema.js';

// Inspect and list as dockerd shows them: every HostConfig key with Docker's
// defaults, RestartPolicy "" when the request sets none, image VOLUMEs in
// Mounts, GraphDriver.Data with the overlay dirs, SizeRw only when asked,
// Env in dockerd's merge order; each answer checked against the Engine API
// spec's schemas (with keys the spec does not document refused).

describe('inspect and list in Docker\'s shape', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  const tag = `is${process.pid}`;
  const image = `volimg${process.pid}:latest`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    await importImage(d, image, [], ['VOLUME /data', 'ENV PATH=/bin:/usr/bin', 'ENV KEEP=img', 'ENV OVER=img']);
    docker = new Dockerode({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
  });

  it('a container created through the API without options shows dockerd\'s HostConfig defaults', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '1000'], Labels: { [tag]: '' } });
    const info = (await d.request('GET', `/containers/${c.id}/json`)).json<Record<string, any>>();
    const h = info.HostConfig;
    assert.equal(h.ShmSize, 67108864);
    assert.equal(h.IpcMode, 'private');
    assert.equal(h.CgroupnsMode, 'host', 'hybrid cgroups here: dockerd picks host');
    assert.equal(h.Runtime, 'runc');
    assert.deepEqual(h.ConsoleSize, [0, 0]);
    assert.deepEqual(h.RestartPolicy, { Name: '', MaximumRetryCount: 0 });
    assert.ok(h.MaskedPaths.includes('/proc/kcore'));
    assert.deepEqual(h.ReadonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.equal(h.PidsLimit, null);
    assert.equal(h.MemorySwappiness, null);
    assert.deepEqual(h.Dns, []);
    assert.equal(h.Binds, null);
    // dockerd 20.10 prints these keys for any container (its KernelMemory/KernelMemoryTCP are gone from v1.47).
    const dockerKeys = ['Binds', 'ContainerIDFile', 'LogConfig', 'NetworkMode', 'PortBindings', 'RestartPolicy', 'AutoRemove', 'VolumeDriver',
      'VolumesFrom', 'CapAdd', 'CapDrop', 'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd', 'IpcMode', 'Cgroup', 'Links',
      'OomScoreAdj', 'PidMode', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'UTSMode', 'UsernsMode', 'ShmSize', 'Runtime',
      'ConsoleSize', 'Isolation', 'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent', 'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps',
      'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime',
      'CpusetCpus', 'CpusetMems', 'Devices', 'DeviceCgroupRules', 'DeviceRequests', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness',
      'OomKillDisable', 'PidsLimit', 'Ulimits', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'MaskedPaths', 'ReadonlyPaths'];
    assert.deepEqual(dockerKeys.filter((k) => !(k in h)), []);
    assert.equal('SizeRw' in info, false, 'SizeRw only when asked');
    assert.deepEqual(schemaErrors('GET', '/containers/{id}/json', info), []);

    const sized = (await d.request('GET', `/containers/${c.id}/json?size=1`)).json<Record<string, any>>();
    assert.equal(typeof sized.SizeRw, 'number');
    assert.equal(typeof sized.SizeRootFs, 'number');
    assert.deepEqual(schemaErrors('GET', '/containers/{id}/json', sized), []);
    await c.remove({ force: true });
  });

  it('privileged: nothing masked, as dockerd', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], Labels: { [tag]: '' }, HostConfig: { Privileged: true } });
    const h = (await c.inspect()).HostConfig as unknown as Record<string, unknown>;
    assert.equal(h.MaskedPaths, null);
    assert.equal(h.ReadonlyPaths, null);
    await c.remove({ force: true });
  });

  it('docker run: image VOLUME in Mounts, overlay dirs in GraphDriver, Env in dockerd\'s order, docker\'s restart policy', async () => {
    const name = `insp${process.pid}`;
    const run = await d.docker(['run', '-d', '--name', name, '--label', tag, '-e', 'OVER=user', '-e', 'NEW=1', image, 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const info = JSON.parse((await d.docker(['inspect', name])).stdout)[0];
    assert.deepEqual(info.Config.Env, ['OVER=user', 'NEW=1', 'PATH=/bin:/usr/bin', 'KEEP=img']);
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 }, 'the docker CLI sends "no"');
    assert.equal(info.Mounts.length, 1);
    const m = info.Mounts[0];
    assert.equal(m.Type, 'volume');
    assert.equal(m.Destination, '/data');
    assert.equal(m.Driver, 'local');
    assert.match(m.Name, /^[0-9a-f]{64}$/);
    assert.ok(m.Source.startsWith(d.dataRoot), m.Source);
    const g = info.GraphDriver;
    assert.equal(g.Name, 'overlay2');
    assert.deepEqual(Object.keys(g.Data).sort(), ['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']);
    assert.ok(g.Data.UpperDir.startsWith(d.dataRoot) && g.Data.LowerDir.startsWith(d.dataRoot), JSON.stringify(g.Data));
    // The dirs are the real ones: a file written inside shows up in the upper dir and under the merged root.
    assert.equal((await d.docker(['exec', name, 'sh', '-c', 'echo hi > /marker'])).code, 0);
    const { readFile } = await import('node:fs/promises');
    assert.equal(await readFile(`${g.Data.UpperDir}/marker`, 'utf8'), 'hi\n');
    assert.equal(await readFile(`${g.Data.MergedDir}/marker`, 'utf8'), 'hi\n');
    assert.deepEqual(schemaErrors('GET', '/containers/{id}/json', info), []);
    const fmt = await d.docker(['inspect', '-f', '{{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}} {{json .HostConfig.RestartPolicy}}', name]);
    assert.equal(fmt.stdout, '67108864 private {"Name":"no","MaximumRetryCount":0}\n');
    const berth = JSON.parse((await d.berth(['inspect', name])).stdout)[0];
    assert.deepEqual(berth.HostConfig, info.HostConfig);
  });

  it('list answers match ContainerSummary, with and without size', async () => {
    await d.docker(['create', '--label', tag, '-v', '/anon', 'busybox']);
    for (const q of ['all=1', 'all=1&size=1']) {
      const list = (await d.request('GET', `/containers/json?${q}`)).json<unknown[]>();
      assert.ok(list.length >= 2);
      assert.deepEqual(schemaErrors('GET', '/containers/json', list), [], q);
    }
  });

  it('the converter is not blind: a wrong type and an unknown key are caught', () => {
    assert.notDeepEqual(definitionErrors('ContainerState', { Status: 'running', Pid: 'x' }), []);
    assert.notDeepEqual(definitionErrors('ContainerState', { Status: 'running', Nope: 1 }), []);
    assert.notDeepEqual(definitionErrors('ContainerState', { Status: 'sleeping' }), []);
    assert.deepEqual(definitionErrors('ContainerState', { Status: 'running', Pid: 3, Health: null }), []);
  });
});
