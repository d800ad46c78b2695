import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeEngine, frame, sendJson } from '../../client/testing/fake-engine.js';
import { runBerth } from '../testing/run-berth.js';

// stop/kill/rm/restart/start/rename/wait, logs, inspect and attach against
// a fake engine that knows containers "web" and "db".

const KNOWN = new Set(['web', 'db', 'a'.repeat(64)]);
const INSPECT_WEB = '{"Id":"' + 'a'.repeat(64) + '","Name":"/web","State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"ExitCode":0,"Pid":42},"Config":{"Tty":false,"OpenStdin":false,"Env":["A=1"],"Labels":{"z":"1","a":"<b>"}},"HostConfig":{"AutoRemove":false}}';

function notFound(ctx: { res: import('node:http').ServerResponse; params: string[] }): boolean {
  if (KNOWN.has(ctx.params[0]!)) return false;
  sendJson(ctx.res, 404, { message: `No such container: ${ctx.params[0]}` });
  return true;
}

describe('container commands', () => {
  let engine: FakeEngine;
  before(async () => {
    engine = await FakeEngine.start();
    for (const action of ['stop', 'kill', 'restart', 'start', 'rename']) {
      engine.on('POST', `/containers/([^/]+)/${action}`, (ctx) => {
        if (notFound(ctx)) return;
        ctx.res.writeHead(204).end();
      });
    }
    engine.on('DELETE', '/containers/([^/]+)', (ctx) => {
      if (notFound(ctx)) return;
      if (ctx.params[0] === 'web' && ctx.query.get('force') !== '1') {
        return sendJson(ctx.res, 409, { message: 'cannot remove container "/web": container is running: stop the container before removing or force remove' });
      }
      ctx.res.writeHead(204).end();
    });
    engine.on('POST', '/containers/([^/]+)/wait', (ctx) => {
      if (notFound(ctx)) return;
      sendJson(ctx.res, 200, { StatusCode: ctx.params[0] === 'web' ? 0 : 3, Error: null });
    });
    engine.on('GET', '/containers/([^/]+)/json', (ctx) => {
      if (notFound(ctx)) return;
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end(INSPECT_WEB);
    });
    engine.on('GET', '/containers/([^/]+)/logs', (ctx) => {
      if (notFound(ctx)) return;
      ctx.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      ctx.res.end(Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n')]));
    });
    engine.on('GET', '/info', (ctx) => sendJson(ctx.res, 200, { Swarm: { LocalNodeState: 'inactive', ControlAvailable: false } }));
    engine.on('GET', '/images/(.+)/json', (ctx) => {
      if (ctx.params[0] === 'busybox') return void ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"Id":"sha256:1","RepoTags":["busybox:latest"]}');
      sendJson(ctx.res, 404, { message: `No such image: ${ctx.params[0]}` });
    });
  });
  after(async () => {
    await engine.stop();
  });

  it('stop prints each name and reports each failure, exit 1', async () => {
    const r = await runBerth(['stop', '-t', '3', '-s', 'SIGINT', 'web', 'ghost', 'db'], { host: engine.host });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'web\ndb\n');
    assert.equal(r.stderr, 'Error response from daemon: No such container: ghost\n');
    const q = engine.calls('POST', '/containers/web/stop').at(-1)!.query;
    assert.equal(q.get('t'), '3');
    assert.equal(q.get('signal'), 'SIGINT');
  });

  it('stop without -t leaves the timeout to the daemon; --time is deprecated but works', async () => {
    await runBerth(['stop', 'web'], { host: engine.host });
    assert.equal(engine.calls('POST', '/containers/web/stop').at(-1)!.query.get('t'), null);
    const r = await runBerth(['container', 'stop', '--time', '0', 'web'], { host: engine.host });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, 'Flag --time has been deprecated, use --timeout instead\n');
    assert.equal(engine.calls('POST', '/containers/web/stop').at(-1)!.query.get('t'), '0');
  });

  it('kill sends the signal', async () => {
    const r = await runBerth(['kill', '-s', 'HUP', 'db'], { host: engine.host });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'db\n');
    assert.equal(engine.calls('POST', '/containers/db/kill').at(-1)!.query.get('signal'), 'HUP');
  });

  it('rm reports a running container, -f forces and forgives missing ones', async () => {
    const r = await runBerth(['rm', 'web', 'db'], { host: engine.host });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'db\n');
    assert.match(r.stderr, /^Error response from daemon: cannot remove container "\/web": container is running/);
    const forced = await runBerth(['rm', '-fv', 'web', 'ghost'], { host: engine.host });
    assert.equal(forced.code, 0);
    assert.equal(forced.stdout, 'web\n');
    assert.equal(forced.stderr, 'Error response from daemon: No such container: ghost\n');
    assert.equal(engine.calls('DELETE', '/containers/web').at(-1)!.query.get('v'), '1');
  });

  it('start and restart print names; start reports failures docker\'s way', async () => {
    const restart = await runBerth(['restart', 'web', 'db'], { host: engine.host });
    assert.equal(restart.stdout, 'web\ndb\n');
    const start = await runBerth(['start', 'web', 'ghost'], { host: engine.host });
    assert.equal(start.code, 1);
    assert.equal(start.stdout, 'web\n');
    assert.equal(start.stderr, 'Error response from daemon: No such container: ghost\nError: failed to start containers: ghost\n');
  });

  it('rename and wait', async () => {
    const rename = await runBerth(['rename', 'web', 'web2'], { host: engine.host });
    assert.equal(rename.code, 0);
    assert.equal(engine.calls('POST', '/containers/web/rename').at(-1)!.query.get('name'), 'web2');
    const badRename = await runBerth(['rename', 'ghost', 'x'], { host: engine.host });
    assert.equal(badRename.code, 1);
    assert.equal(badRename.stderr, 'Error response from daemon: No such container: ghost\nError: failed to rename container named ghost\n');
    const wait = await runBerth(['wait', 'web', 'db'], { host: engine.host });
    assert.equal(wait.code, 0);
    assert.equal(wait.stdout, '0\n3\n');
  });

  it('logs demultiplexes to stdout and stderr and converts --since', async () => {
    const r = await runBerth(['logs', '--since', '2013-01-02T13:23:37Z', '-n', '10', '-t', 'web'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out line\n');
    assert.equal(r.stderr, 'err line\n');
    const q = engine.calls('GET', `/containers/${'a'.repeat(64)}/logs`).at(-1)!.query;
    assert.equal(q.get('since'), '1357133017.000000000');
    assert.equal(q.get('tail'), '10');
    assert.equal(q.get('timestamps'), '1');
    assert.equal(q.get('stdout'), '1');
    assert.equal(q.get('stderr'), '1');
    const missing = await runBerth(['logs', 'ghost'], { host: engine.host });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such container: ghost\n');
  });

  it('inspect prints the daemon\'s JSON indented, in its key order and escapes', async () => {
    const r = await runBerth(['inspect', 'web'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('[\n    {\n        "Id": "aaaa'));
    assert.ok(r.stdout.includes('"Labels": {\n                "z": "1",\n                "a": "<b>"\n            }'));
    assert.ok(r.stdout.endsWith('    }\n]\n'));
    assert.deepEqual(JSON.parse(r.stdout), [JSON.parse(INSPECT_WEB)]);
  });

  it('inspect falls back to images and reports unknown objects', async () => {
    const r = await runBerth(['inspect', '-f', '{{.Id}}', 'web', 'busybox', 'ghost'], { host: engine.host });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `${'a'.repeat(64)}\nsha256:1\n`);
    assert.equal(r.stderr, 'Error: No such object: ghost\n');
    const none = await runBerth(['inspect', 'ghost'], { host: engine.host });
    assert.equal(none.stdout, '[]\n');
    assert.equal(none.stderr, 'Error: No such object: ghost\n');
  });

  it('inspect templates reach nested fields; --type limits the search', async () => {
    const r = await runBerth(['inspect', '--format', '{{.State.Status}} {{.State.Pid}} {{json .Config.Env}} {{index .Config.Labels "a"}}', 'web'], { host: engine.host });
    assert.equal(r.stdout, 'running 42 ["A=1"] <b>\n');
    const typed = await runBerth(['inspect', '--type', 'image', 'web'], { host: engine.host });
    assert.equal(typed.code, 1);
    assert.equal(typed.stderr, 'Error response from daemon: No such image: web\n');
    const badType = await runBerth(['inspect', '--type', 'pod', 'web'], { host: engine.host });
    assert.match(badType.stderr, /^unknown type: "pod": must be one of "config", "container", /);
    const badTemplate = await runBerth(['inspect', '-f', '{{.State', 'web'], { host: engine.host });
    assert.equal(badTemplate.code, 64);
    assert.match(badTemplate.stderr, /^template parsing error: template: :1: /);
  });

  it('container inspect and image inspect only look at their kind', async () => {
    const c = await runBerth(['container', 'inspect', '-f', '{{.Name}}', 'web', 'busybox'], { host: engine.host });
    assert.equal(c.stdout, '/web\n');
    assert.equal(c.stderr, 'Error response from daemon: No such container: busybox\n');
    const i = await runBerth(['image', 'inspect', '--format', '{{index .RepoTags 0}}', 'busybox'], { host: engine.host });
    assert.equal(i.stdout, 'busybox:latest\n');
  });

  it('attach refuses a stopped container', async () => {
    engine.on('GET', '/containers/db/json', (ctx) => void ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"Id":"db","State":{"Running":false},"Config":{}}'));
    const r = await runBerth(['attach', 'db'], { host: engine.host });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'You cannot attach to a stopped container, start it first\n');
  });

  it('attach streams a running container\'s output and exits with its code', async () => {
    engine.on('POST', '/containers/([^/]+)/wait', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.flushHeaders();
      setTimeout(() => ctx.res.end(JSON.stringify({ StatusCode: 7, Error: null })), 80);
    });
    engine.onHijack('/containers/([^/]+)/attach', (socket) => {
      socket.on('error', () => {});
      socket.write(frame(1, 'attached output\n'));
      setTimeout(() => socket.end(), 50);
    });
    const r = await runBerth(['attach', '--no-stdin', 'web'], { host: engine.host });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, 'attached output\n');
    assert.equal(engine.calls('POST', '/containers/[^/]+/attach').at(-1)!.query.get('stdin'), null);
  });
});
