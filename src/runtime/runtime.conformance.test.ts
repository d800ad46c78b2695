import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, rmdir, writeFile, readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OciRuntime, availableRuntimes, launchConmon, connectStdin, findExecutable, liveConmonPid, detectCgroupLayout } from './index.js';
import { buildSpec, mergeEnv } from '../container/spec.js';

// Every OCI runtime berth can pick on this host must pass the same cases,
// run for real under conmon on a busybox rootfs.

const REPO = resolve(import.meta.dirname, '../../..');
const conmon = findExecutable('conmon')!;

async function waitForFile(path: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return readFile(path, 'utf8');
}

const runtimes = availableRuntimes();

async function rmdirIfEmpty(path: string): Promise<void> {
  await rmdir(path).catch(() => {});
}

describe('runtime choice', () => {
  it('offers at least one runtime, and never crun on a hybrid cgroup host', () => {
    assert.ok(runtimes.length > 0);
    if (detectCgroupLayout() === 'hybrid') assert.ok(!runtimes.some((r) => r.name === 'crun'));
  });
});

for (const choice of runtimes) {
  describe(`OCI runtime conformance: ${choice.name} under conmon`, () => {
    let dir: string;
    let rootfs: string;
    let runtime: OciRuntime;
    let n = 0;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `berth-rt-${choice.name}-`));
      rootfs = join(dir, 'rootfs');
      await mkdir(rootfs);
      const tar = join(dir, 'busybox.tar');
      execFileSync(join(REPO, 'scripts/busybox-rootfs.sh'), [tar]);
      execFileSync('tar', ['-C', rootfs, '-xf', tar]);
      for (const f of ['hosts', 'hostname', 'resolv.conf']) await writeFile(join(dir, f), '');
      runtime = new OciRuntime(choice.name, choice.path, join(dir, 'state'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
      // The runtime removes each container's cgroup; the parent is ours to remove.
      for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
        for (const ctl of existsSync(base) ? readdirSync(base) : []) {
          await rmdirIfEmpty(join(base, ctl, 'berth-test'));
        }
        await rmdirIfEmpty(join(base, 'berth-test'));
      }
    });

    async function launch(args: string[], opts: { stdin?: boolean } = {}) {
      const id = `conf-${process.pid}-${++n}`;
      const bundle = join(dir, id);
      await mkdir(bundle);
      const spec = buildSpec({
        id, config: { Hostname: 'conf' }, hostConfig: {}, user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, args,
        env: mergeEnv([], 'conf', false, '/root'), rootfs,
        etcFiles: { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') },
        cgroupParent: '/berth-test',
      });
      spec.root.readonly = true; // the shared rootfs must not change between cases
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      const exitDir = join(dir, 'exits');
      await mkdir(exitDir, { recursive: true });
      const logPath = join(bundle, 'ctr.log');
      const { pid } = await launchConmon({ id, name: id, bundle, runtime, conmonPath: conmon, logPath, exitDir, tty: false, openStdin: opts.stdin === true, leaveStdinOpen: false });
      return { id, bundle, pid, logPath, exitFile: join(exitDir, id) };
    }

    it('creates, starts, logs both streams and records the exit code', async () => {
      const c = await launch(['sh', '-c', 'echo out; echo err >&2; exit 9']);
      assert.ok(c.pid > 0);
      assert.equal((await runtime.state(c.id))?.status, 'created');
      await runtime.start(c.id);
      assert.equal((await waitForFile(c.exitFile)).trim(), '9');
      const log = await readFile(c.logPath, 'utf8');
      assert.match(log, /^\S+ stdout F out$/m);
      assert.match(log, /^\S+ stderr F err$/m);
      await runtime.delete(c.id, true);
      assert.equal(await runtime.state(c.id), undefined);
    });

    it('reports a missing executable as the runtime\'s error', async () => {
      await assert.rejects(launch(['definitely-not-here']), /executable file not found in \$PATH/);
    });

    it('delivers signals with kill and records 128+signal', async () => {
      const c = await launch(['sleep', '30']);
      await runtime.start(c.id);
      assert.ok(liveConmonPid(c.bundle), 'conmon is alive and recognisable');
      await runtime.kill(c.id, 'SIGKILL');
      assert.equal((await waitForFile(c.exitFile)).trim(), '137');
      await runtime.delete(c.id, true);
    });

    it('feeds stdin through conmon\'s attach socket and closes it on half-close', async () => {
      const c = await launch(['sh', '-c', 'read line; echo "got $line"; cat; echo eof'], { stdin: true });
      const sink = connectStdin(c.bundle);
      await runtime.start(c.id);
      sink.write(Buffer.from('hello\nrest\n'));
      sink.end();
      assert.equal((await waitForFile(c.exitFile)).trim(), '0');
      const lines = (await readFile(c.logPath, 'utf8')).split('\n').filter(Boolean).map((l) => l.split(' ').slice(3).join(' '));
      assert.deepEqual(lines, ['got hello', 'rest', 'eof']);
      sink.destroy();
      await runtime.delete(c.id, true);
    });
  });
}
