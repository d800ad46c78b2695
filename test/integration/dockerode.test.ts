import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';

// berthd driven through the npm dockerode client, the way Node programs and
// testcontainers talk to Docker: its URL and body building, its status-code
// tables, its hijacked attach and its stream demultiplexer.

/** A dockerode rejection: the modem puts the HTTP status and the parsed body on the Error. */
interface ModemError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

async function rejection(p: Promise<unknown>): Promise<ModemError> {
  try {
    await p;
  } catch (err) {
    return err as ModemError;
  }
  assert.fail('expected the call to reject');
}

/** Reads a stream to its end (or fails after `ms`, so a stream that never ends shows as a failure, not a hang). */
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

/** Parses Docker's multiplexed framing (8-byte headers), checking each header is well formed. */
function parseFrames(buf: Buffer): Array<{ stream: number; text: string }> {
  const frames: Array<{ stream: number; text: string }> = [];
  let off = 0;
  while (off < buf.length) {
    assert.ok(off + 8 <= buf.length, `truncated frame header at ${off} of ${buf.length}`);
    const stream = buf[off]!;
    assert.ok(stream === 1 || stream === 2, `stream type ${stream} at ${off}`);
    assert.deepEqual([...buf.subarray(off + 1, off + 4)], [0, 0, 0], 'header padding is zero');
    const len = buf.readUInt32BE(off + 4);
    assert.ok(off + 8 + len <= buf.length, `frame at ${off} claims ${len} bytes past the end`);
    frames.push({ stream, text: buf.subarray(off + 8, off + 8 + len).toString('utf8') });
    off += 8 + len;
  }
  return frames;
}

function joined(frames: Array<{ stream: number; text: string }>, stream: number): string {
  return frames.filter((f) => f.stream === stream).map((f) => f.text).join('');
}

