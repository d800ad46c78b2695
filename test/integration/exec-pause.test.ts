import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { TestDaemon, eventually } from '../helpers/daemon.js';

// exec and pause/unpause through the docker CLI, berth and dockerode against
// a real berthd: exit codes, stdio, flags, Docker's refusals, events,
// ExecIDs, the freezer.

function collect(stream: NodeJS.ReadableStream, ms = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`stream did not end within ${ms}ms; got ${JSON.stringify(Buffer.concat(chunks).toString())}`)), ms);
    stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    stream.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function demux(buf: Buffer): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  for (let off = 0; off < buf.length;) {
    assert.ok(off + 8 <= buf.length, 'whole frame header');
    const len = buf.readUInt32BE(off + 4);
    const text = buf.subarray(off + 8, off + 8 + len).toString();
    if (buf[off] === 1) stdout += text;
    else if (buf[off] === 2) stderr += text;
    else assert.fail(`stream type ${buf[off]}`);
    off += 8 + len;
  }
  return { stdout, stderr };
}

describe('exec and pause against berthd', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  let tmp: string;
  const name = `ex-${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
    tmp = await mkdtemp(join(tmpdir(), 'berth-exec-'));
    const r = await d.docker(['run', '-d', '--name', name, '-e', 'FROM_RUN=1', 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.docker(['rm', '-f', name, `${name}-stopped`]);
    await d?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('docker exec prints stdout and stderr apart and exits with the command\'s code', async () => {
    const r = await d.docker(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const ok = await d.docker(['exec', name, 'true']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('docker exec -e, --env-file, -w, -u: the environment, directory and user of the process', async () => {
    const envFile = join(tmp, 'env.list');
    await writeFile(envFile, '# comment\nFROM_FILE=f\nOVERRIDE=file\n');
    const r = await d.docker(['exec', '-e', 'A=1', '--env-file', envFile, '-e', 'OVERRIDE=flag', '-w', '/tmp', '-u', 'nobody', name,
      'sh', '-c', 'echo $A $FROM_FILE $OVERRIDE $FROM_RUN; pwd; id -u; id -g']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1 f flag 1\n/tmp\n65534\n65534\n');
    const root = await d.docker(['exec', name, 'sh', '-c', 'id -u; pwd; echo $HOME']);
    assert.equal(root.stdout, '0\n/\n/root\n');
  });

  it('docker exec -i carries stdin to the process and its EOF ends it', async () => {
    const r = await d.docker(['exec', '-i', name, 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
  });

  it('docker exec -t gives the process a terminal', async () => {
    const r = await d.docker(['exec', '-t', name, 'sh', '-c', 'tty; [ -t 1 ] && echo is-a-tty; echo $TERM']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nis-a-tty\r\nxterm\r\n$/);
  });

  it('a missing command exits 127 with the runtime\'s message; --privileged gets every capability', async () => {
    const r = await d.docker(['exec', name, 'no-such-command']);
    assert.equal(r.code, 127);
    assert.match(r.stdout + r.stderr, /OCI runtime exec failed: .*executable file not found in \$PATH/);
    const normal = await d.docker(['exec', name, 'sh', '-c', 'grep CapEff /proc/self/status']);
    const privileged = await d.docker(['exec', '--privileged', name, 'sh', '-c', 'grep CapEff /proc/self/status']);
    const capEff = (s: string) => BigInt(`0x${s.trim().split(/\s+/)[1]}`);
    assert.ok(capEff(privileged.stdout) > capEff(normal.stdout), `${privileged.stdout} vs ${normal.stdout}`);
  });

  it('docker exec -d runs in the background; ExecIDs lists it while it runs; events tell create, start and die', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await d.docker(['exec', '-d', name, 'sh', '-c', 'sleep 1; touch /tmp/detached-done']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const ids = await d.docker(['inspect', '-f', '{{json .ExecIDs}}', name]);
    assert.match(ids.stdout, /^\["[0-9a-f]{64}"\]$/m);
    await eventually(async () => (await d.docker(['exec', name, 'test', '-f', '/tmp/detached-done'])).code === 0);
    await eventually(async () => (await d.docker(['inspect', '-f', '{{json .ExecIDs}}', name])).stdout.trim() === 'null');
    const ev = await d.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--format', '{{.Action}}|{{index .Actor.Attributes "execID"}}']);
    const lines = ev.stdout.trim().split('\n');
    const detached = lines.find((l) => l.startsWith('exec_create: sh -c sleep 1; touch /tmp/detached-done|'))!;
    assert.ok(detached, ev.stdout);
    const execId = detached.split('|')[1]!;
    assert.match(execId, /^[0-9a-f]{64}$/);
    assert.ok(lines.includes(`exec_start: sh -c sleep 1; touch /tmp/detached-done|${execId}`), ev.stdout);
    assert.ok(lines.includes(`exec_die|${execId}`), ev.stdout);
  });

  it('exec into a stopped or paused container gets Docker\'s errors; pause freezes, unpause thaws', async () => {
    const created = await d.docker(['create', '--name', `${name}-stopped`, 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    const stopped = await d.docker(['exec', `${name}-stopped`, 'ls']);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /^Error response from daemon: container [0-9a-f]{64} is not running\n$/);
    const pauseStopped = await d.docker(['pause', `${name}-stopped`]);
    assert.match(pauseStopped.stderr, /Container [0-9a-f]{64} is not running/);

    const p = await d.docker(['pause', name]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, `${name}\n`);
    const ps = await d.docker(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}|{{.State}}']);
    assert.match(ps.stdout, /^Up .* \(Paused\)\|paused\n$/);
    const state = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', name]);
    assert.equal(state.stdout, 'paused true true\n');
    // The kernel's view: every process of the container is frozen.
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim());
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^State:\s+[DS]/m);
    const cgroupLine = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((l) => /:freezer:|^0::/.test(l))!;
    const freezer = cgroupLine.startsWith('0::')
      ? await readFile(`/sys/fs/cgroup${cgroupLine.slice(3)}/cgroup.freeze`, 'utf8')
      : await readFile(`/sys/fs/cgroup/freezer${cgroupLine.split(':')[2]}/freezer.state`, 'utf8');
    assert.match(freezer.trim(), /^(FROZEN|1)$/);

    const paused = await d.docker(['exec', name, 'ls']);
    assert.equal(paused.code, 1);
    assert.match(paused.stderr, /Container [0-9a-f]{64} is paused, unpause the container before exec/);
    const again = await d.docker(['pause', name]);
    assert.match(again.stderr, /Container [0-9a-f]{64} is already paused/);

    const u = await d.berth(['unpause', name]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, `${name}\n`);
    const unpaused = await d.docker(['unpause', name]);
    assert.match(unpaused.stderr, /Container [0-9a-f]{64} is not paused/);
    const after = await d.docker(['exec', name, 'echo', 'thawed']);
    assert.equal(after.stdout, 'thawed\n');
  });

  it('berth exec: same flags, same exit code, the same errors', async () => {
    const r = await d.berth(['exec', '-e', 'X=y', '-w', '/etc', name, 'sh', '-c', 'echo $X; pwd; exit 4']);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, 'y\n/etc\n');
    const i = await d.berth(['exec', '-i', name, 'cat'], { input: 'piped\n' });
    assert.equal(i.stdout, 'piped\n');
    const missing = await d.berth(['exec', 'no-such-container-here', 'ls']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such container: no-such-container-here\n');
    const tty = await d.berth(['exec', '-it', name, 'true']);
    assert.equal(tty.code, 1);
    assert.equal(tty.stderr, 'the input device is not a TTY\n');
  });

  it('dockerode: exec create, hijacked start with stdin, inspect\'s exit code; detached start; Docker\'s status codes', async () => {
    const container = docker.getContainer(name);
    const exec = await container.exec({ Cmd: ['sh', '-c', 'read x; echo got $x; echo e >&2; exit 5'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    stream.write('hello\n');
    const out = demux(await collect(stream));
    assert.deepEqual(out, { stdout: 'got hello\n', stderr: 'e\n' });
    const info = await exec.inspect();
    assert.equal(info.ExitCode, 5);
    assert.equal(info.Running, false);
    assert.equal(info.ContainerID, (await container.inspect()).Id);
    assert.deepEqual(info.ProcessConfig, { privileged: false, user: '', tty: false, entrypoint: 'sh', arguments: ['-c', 'read x; echo got $x; echo e >&2; exit 5'] });

    const tty = await container.exec({ Cmd: ['sh', '-c', 'stty size'], AttachStdout: true, Tty: true, ConsoleSize: [33, 111] });
    const raw = (await collect(await tty.start({ hijack: true, Tty: true }))).toString();
    assert.equal(raw, '33 111\r\n');

    const bg = await container.exec({ Cmd: ['sleep', '30'] });
    await bg.start({ Detach: true });
    const running = await bg.inspect();
    assert.equal(running.Running, true);
    assert.ok(running.Pid > 0);
    assert.equal(running.ExitCode, null);
    const again = await bg.start({ Detach: true }).then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(again?.statusCode, 409);
    const second = await d.request('POST', `/exec/${bg.id}/start`, { Detach: true });
    assert.equal(second.status, 409);
    assert.equal(second.json().message, `Error: Exec command ${bg.id} is already running`);
    process.kill(running.Pid, 'SIGKILL');
    await eventually(async () => (await bg.inspect()).Running === false);
    assert.equal((await bg.inspect()).ExitCode, 137);

    const gone = await docker.getExec('0'.repeat(64)).inspect().then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(gone?.statusCode, 404);
    const noCmd = await container.exec({ Cmd: [] }).then(() => undefined, (e: { statusCode?: number; json?: { message?: string } }) => e);
    assert.equal(noCmd?.statusCode, 400);
    assert.equal(noCmd?.json?.message, 'No exec command specified');
  });

  it('dockerode: pause and unpause', async () => {
    const container = docker.getContainer(name);
    await container.pause();
    assert.equal((await container.inspect()).State.Status, 'paused');
    const err = await container.pause().then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(err?.statusCode, 409);
    await container.unpause();
    assert.equal((await container.inspect()).State.Status, 'running');
  });

  it('a paused container can be stopped and removed', async () => {
    const r = await d.docker(['run', '-d', 'busybox', 'sleep', '1000']);
    const id = r.stdout.trim();
    assert.equal((await d.docker(['pause', id])).code, 0);
    const stop = await d.docker(['stop', '-t', '1', id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', id])).stdout, 'exited\n');
    assert.equal((await d.docker(['pause', id])).code, 1);
    const run2 = await d.docker(['run', '-d', 'busybox', 'sleep', '1000']);
    const id2 = run2.stdout.trim();
    assert.equal((await d.docker(['pause', id2])).code, 0);
    const rmf = await d.docker(['rm', '-f', id2]);
    assert.equal(rmf.code, 0, rmf.stderr);
    await d.docker(['rm', id]);
  });
});
