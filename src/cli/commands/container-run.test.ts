import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeEngine } from '../../client/testing/fake-engine.js';
import { runBerth } from '../testing/run-berth.js';
import { CONTAINER_ID, scriptContainer } from '../testing/container-scenario.js';
import { toStatusError } from './container-run.js';

// `berth run` / `create` against a scripted engine: docker's call order,
// output streams, exit codes and error messages.

describe('berth run', () => {
  let engine: FakeEngine;
  beforeEach(async () => {
    engine = await FakeEngine.start();
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('creates, attaches and waits before starting, prints both streams apart and exits with the code', async () => {
    const s = scriptContainer(engine, { stdout: 'to-out\n', stderr: 'to-err\n', exitCode: 42 });
    const r = await runBerth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 42'], { host: engine.host });
    assert.equal(r.code, 42, r.stderr);
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
    assert.equal(s.events[0], 'create');
    assert.deepEqual(new Set(s.events.slice(1, 3)), new Set(['attach', 'wait:removed']));
    assert.equal(s.events[3], 'start');
    const body = s.createBody();
    assert.equal(body.Image, 'busybox');
    assert.deepEqual(body.Cmd, ['sh', '-c', 'exit 42']);
    assert.equal(body.HostConfig.AutoRemove, true);
    assert.equal(body.AttachStdout, true);
    assert.equal(body.AttachStderr, true);
    assert.equal(body.AttachStdin, false);
    const attach = engine.calls('POST', '/containers/[^/]+/attach')[0]!;
    assert.equal(attach.headers.upgrade, 'tcp');
    assert.equal(attach.query.get('stream'), '1');
  });

  it('waits for next-exit without --rm', async () => {
    const s = scriptContainer(engine, { stdout: 'hi\n' });
    const r = await runBerth(['run', 'busybox', 'echo', 'hi'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(s.events.includes('wait:next-exit'));
  });

  it('passes flags after the image to the container', async () => {
    const s = scriptContainer(engine);
    const r = await runBerth(['run', '-e', 'A=1', 'busybox', 'ls', '-l', '--rm', '-e', 'x'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    const body = s.createBody();
    assert.deepEqual(body.Cmd, ['ls', '-l', '--rm', '-e', 'x']);
    assert.deepEqual(body.Env, ['A=1']);
    assert.equal(body.HostConfig.AutoRemove, false);
  });

  it('sends stdin with -i and half-closes when it ends', async () => {
    scriptContainer(engine, { echoStdin: true });
    const r = await runBerth(['run', '--rm', '-i', 'busybox', 'cat'], { host: engine.host, input: 'line one\nline two\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line one\nline two\n');
    const attach = engine.calls('POST', '/containers/[^/]+/attach')[0]!;
    assert.equal(attach.query.get('stdin'), '1');
  });

  it('prints the ID with -d and does not attach', async () => {
    const s = scriptContainer(engine);
    const r = await runBerth(['run', '-d', '--name', 'web', 'busybox', 'sleep', '9'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${CONTAINER_ID}\n`);
    assert.ok(!s.events.includes('attach'));
    assert.equal(engine.calls('POST', '/containers/create')[0]!.query.get('name'), 'web');
    assert.equal(s.createBody().AttachStdout, false);
  });

  it('pulls a missing image like docker and creates again', async () => {
    const s = scriptContainer(engine, { missingImage: 'once' });
    const r = await runBerth(['run', '--rm', 'busybox', 'true'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Unable to find image 'busybox:latest' locally\n/);
    assert.match(r.stderr, /latest: Pulling from library\/busybox\nStatus: Downloaded newer image for busybox:latest\n/);
    assert.deepEqual(s.events.slice(0, 3), ['create', 'pull', 'create']);
    const pull = engine.calls('POST', '/images/create')[0]!;
    assert.equal(pull.query.get('fromImage'), 'busybox');
    assert.equal(pull.query.get('tag'), 'latest');
  });

  it('fails with 125 when the pull fails, with the daemon\'s message', async () => {
    scriptContainer(engine, { missingImage: 'always' });
    engine.on('POST', '/images/create', (ctx) => {
      ctx.res.writeHead(404, { 'Content-Type': 'application/json' });
      ctx.res.end(JSON.stringify({ message: 'pull access denied for nosuch, repository does not exist' }));
    });
    const r = await runBerth(['run', 'nosuch'], { host: engine.host });
    assert.equal(r.code, 125);
    assert.equal(
      r.stderr,
      "Unable to find image 'nosuch:latest' locally\nberth: Error response from daemon: pull access denied for nosuch, repository does not exist\n\nRun 'berth run --help' for more information\n",
    );
  });

  it('does not pull with --pull never', async () => {
    const s = scriptContainer(engine, { missingImage: 'always' });
    const r = await runBerth(['run', '--pull', 'never', 'busybox'], { host: engine.host });
    assert.equal(r.code, 125);
    assert.ok(!s.events.includes('pull'));
    assert.match(r.stderr, /^berth: Error response from daemon: No such image: busybox/);
  });

  it('exits 127 when the command is not found and 126 when it cannot run', async () => {
    scriptContainer(engine, { startError: 'failed to create task: exec: "nope": executable file not found in $PATH' });
    const missing = await runBerth(['run', '--rm', 'busybox', 'nope'], { host: engine.host });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^berth: Error response from daemon: failed to create task: exec: "nope": executable file not found in \$PATH\n\nRun 'berth run --help' for more information\n$/);
  });

  it('exits 126 for permission denied', async () => {
    scriptContainer(engine, { startError: 'exec: "/etc": permission denied' });
    const r = await runBerth(['run', 'busybox', '/etc'], { host: engine.host });
    assert.equal(r.code, 126);
  });

  it('reports a daemon that is not there with 125', async () => {
    const r = await runBerth(['run', 'busybox'], { host: 'unix:///nonexistent/berth.sock' });
    assert.equal(r.code, 125);
    assert.equal(r.stderr, "berth: Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n\nRun 'berth run --help' for more information\n");
  });

  it('rejects bad flag values before calling the daemon', async () => {
    const r = await runBerth(['run', '-p', '80:80:80:x', 'busybox'], { host: engine.host });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^berth: invalid containerPort: x\n\nRun 'berth run --help' for more information\n$/);
    const restart = await runBerth(['run', '--rm', '--restart', 'always', 'busybox'], { host: engine.host });
    assert.equal(restart.code, 125);
    assert.match(restart.stderr, /conflicting options: cannot specify both --restart and --rm/);
    assert.equal(engine.requests.length, 0);
  });

  it('refuses -t with a stdin that is not a terminal', async () => {
    const r = await runBerth(['run', '-it', 'busybox'], { host: engine.host, input: '' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'the input device is not a TTY\n');
  });
});

describe('berth create', () => {
  let engine: FakeEngine;
  before(async () => {
    engine = await FakeEngine.start();
  });
  after(async () => {
    await engine.stop();
  });

  it('prints the new ID and starts nothing', async () => {
    const s = scriptContainer(engine);
    const r = await runBerth(['create', '--name', 'x', '-l', 'a=b', '-w', '/tmp', 'busybox'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${CONTAINER_ID}\n`);
    assert.deepEqual(s.events, ['create']);
    assert.deepEqual(s.createBody().Labels, { a: 'b' });
    assert.equal(s.createBody().WorkingDir, '/tmp');
    assert.equal(s.createBody().Cmd, null);
  });
});

describe('toStatusError', () => {
  it('maps docker\'s start failures to 127, 126 and 125', () => {
    assert.equal(toStatusError(new Error('exec: "x": executable file not found in $PATH')).exitCode, 127);
    assert.equal(toStatusError(new Error('open /x: no such file or directory')).exitCode, 127);
    assert.equal(toStatusError(new Error('exec: "/etc": permission denied')).exitCode, 126);
    assert.equal(toStatusError(new Error('read /etc: is a directory')).exitCode, 126);
    assert.equal(toStatusError(new Error('No such container')).exitCode, 125);
  });
});
