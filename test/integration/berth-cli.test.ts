import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon, busyboxTar } from '../helpers/daemon.js';

// The berth CLI against a real berthd: docker's commands, flags, output and
// exit codes (`alias docker=berth`).

describe('berth CLI against berthd', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
  });
  after(async () => {
    await d?.stop();
  });

  it('imports the busybox image and lists it', async () => {
    const tar = await busyboxTar();
    const imp = await d.berth(['import', '-c', 'CMD ["sh"]', tar, 'busybox:latest']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const images = await d.berth(['images']);
    assert.match(images.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s+/);
    assert.equal((await d.berth(['image', 'ls', '-q'])).stdout.trim(), imp.stdout.trim().slice(7, 19));
  });

  it('run --rm prints output and exits with the container\'s code', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'hello from berth']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from berth\n');
    const code = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo e >&2; exit 12']);
    assert.equal(code.code, 12);
    assert.equal(code.stderr, 'e\n');
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  });

  it('exit codes 125, 126 and 127 like docker', async () => {
    const missing = await d.berth(['run', '--rm', 'busybox', 'nope-cmd']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /executable file not found/);
    assert.equal((await d.berth(['run', '--rm', 'busybox', '/etc'])).code, 126);
    const noImage = await d.berth(['run', '--rm', 'ghost-image']);
    assert.equal(noImage.code, 125);
    assert.match(noImage.stderr, /Unable to find image 'ghost-image:latest' locally/);
    const badFlag = await d.berth(['run', '--no-such-flag', 'busybox']);
    assert.equal(badFlag.code, 125);
  });

  it('run -i passes stdin; flags after the image go to the container', async () => {
    const r = await d.berth(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'abc\n' });
    assert.equal(r.stdout, 'abc\nend\n');
    const ls = await d.berth(['run', '--rm', 'busybox', 'ls', '-d', '/etc']);
    assert.equal(ls.stdout, '/etc\n');
    const env = await d.berth(['run', '--rm', '-e', 'X=1', '-w', '/tmp', '-u', 'nobody', '--hostname', 'h1', 'busybox', 'sh', '-c', 'echo $X $(pwd) $(id -u) $(hostname)']);
    assert.equal(env.stdout, '1 /tmp 65534 h1\n');
  });

  it('detached lifecycle through the container group forms', async () => {
    const run = await d.berth(['run', '-d', '--name', 'svc', '-l', 'app=demo', 'busybox', 'sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 0.1; done']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await d.berth(['container', 'ls', '--format', '{{.Names}}\t{{.Status}}', '--filter', 'label=app=demo']);
    assert.match(ps.stdout, /^svc\tUp /);
    const table = await d.berth(['ps', '--no-trunc']);
    assert.match(table.stdout.split('\n')[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.ok(table.stdout.includes(id));
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}} {{index .Config.Labels "app"}}', 'svc'])).stdout, 'true demo\n');
    for (let i = 0; i < 50 && (await d.berth(['logs', 'svc'])).stdout !== 'up\n'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await d.berth(['container', 'logs', 'svc'])).stdout, 'up\n');
    const rm = await d.berth(['rm', 'svc']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /stop the container before removing or force remove/);
    assert.equal((await d.berth(['stop', '-t', '5', 'svc'])).stdout, 'svc\n');
    assert.equal((await d.berth(['container', 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'svc'])).stdout, 'exited 0\n');
    assert.equal((await d.berth(['start', 'svc'])).code, 0);
    assert.equal((await d.berth(['rename', 'svc', 'svc2'])).code, 0);
    assert.equal((await d.berth(['kill', '-s', 'KILL', 'svc2'])).code, 0);
    assert.equal((await d.berth(['wait', 'svc2'])).stdout, '137\n');
    assert.equal((await d.berth(['rm', 'svc2'])).stdout, 'svc2\n');
    const gone = await d.berth(['inspect', 'svc2']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such object: svc2/);
  });

  it('ps --format json, images --format and version/info work', async () => {
    await d.berth(['create', '--name', 'idle', 'busybox', 'true']);
    const json = await d.berth(['ps', '-a', '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const row = JSON.parse(json.stdout.trim().split('\n')[0]!);
    assert.equal(row.Names, 'idle');
    assert.equal(row.State, 'created');
    const v = await d.berth(['version', '--format', '{{.Server.APIVersion}}']);
    assert.equal(v.stdout.trim(), '1.47');
    const info = await d.berth(['system', 'info', '--format', '{{.ContainersStopped}}']);
    assert.equal(info.stdout.trim(), '1');
    await d.berth(['rm', 'idle']);
  });

  it('tag and rmi print what they did', async () => {
    assert.equal((await d.berth(['tag', 'busybox', 'mine:1'])).code, 0);
    const rmi = await d.berth(['rmi', 'mine:1']);
    assert.equal(rmi.stdout, 'Untagged: mine:1\n');
    const missing = await d.berth(['rmi', 'mine:1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: mine:1/);
  });

  it('chooses the daemon by -H over BERTH_HOST over DOCKER_HOST', async () => {
    const bogus = 'unix:///nonexistent/berth.sock';
    const viaDocker = await d.berth(['version', '--format', '{{.Server.APIVersion}}'], { env: { BERTH_HOST: '', DOCKER_HOST: d.host } });
    assert.equal(viaDocker.stdout.trim(), '1.47');
    const viaFlag = await d.berth(['-H', d.host, 'version', '--format', '{{.Server.APIVersion}}'], { env: { BERTH_HOST: bogus } });
    assert.equal(viaFlag.stdout.trim(), '1.47');
    const broken = await d.berth(['ps'], { env: { BERTH_HOST: bogus } });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /Cannot connect to the berth daemon at unix:\/\/\/nonexistent\/berth.sock/);
  });
});
