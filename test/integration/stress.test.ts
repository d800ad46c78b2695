import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { TestDaemon, leftoverMounts } from '../helpers/daemon.js';

// 50 containers created, started, exec'd into and removed at once (dockerode
// for most, the docker CLI and berth for some); afterwards nothing of them is
// left: no mount, no cgroup under the daemon's parent, no conmon or runtime
// process, no network namespace, no state or bundle file.

const N = 50;

async function cgroupChildren(parent: string): Promise<string[]> {
  const out: string[] = [];
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = await readdir(base).catch(() => [] as string[]);
    for (const dir of [join(base, parent), ...controllers.map((c) => join(base, c, parent))]) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) out.push(join(dir, e.name));
    }
  }
  return [...new Set(out)];
}

/** Processes whose command line names this test daemon's directory (conmon, runc, container shims). */
async function processesUnder(dir: string, exclude: number): Promise<string[]> {
  const out: string[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === exclude) continue;
    const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    if (cmd.includes(dir)) out.push(`${p}: ${cmd.slice(0, 160)}`);
  }
  return out;
}

/** Files under a directory tree (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

async function namespacesOf(pids: number[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of pids) {
    const ns = await import('node:fs/promises').then((f) => f.readlink(`/proc/${p}/ns/net`)).catch(() => undefined);
    if (ns) out.add(ns);
  }
  return out;
}

async function allNetNamespaces(): Promise<Set<string>> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p)).map(Number);
  return namespacesOf(pids);
}

describe(`stress: ${N} containers at once`, () => {
  let d: TestDaemon;
  let docker: Dockerode;
  const label = `stress${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
  });

  it('the probes see a running container (so that their empty answers below mean something)', async () => {
    const id = (await d.docker(['run', '-d', '--label', label, 'busybox', 'sleep', '1000'])).stdout.trim();
    assert.ok((await cgroupChildren(d.cgroupParent)).some((p) => p.includes(id)), 'its cgroup');
    assert.ok((await processesUnder(d.dir, d.proc!.pid!)).some((p) => p.includes('conmon')), 'its conmon');
    assert.ok((await filesUnder(join(d.execRoot, 'bundles'))).some((f) => f.startsWith(id)), 'its bundle');
    assert.ok((await leftoverMounts(d.dir)).some((m) => m.includes(id)), 'its rootfs mount');
    assert.equal((await d.docker(['rm', '-f', id])).code, 0);
  });

  it('create, start, exec and remove concurrently leave nothing behind', async () => {
    const dataBefore = new Set(await filesUnder(d.dataRoot));
    const seenNetns = new Set<string>();

    const one = async (i: number) => {
      const name = `${label}-${i}`;
      let id: string;
      if (i % 10 === 0) {
        // Some through the CLIs, the rest through dockerode.
        const cli = i % 20 === 0 ? d.docker.bind(d) : d.berth.bind(d);
        const r = await cli(['run', '-d', '--name', name, '--label', label, 'busybox', 'sleep', '1000']);
        assert.equal(r.code, 0, r.stderr);
        id = r.stdout.trim();
      } else {
        const c = await docker.createContainer({ Image: 'busybox', name, Cmd: ['sleep', '1000'], Labels: { [label]: '' } });
        await c.start();
        id = c.id;
      }
      const c = docker.getContainer(id);
      const pid = (await c.inspect()).State.Pid;
      for (const ns of await namespacesOf([pid])) seenNetns.add(ns);
      const exec = await c.exec({ Cmd: ['sh', '-c', `echo ${i} > /i && cat /i`], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (b: Buffer) => chunks.push(b));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const out = Buffer.concat(chunks);
      assert.equal(out.subarray(8).toString(), `${i}\n`, `exec output of ${name}`);
      assert.equal((await exec.inspect()).ExitCode, 0);
      if (i % 10 === 5) {
        const r = await d.docker(['rm', '-f', id]);
        assert.equal(r.code, 0, r.stderr);
      } else {
        await c.remove({ force: true });
      }
    };
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => one(i)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.deepEqual(failed.map((f) => String(f.reason).slice(0, 300)), []);
    assert.equal(seenNetns.size, N, 'each container had a network namespace of its own');

    assert.deepEqual(await d.docker(['ps', '-aq']).then((r) => r.stdout), '');
    // The network subsystem keeps a few ready namespaces in a pool (bind-mounted
    // under exec/network/netns); those are the only mounts left, none owned.
    const sandboxDir = join(d.execRoot, 'network', 'sandboxes');
    const sandboxes = await Promise.all((await readdir(sandboxDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'))
      .map(async (f) => JSON.parse(await readFile(join(sandboxDir, f), 'utf8')) as { owner?: string; netns: string }));
    assert.deepEqual(sandboxes.filter((s) => s.owner), [], 'no sandbox still held for a removed container');
    const poolNetns = new Set(sandboxes.map((s) => s.netns));
    const netnsRoot = join(d.execRoot, 'network', 'netns');
    assert.deepEqual((await leftoverMounts(d.dir)).filter((m) => m !== netnsRoot && !poolNetns.has(m)), [], 'no mount under the data or exec root but the ready pool');
    assert.deepEqual(await cgroupChildren(d.cgroupParent), [], 'no container cgroup under the test parent');
    assert.deepEqual(await processesUnder(d.dir, d.proc!.pid!), [], 'no conmon or runtime process of the test daemon');
    const netnsAfter = await allNetNamespaces();
    assert.deepEqual([...seenNetns].filter((ns) => netnsAfter.has(ns)), [], 'no container network namespace still held by a process');
    const netnsFiles = (await readdir(netnsRoot).catch(() => [] as string[])).map((f) => join(netnsRoot, f));
    assert.deepEqual(netnsFiles.filter((f) => !poolNetns.has(f)), [], 'no netns file but the ready pool');
    assert.deepEqual(await filesUnder(join(d.execRoot, 'bundles')), [], 'no bundle left in the exec root');
    assert.deepEqual(await filesUnder(join(d.execRoot, 'execs')), [], 'no exec state left');
    assert.deepEqual(await filesUnder(join(d.execRoot, 'exits')), [], 'no exit file left');
    const newData = (await filesUnder(d.dataRoot)).filter((f) => !dataBefore.has(f));
    assert.deepEqual(newData.filter((f) => !/^(volumes\/|events|containerd)/.test(f)), [], 'no container record, snapshot or log left in the data root');
  });
});
