import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, busyboxTar, eventually } from '../helpers/daemon.js';

// The real docker CLI (v28) against berthd: what a Docker user types must
// print and exit the same.

describe('docker CLI against berthd', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('docker version and info talk to berthd', async () => {
    const v = await d.docker(['version', '--format', '{{.Server.APIVersion}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.47');
    const info = await d.docker(['info', '--format', '{{.Driver}} {{.OSType}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout.trim(), /^(overlay2|overlay|vfs|copy) linux$/);
  });

  it('docker run --rm prints the output and exits 0', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'echo', 'hello from berth']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from berth\n');
    const left = await d.docker(['ps', '-aq']);
    assert.equal(left.stdout.trim(), '', '--rm removed the container');
  });

  it('docker run exits with the container\'s own code and keeps stderr apart', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 42']);
    assert.equal(r.code, 42);
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
  });

  it('docker run of a missing command exits 127, of a directory 126', async () => {
    const missing = await d.docker(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /executable file not found in \$PATH/);
    const dir = await d.docker(['run', '--rm', 'busybox', '/etc']);
    assert.equal(dir.code, 126, dir.stderr);
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '', 'failed --rm containers are removed too');
  });

  it('docker run of an unknown image fails with 125 and says so', async () => {
    const r = await d.docker(['run', '--rm', 'no-such-image-here']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Unable to find image 'no-such-image-here:latest' locally/);
  });

  it('docker run -i passes stdin through', async () => {
    const r = await d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
  });

  it('applies -e, --env-file, -w, -u, --hostname, --entrypoint and -l', async () => {
    const envFile = join(d.dir, 'env.list');
    await writeFile(envFile, '# comment\nFROM_FILE=yes\n');
    const r = await d.docker([
      'run', '--rm', '-e', 'GREETING=hi there', '--env-file', envFile, '-w', '/tmp/work', '-u', 'nobody', '--hostname', 'boxy',
      'busybox', 'sh', '-c', 'echo "$GREETING|$FROM_FILE|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOME"',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi there|yes|/tmp/work|65534:65534|boxy|/home\n');
    const ep = await d.docker(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'via', 'entrypoint']);
    assert.equal(ep.stdout, 'via entrypoint\n');
    const uid = await d.docker(['run', '--rm', '-u', '1234:5678', 'busybox', 'id']);
    // No supplementary groups for an explicit uid:gid absent from /etc/group (runc's rule, as with dockerd).
    assert.equal(uid.stdout, 'uid=1234 gid=5678\n');
    const badUser = await d.docker(['run', '--rm', '-u', 'ghost', 'busybox', 'true']);
    assert.notEqual(badUser.code, 0);
    assert.match(badUser.stderr, /unable to find user ghost: no matching entries in passwd file/);
  });

  it('sees Docker\'s default environment, /etc files and namespaces', async () => {
    const r = await d.docker(['run', '--rm', '--name', 'envcheck', 'busybox', 'sh', '-c', 'env | sort; cat /etc/hostname; grep -c localhost /etc/hosts; ls /sys/class/net; echo pid1=$$']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
    assert.match(r.stdout, /^HOME=\/root$/m);
    assert.match(r.stdout, /^HOSTNAME=[0-9a-f]{12}$/m);
    assert.match(r.stdout, /^lo$/m, 'the network namespace holds lo');
    assert.match(r.stdout, /^eth0$/m, 'the default bridge network gives it eth0, as Docker does');
    assert.match(r.stdout, /^pid1=1$/m, 'own pid namespace');
  });

  it('--network host shares the host\'s network; none has loopback only; unknown networks are refused', async () => {
    const host = await d.docker(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'hostname; readlink /proc/self/ns/net']);
    assert.equal(host.code, 0, host.stderr);
    const [hostName, netns] = host.stdout.trim().split('\n');
    assert.equal(hostName, (await import('node:os')).hostname());
    // The same network namespace as the host (interface lists change while other suites run).
    assert.equal(netns, readlinkSync('/proc/self/ns/net'));
    assert.equal((await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net'])).stdout, 'lo\n');
    const unknown = await d.docker(['run', '--rm', '--network', 'no-such-net', 'busybox', 'true']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /network no-such-net not found/);
  });

  it('--init runs tini as PID 1, so a stop reaches a command that ignores SIGTERM as PID 1', async () => {
    const ps = await d.docker(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout.trim(), '/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr "\\0" " "');
    const id = (await d.docker(['run', '-d', '--init', 'busybox', 'sleep', '60'])).stdout.trim();
    assert.equal((await d.docker(['stop', '-t', '30', id])).code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.ExitCode}}', id])).stdout.trim(), '143', 'SIGTERM, not the SIGKILL after the timeout');
    await d.docker(['rm', id]);
  });

  it('runs detached; ps, logs, inspect, stop, start, restart, rename, rm', async () => {
    const run = await d.docker(['run', '-d', '--name', 'web', '-l', 'tier=front', 'busybox', 'sh', '-c', 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await d.docker(['ps', '--format', '{{.Names}} {{.Image}} {{.Status}}']);
    assert.match(ps.stdout, /^web busybox Up /m);
    const table = await d.docker(['ps']);
    assert.match(table.stdout.split('\n')[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.equal((await d.docker(['ps', '-q', '--filter', 'label=tier=front'])).stdout.trim(), id.slice(0, 12));

    const status = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.Config.Labels.tier}}', 'web']);
    assert.equal(status.stdout.trim(), 'running true front');

    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('started'); i++) {
      logs = (await d.docker(['logs', 'web'])).stdout;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(logs, 'started\n');

    const rmRunning = await d.docker(['rm', 'web']);
    assert.equal(rmRunning.code, 1);
    assert.match(rmRunning.stderr, /container is running: stop the container before removing or force remove/);

    const stop = await d.docker(['stop', '-t', '5', 'web']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout.trim(), 'web');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'web'])).stdout.trim(), '0');
    assert.equal((await d.docker(['logs', 'web'])).stdout, 'started\nbye\n');
    assert.equal((await d.docker(['logs', '--tail', '1', 'web'])).stdout, 'bye\n');
    const ts = await d.docker(['logs', '-t', 'web']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z started$/m);

    assert.equal((await d.docker(['start', 'web'])).code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', 'web'])).stdout.trim(), 'true');
    assert.equal((await d.docker(['restart', '-t', '1', 'web'])).code, 0);
    assert.equal((await d.docker(['rename', 'web', 'web2'])).code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{.Name}}', 'web2'])).stdout.trim(), '/web2');
    const kill = await d.docker(['kill', 'web2']);
    assert.equal(kill.code, 0, kill.stderr);
    const wait = await d.docker(['wait', 'web2']);
    assert.equal(wait.stdout.trim(), '137');
    assert.equal((await d.docker(['rm', 'web2'])).code, 0);
    const gone = await d.docker(['inspect', 'web2']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such object: web2/);
  });

  it('refuses a name in use with Docker\'s conflict message', async () => {
    assert.equal((await d.docker(['create', '--name', 'dup', 'busybox'])).code, 0);
    const again = await d.docker(['create', '--name', 'dup', 'busybox']);
    assert.equal(again.code, 1, 'docker create reports daemon errors with exit 1');
    assert.match(again.stderr, /Conflict. The container name "\/dup" is already in use/);
    const run = await d.docker(['run', '--name', 'dup', 'busybox', 'true']);
    assert.equal(run.code, 125, 'docker run reports daemon errors with exit 125');
    assert.match(run.stderr, /Conflict. The container name "\/dup" is already in use/);
    assert.equal((await d.docker(['rm', 'dup'])).code, 0);
  });

  it('docker logs -f follows a running container until it exits', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.2; done'])).stdout.trim();
    const follow = await d.docker(['logs', '-f', id]);
    assert.equal(follow.code, 0);
    assert.equal(follow.stdout, 'tick 1\ntick 2\ntick 3\n');
    await d.docker(['rm', id]);
  });

  it('docker start -a attaches and returns the exit code', async () => {
    await d.docker(['create', '--name', 'again', 'busybox', 'sh', '-c', 'echo run; exit 5']);
    const first = await d.docker(['start', '-a', 'again']);
    assert.equal(first.code, 5);
    assert.equal(first.stdout, 'run\n');
    const second = await d.docker(['start', '-a', 'again']);
    assert.equal(second.stdout, 'run\n');
    assert.equal((await d.docker(['logs', 'again'])).stdout, 'run\nrun\n');
    await d.docker(['rm', 'again']);
  });

  it('images, tag, import with changes, inspect, rmi', async () => {
    const tar = await busyboxTar();
    const imp = await d.docker(['import', '-c', 'CMD ["echo","imported"]', '-c', 'ENV COLOR=blue', '-m', 'from a test', tar, 'imported:v1']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const run = await d.docker(['run', '--rm', 'imported:v1']);
    assert.equal(run.stdout, 'imported\n');
    assert.equal((await d.docker(['run', '--rm', 'imported:v1', 'sh', '-c', 'echo $COLOR'])).stdout, 'blue\n');

    assert.equal((await d.docker(['tag', 'imported:v1', 'localhost:5000/team/imported:v2'])).code, 0);
    const images = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    const names = images.stdout.trim().split('\n').sort();
    assert.deepEqual(names, ['busybox:latest', 'imported:v1', 'localhost:5000/team/imported:v2']);
    const header = (await d.docker(['images'])).stdout.split('\n')[0]!;
    assert.match(header, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);

    const cmd = await d.docker(['image', 'inspect', '-f', '{{json .Config.Cmd}} {{.Comment}}', 'imported:v1']);
    assert.equal(cmd.stdout.trim(), '["echo","imported"] from a test');

    const untag = await d.docker(['rmi', 'localhost:5000/team/imported:v2']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal(untag.stdout.trim(), 'Untagged: localhost:5000/team/imported:v2');
    const del = await d.docker(['rmi', 'imported:v1']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /^Untagged: imported:v1\nDeleted: sha256:[0-9a-f]{64}\n/);
    const missing = await d.docker(['rmi', 'imported:v1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: imported:v1/);
  });

  it('docker events shows container and image events with filters', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await d.docker(['run', '--rm', '--name', 'evented', 'busybox', 'true']);
    await d.docker(['tag', 'busybox', 'evented-image:1']);
    await d.docker(['rmi', 'evented-image:1']);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const containers = await d.docker(['events', '--since', since, '--until', until, '--filter', 'container=evented', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    assert.equal(containers.code, 0, containers.stderr);
    const order = ['create', 'start', 'die', 'destroy'].map((a) => containers.stdout.split('\n').indexOf(`container ${a} evented`));
    assert.ok(order.every((i) => i >= 0), containers.stdout);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'in lifecycle order');
    const images = await d.docker(['events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    assert.match(images.stdout, /^tag evented-image:1$/m);
    assert.match(images.stdout, /^untag evented-image:1$/m);
  });

  it('restart policies: on-failure retries up to its limit, always restarts until stopped', async () => {
    const failing = (await d.docker(['run', '-d', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo try; exit 3'])).stdout.trim();
    await eventually(async () => {
      const s = (await d.docker(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', failing])).stdout.trim();
      return s === 'exited 2 3';
    });
    assert.equal((await d.docker(['logs', failing])).stdout, 'try\ntry\ntry\n', 'first run plus two restarts');

    const always = (await d.docker(['run', '-d', '--restart', 'always', 'busybox', 'sh', '-c', 'echo up; sleep 0.2']).then((r) => r.stdout)).trim();
    await eventually(async () => Number((await d.docker(['inspect', '-f', '{{.RestartCount}}', always])).stdout.trim()) >= 1);
    const stop = await d.docker(['stop', '-t', '1', always]);
    assert.equal(stop.code, 0, stop.stderr);
    const count = (await d.docker(['inspect', '-f', '{{.RestartCount}}', always])).stdout.trim();
    await new Promise((r) => setTimeout(r, 700));
    const after = await d.docker(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', always]);
    assert.equal(after.stdout.trim(), `exited ${count}`, 'a stopped container stays stopped');
    assert.equal((await d.docker(['rm', failing, always])).code, 0);
  });

  it('bind mounts (-v, --mount), --tmpfs, read-only binds and their errors', async () => {
    const host = join(d.dir, 'bind-src');
    await mkdir(host);
    await writeFile(join(host, 'in.txt'), 'from host\n');
    const rw = await d.docker(['run', '--rm', '-v', `${host}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo from container > /data/out.txt']);
    assert.equal(rw.stdout, 'from host\n', rw.stderr);
    assert.equal(await readFile(join(host, 'out.txt'), 'utf8'), 'from container\n');
    const ro = await d.docker(['run', '--rm', '--mount', `type=bind,source=${host},target=/data,readonly`, 'busybox', 'sh', '-c', 'echo x > /data/no.txt']);
    assert.equal(ro.code, 1);
    assert.match(ro.stderr, /Read-only file system/);
    const created = join(d.dir, 'made-by-v');
    assert.equal((await d.docker(['run', '--rm', '-v', `${created}:/m`, 'busybox', 'true'])).code, 0);
    assert.ok(existsSync(created), '-v creates a missing host directory');
    const tmpfs = await d.docker(['run', '--rm', '--tmpfs', '/scratch:size=1m', 'busybox', 'sh', '-c', 'grep " /scratch " /proc/mounts']);
    assert.match(tmpfs.stdout, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
    const missing = await d.docker(['run', '--rm', '--mount', `type=bind,source=${join(d.dir, 'absent')},target=/x`, 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /bind source path does not exist/);
    const inspect = await d.docker(['create', '-v', `${host}:/data:ro`, 'busybox']);
    const mounts = JSON.parse((await d.docker(['inspect', '-f', '{{json .Mounts}}', inspect.stdout.trim()])).stdout);
    assert.deepEqual(mounts, [{ Type: 'bind', Source: host, Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
    await d.docker(['rm', inspect.stdout.trim()]);
  });

  it('rmi refuses an image a container uses unless forced', async () => {
    const tar = await busyboxTar();
    assert.equal((await d.docker(['import', '-c', 'ENV SOLO=1', tar, 'solo:1'])).code, 0);
    assert.equal((await d.docker(['create', '--name', 'user-of-image', 'solo:1', 'true'])).code, 0);
    const refused = await d.docker(['rmi', 'solo:1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /conflict: unable to (delete|remove)/);
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'solo:1'])).code, 0, 'nothing was lost');
    await d.docker(['rm', 'user-of-image']);
    assert.equal((await d.docker(['rmi', 'solo:1'])).code, 0);
  });
});
