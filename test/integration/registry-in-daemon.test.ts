import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { TestDaemon, runCommand } from '../helpers/daemon.js';
import { freePort } from '../helpers/registry.js';

// berth's registry server run inside berthd when daemon.json asks for it:
// the docker CLI pushes to it through berthd, skopeo reads it, and it goes
// away with the daemon.

describe('registry server inside berthd (daemon.json "registry")', () => {
  let d: TestDaemon;
  let port: number;
  before(async () => {
    port = await freePort();
    d = await TestDaemon.start([], { registry: { addr: `127.0.0.1:${port}` } });
    await d.loadBusybox();
  });
  after(async () => d?.stop());

  it('serves the Distribution API from <data-root>/registry: docker push through berthd, skopeo inspect, pull back', async () => {
    const name = `127.0.0.1:${port}/inside/busybox:v1`;
    assert.equal((await d.docker(['tag', 'busybox', name])).code, 0);
    const push = await d.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /v1: digest: sha256:[0-9a-f]{64}/);
    const inspect = await runCommand('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).Name, `127.0.0.1:${port}/inside/busybox`);
    assert.ok(existsSync(join(d.dataRoot, 'registry')), 'storage under the data root by default');
    assert.equal((await d.docker(['rmi', name])).code, 0);
    const pull = await d.docker(['run', '--rm', name, 'echo', 'pulled from the daemon\'s own registry']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /pulled from the daemon's own registry/);
  });

  it('refuses a malformed registry entry at start, as any daemon.json error', async () => {
    await assert.rejects(TestDaemon.start([], { registry: { addr: 5000 } }), /cannot unmarshal object into Go struct field Config\.registry/);
    await assert.rejects(TestDaemon.start([], { registry: { addr: '127.0.0.1:1', bogus: 'x' } }), /Config\.registry/);
  });
});