describe('dockerode against berthd', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
  });

  /** Force-removes containers a test made, whatever state they are in (already gone is fine). */
  async function cleanup(...ids: Array<string | undefined>): Promise<void> {
    for (const id of ids) {
      if (!id) continue;
      try {
        await docker.getContainer(id).remove({ force: true });
      } catch (err) {
        if ((err as ModemError).statusCode !== 404) throw err;
      }
    }
  }

  it('pings, and reports version and info', async () => {
    const pong = await docker.ping();
    assert.equal(Buffer.isBuffer(pong) ? pong.toString() : String(pong), 'OK');
    const v = await docker.version();
    assert.equal(v.ApiVersion, '1.47');
    assert.equal(v.MinAPIVersion, '1.24');
    assert.equal(v.Os, 'linux');
    assert.equal(typeof v.Version, 'string');
    assert.ok(v.Version.length > 0);
    const info = await docker.info();
    assert.equal(info.OSType, 'linux');
    assert.equal(info.DockerRootDir, d.dataRoot);
    assert.ok(Number.isInteger(info.Containers));
    assert.ok(info.Images >= 1, `Images ${info.Images}`);
  });

  it('lists, inspects, tags and untags images', async () => {
    const images = await docker.listImages();
    const busybox = images.find((i) => i.RepoTags?.includes('busybox:latest'));
    assert.ok(busybox, `busybox:latest in ${JSON.stringify(images.map((i) => i.RepoTags))}`);
    assert.match(busybox.Id, /^sha256:[0-9a-f]{64}$/);

    const inspected = await docker.getImage('busybox').inspect();
    assert.equal(inspected.Id, busybox.Id);
    assert.ok(inspected.RepoTags.includes('busybox:latest'));
    assert.deepEqual(inspected.Config.Cmd, ['sh']);
    assert.equal(inspected.Os, 'linux');

    try {
      await docker.getImage('busybox').tag({ repo: 'dockerode/tagged', tag: 'v1' });
      const tagged = await docker.getImage('dockerode/tagged:v1').inspect();
      assert.equal(tagged.Id, busybox.Id);
      const filtered = await docker.listImages({ filters: { reference: ['dockerode/tagged'] } });
      assert.equal(filtered.length, 1);
      // As dockerd, a reference filter keeps only the matching tags in RepoTags.
      assert.deepEqual(filtered[0]!.RepoTags, ['dockerode/tagged:v1']);
      assert.equal(filtered[0]!.Id, busybox.Id);

      const removed = await docker.getImage('dockerode/tagged:v1').remove();
      assert.deepEqual(removed, [{ Untagged: 'dockerode/tagged:v1' }]);
      const gone = await rejection(docker.getImage('dockerode/tagged:v1').inspect());
      assert.equal(gone.statusCode, 404);
      assert.equal((await docker.getImage('busybox').inspect()).Id, busybox.Id, 'untagging left busybox in place');
    } finally {
      await docker.getImage('dockerode/tagged:v1').remove().catch(() => {});
    }
  });

  it('creates, attaches before start, demultiplexes stdout from stderr, waits and reads logs', async () => {
    let id: string | undefined;
    try {
      const container = await docker.createContainer({
        name: 'dockerode-life',
        Image: 'busybox',
        Cmd: ['sh', '-c', 'echo "out $GREETING"; echo "err $GREETING" >&2; exit 3'],
        Env: ['GREETING=hi-from-env'],
        Labels: { x: 'y', suite: 'dockerode' },
      });
      id = container.id;
      assert.match(id, /^[0-9a-f]{64}$/);

      const created = await container.inspect();
      assert.equal(created.State.Status, 'created');
      assert.equal(created.State.Running, false);
      assert.equal(created.Name, '/dockerode-life');
      assert.ok(created.Config.Env.includes('GREETING=hi-from-env'), JSON.stringify(created.Config.Env));
      assert.deepEqual(created.Config.Labels, { x: 'y', suite: 'dockerode' });
      assert.equal(created.Config.Image, 'busybox');

      const stream = await container.attach({ stream: true, stdout: true, stderr: true, hijack: true });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      const outText: Buffer[] = [];
      const errText: Buffer[] = [];
      stdout.on('data', (c: Buffer) => outText.push(c));
      stderr.on('data', (c: Buffer) => errText.push(c));
      const ended = collect(stream);

      await container.start();
      const waited = await container.wait();
      assert.equal(waited.StatusCode, 3);
      await ended;
      assert.equal(Buffer.concat(outText).toString(), 'out hi-from-env\n');
      assert.equal(Buffer.concat(errText).toString(), 'err hi-from-env\n');

      const exited = await container.inspect();
      assert.equal(exited.State.Status, 'exited');
      assert.equal(exited.State.ExitCode, 3);

      const logs = await container.logs({ stdout: true, stderr: true });
      assert.ok(Buffer.isBuffer(logs), `logs without follow come back as a Buffer, got ${typeof logs}`);
      const frames = parseFrames(logs);
      assert.equal(joined(frames, 1), 'out hi-from-env\n');
      assert.equal(joined(frames, 2), 'err hi-from-env\n');
      const onlyOut = parseFrames(await container.logs({ stdout: true }));
      assert.deepEqual(onlyOut, [{ stream: 1, text: 'out hi-from-env\n' }]);
    } finally {
      await cleanup(id);
    }
  });

  it('follows logs as a stream that ends when the container exits', async () => {
    let id: string | undefined;
    try {
      const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo first; sleep 1; echo second >&2; sleep 1; echo third'] });
      id = container.id;
      await container.start();
      const stream = await container.logs({ follow: true, stdout: true, stderr: true });
      assert.equal(typeof stream.pipe, 'function', 'follow gives a stream');
      const started = Date.now();
      const raw = await collect(stream);
      const frames = parseFrames(raw);
      assert.equal(joined(frames, 1), 'first\nthird\n');
      assert.equal(joined(frames, 2), 'second\n');
      assert.ok(Date.now() - started >= 1000, 'the stream stayed open while the container ran');
      assert.equal((await container.inspect()).State.Status, 'exited');

      // Following a container that has already exited gives its logs and ends at once.
      const again = parseFrames(await collect(await container.logs({ follow: true, stdout: true, stderr: false })));
      assert.deepEqual(again, [{ stream: 1, text: 'first\n' }, { stream: 1, text: 'third\n' }]);
    } finally {
      await cleanup(id);
    }
  });

  it('filters listContainers by label', async () => {
    const ids: string[] = [];
    try {
      ids.push((await docker.createContainer({ name: 'dockerode-lbl-a', Image: 'busybox', Cmd: ['true'], Labels: { x: 'y' } })).id);
      ids.push((await docker.createContainer({ name: 'dockerode-lbl-b', Image: 'busybox', Cmd: ['true'], Labels: { x: 'z' } })).id);
      const running = await docker.listContainers({ filters: { label: ['x=y'] } });
      assert.deepEqual(running, [], 'without all, created containers are not listed');
      const list = await docker.listContainers({ all: true, filters: { label: ['x=y'] } });
      assert.equal(list.length, 1);
      assert.equal(list[0]!.Id, ids[0]);
      assert.deepEqual(list[0]!.Names, ['/dockerode-lbl-a']);
      assert.equal(list[0]!.State, 'created');
      assert.equal(list[0]!.Labels.x, 'y');
      assert.equal(list[0]!.Image, 'busybox');
      const both = await docker.listContainers({ all: true, filters: { label: ['x'] } });
      assert.deepEqual(both.map((c) => c.Names[0]).sort(), ['/dockerode-lbl-a', '/dockerode-lbl-b']);
    } finally {
      await cleanup(...ids);
    }
  });

  it('stops, restarts, kills, renames and force-removes', async () => {
    let id: string | undefined;
    try {
      const container = await docker.createContainer({ name: 'dockerode-ops', Image: 'busybox', Cmd: ['sleep', '300'] });
      id = container.id;
      await container.start();
      const running = await container.inspect();
      assert.equal(running.State.Status, 'running');
      assert.ok(running.State.Pid > 0);

      await container.stop({ t: 1 });
      const stopped = await container.inspect();
      assert.equal(stopped.State.Status, 'exited');
      assert.equal(stopped.State.ExitCode, 137, 'sleep as PID 1 ignores SIGTERM, so stop escalates to SIGKILL');
      const again = await rejection(container.stop({ t: 1 }));
      assert.equal(again.statusCode, 304);

      await container.restart({ t: 1 });
      const restarted = await container.inspect();
      assert.equal(restarted.State.Status, 'running');
      assert.notEqual(restarted.State.Pid, running.State.Pid);
      assert.equal(restarted.RestartCount, 0, 'a manual restart does not count');

      await container.kill();
      const killed = await container.inspect();
      assert.equal(killed.State.Status, 'exited');
      assert.equal(killed.State.ExitCode, 137);

      await container.rename({ name: 'dockerode-renamed' });
      assert.equal((await container.inspect()).Name, '/dockerode-renamed');
      assert.equal((await docker.getContainer('dockerode-renamed').inspect()).Id, id);
      assert.equal((await rejection(docker.getContainer('dockerode-ops').inspect())).statusCode, 404);

      await container.start();
      assert.equal((await container.inspect()).State.Running, true);
      await container.remove({ force: true });
      const gone = await rejection(container.inspect());
      assert.equal(gone.statusCode, 404);
      id = undefined;
    } finally {
      await cleanup(id);
    }
  });

  it('carries stdin through a hijacked attach to cat and back', async () => {
    let id: string | undefined;
    try {
      const container = await docker.createContainer({
        Image: 'busybox',
        Cmd: ['cat'],
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      id = container.id;
      const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const output = collect(stream);
      await container.start();
      stream.write('line one\n');
      stream.end('line two\n');
      const frames = parseFrames(await output);
      assert.equal(joined(frames, 1), 'line one\nline two\n');
      assert.equal(joined(frames, 2), '');
      const waited = await container.wait();
      assert.equal(waited.StatusCode, 0, 'closing stdin ended cat');
    } finally {
      await cleanup(id);
    }
  });

  it('docker.run creates, attaches, starts and waits', async () => {
    let id: string | undefined;
    try {
      const chunks: Buffer[] = [];
      const out = new Writable({
        write(chunk: Buffer | string, _enc, cb) {
          chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          cb();
        },
      });
      const [result, container] = (await docker.run('busybox', ['sh', '-c', 'echo hello from run; exit 5'], out)) as [{ StatusCode: number }, Dockerode.Container];
      id = container.id;
      assert.equal(result.StatusCode, 5);
      // dockerode's run asks for a TTY, so the output is raw and the terminal turns \n into \r\n.
      await new Promise((r) => setImmediate(r));
      assert.equal(Buffer.concat(chunks).toString(), 'hello from run\r\n');
      const inspected = await container.inspect();
      assert.equal(inspected.Config.Tty, true);
      assert.equal(inspected.State.ExitCode, 5);

      // With Tty off and two streams, run demultiplexes into them.
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const outDone = collect(stdout);
      const errDone = collect(stderr);
      const [result2, container2] = (await docker.run('busybox', ['sh', '-c', 'echo to-out; echo to-err >&2'], [stdout, stderr], { Tty: false })) as [{ StatusCode: number }, Dockerode.Container];
      await cleanup(container2.id);
      assert.equal(result2.StatusCode, 0);
      assert.equal((await outDone).toString(), 'to-out\n');
      assert.equal((await errDone).toString(), 'to-err\n');
    } finally {
      await cleanup(id);
    }
  });

  it('rejects with Docker\'s status codes and messages', async () => {
    const ids: string[] = [];
    try {
      const missing = await rejection(docker.getContainer('nope').inspect());
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json?.message, 'No such container: nope');

      const first = await docker.createContainer({ name: 'dockerode-taken', Image: 'busybox', Cmd: ['sleep', '300'] });
      ids.push(first.id);
      const conflict = await rejection(docker.createContainer({ name: 'dockerode-taken', Image: 'busybox', Cmd: ['true'] }));
      assert.equal(conflict.statusCode, 409);
      assert.equal(conflict.json?.message, `Conflict. The container name "/dockerode-taken" is already in use by container "${first.id}". You have to remove (or rename) that container to be able to reuse that name.`);

      await first.start();
      const busy = await rejection(first.remove());
      assert.equal(busy.statusCode, 409);
      assert.match(busy.json?.message ?? '', /container is running: stop the container before removing or force remove/);
      assert.equal((await first.inspect()).State.Running, true, 'the refused remove left it running');

      const noImage = await rejection(docker.createContainer({ Image: 'dockerode-no-such-image', Cmd: ['true'] }));
      assert.equal(noImage.statusCode, 404);
      assert.equal(noImage.json?.message, 'No such image: dockerode-no-such-image:latest');
    } finally {
      await cleanup(...ids);
    }
  });

  it('getEvents replays create, start, die and destroy between since and until', async () => {
    let id: string | undefined;
    try {
      const since = Math.floor(Date.now() / 1000) - 1;
      const container = await docker.createContainer({ name: 'dockerode-events', Image: 'busybox', Cmd: ['true'], Labels: { evt: 'dockerode' } });
      id = container.id;
      await container.start();
      await container.wait();
      await container.remove();
      id = undefined;
      const until = Math.floor(Date.now() / 1000) + 1;
      const stream = await docker.getEvents({ since, until, filters: { container: [container.id], type: ['container'] } });
      const lines = (await collect(stream)).toString().trim().split('\n');
      const events = lines.map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number; timeNano: number });
      assert.deepEqual(events.map((e) => e.Action), ['create', 'start', 'die', 'destroy']);
      for (const e of events) {
        assert.equal(e.Type, 'container');
        assert.equal(e.Actor.ID, container.id);
        assert.equal(e.Actor.Attributes.name, 'dockerode-events');
        assert.equal(e.Actor.Attributes.evt, 'dockerode');
        assert.ok(e.time >= since && e.time <= until, `time ${e.time}`);
      }
      assert.equal(events[2]!.Actor.Attributes.exitCode, '0');

      // A label filter selects the same events.
      const byLabel = await docker.getEvents({ since, until, filters: { label: ['evt=dockerode'], event: ['die'] } });
      const dies = (await collect(byLabel)).toString().trim().split('\n').map((l) => JSON.parse(l) as { Action: string; id?: string; Actor: { ID: string } });
      assert.deepEqual(dies.map((e) => [e.Action, e.Actor.ID]), [['die', container.id]]);
    } finally {
      await cleanup(id);
    }
  });
});
