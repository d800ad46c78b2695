import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { TestDaemon } from '../helpers/daemon.js';

// The Engine API contract over the socket, driven with raw HTTP.

describe('Engine API', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('answers /_ping with the negotiation headers, GET and HEAD', async () => {
    const r = await d.request('GET', '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'OK');
    assert.equal(r.headers['api-version'], '1.47');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['builder-version'], '1');
    const head = await d.request('HEAD', '/_ping');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('serves versioned and unversioned paths and refuses versions out of range', async () => {
    assert.equal((await d.request('GET', '/v1.47/version')).json().ApiVersion, '1.47');
    assert.equal((await d.request('GET', '/v1.24/version')).status, 200);
    const tooNew = await d.request('GET', '/v1.99/version');
    assert.equal(tooNew.status, 400);
    assert.match(tooNew.json().message, /client version 1.99 is too new/);
    const tooOld = await d.request('GET', '/v1.12/version');
    assert.equal(tooOld.status, 400);
    assert.match(tooOld.json().message, /too old. Minimum supported API version is 1.24/);
  });

  it('answers an unknown endpoint with 404 and a JSON message', async () => {
    const r = await d.request('GET', '/v1.47/nothing/here');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { message: 'page not found' });
  });

  it('rejects malformed JSON with 400', async () => {
    const r = await d.request('POST', '/containers/create', '{"Image": "busybox",', { 'Content-Type': 'application/json' });
    assert.equal(r.status, 400);
    assert.match(r.json().message, /invalid JSON/);
  });

  it('answers 404 with Docker\'s message for an unknown image', async () => {
    const r = await d.request('POST', '/containers/create', { Image: 'nope-not-here' });
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'No such image: nope-not-here:latest');
  });

  it('answers 404 for an unknown container', async () => {
    const r = await d.request('GET', '/containers/ghost/json');
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'No such container: ghost');
  });

  it('runs a container through create, start, wait, logs and delete', async () => {
    const c = await d.request('POST', '/containers/create?name=api-life', { Image: 'busybox', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    assert.equal(c.status, 201);
    const id = c.json().Id as string;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.deepEqual(c.json().Warnings, []);

    const created = (await d.request('GET', `/containers/${id}/json`)).json();
    assert.equal(created.State.Status, 'created');
    assert.equal(created.Name, '/api-life');
    assert.equal(created.Path, 'sh');
    assert.deepEqual(created.Args, ['-c', 'echo out; echo err >&2; exit 7']);

    assert.equal((await d.request('POST', `/containers/${id}/start`)).status, 204);
    const waited = await d.request('POST', `/containers/${id}/wait`);
    assert.equal(waited.status, 200);
    assert.equal(waited.json().StatusCode, 7);

    const inspect = (await d.request('GET', '/containers/api-life/json')).json();
    assert.equal(inspect.State.Status, 'exited');
    assert.equal(inspect.State.ExitCode, 7);
    assert.equal(inspect.State.Running, false);

    const logs = await d.request('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
    assert.equal(logs.status, 200);
    const frames = demux(logs.raw);
    assert.deepEqual(frames, [{ stream: 1, text: 'out\n' }, { stream: 2, text: 'err\n' }]);

    const onlyErr = demux((await d.request('GET', `/containers/${id}/logs?stderr=1`)).raw);
    assert.deepEqual(onlyErr, [{ stream: 2, text: 'err\n' }]);

    assert.equal((await d.request('DELETE', `/containers/${id}`)).status, 204);
    assert.equal((await d.request('GET', `/containers/${id}/json`)).status, 404);
  });

  it('refuses a name in use (409), a running container removal (409), and a second start (304)', async () => {
    const first = await d.request('POST', '/containers/create?name=taken', { Image: 'busybox', Cmd: ['sleep', '60'] });
    assert.equal(first.status, 201);
    const second = await d.request('POST', '/containers/create?name=taken', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(second.status, 409);
    assert.match(second.json().message, /The container name "\/taken" is already in use by container "[0-9a-f]{64}"/);

    assert.equal((await d.request('POST', '/containers/taken/start')).status, 204);
    assert.equal((await d.request('POST', '/containers/taken/start')).status, 304);
    const rm = await d.request('DELETE', '/containers/taken');
    assert.equal(rm.status, 409);
    assert.match(rm.json().message, /container is running: stop the container before removing or force remove/);

    const listed = (await d.request('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ name: ['taken'] }))}`)).json();
    assert.equal(listed.length, 1);
    assert.equal(listed[0].State, 'running');
    assert.match(listed[0].Status, /^Up /);

    assert.equal((await d.request('POST', '/containers/taken/stop?t=1')).status, 204);
    assert.equal((await d.request('POST', '/containers/taken/stop?t=1')).status, 304);
    const stopped = (await d.request('GET', '/containers/taken/json')).json();
    assert.equal(stopped.State.Status, 'exited');
    // sleep is PID 1 in its namespace and so ignores SIGTERM: stop escalates to SIGKILL, as with Docker.
    assert.equal(stopped.State.ExitCode, 137);
    assert.equal((await d.request('DELETE', '/containers/taken')).status, 204);
  });

  it('filters the container list by status, label and exited code', async () => {
    const mk = async (name: string, cmd: string[], labels: Record<string, string>) => {
      const r = await d.request('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: cmd, Labels: labels });
      assert.equal(r.status, 201);
      return r.json().Id as string;
    };
    const a = await mk('flt-a', ['sh', '-c', 'exit 2'], { team: 'x' });
    await mk('flt-b', ['true'], { team: 'y' });
    await d.request('POST', `/containers/${a}/start`);
    await d.request('POST', `/containers/${a}/wait`);
    const q = (f: object) => d.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(f))}`).then((r) => r.json().map((c: any) => c.Names[0]).sort());
    assert.deepEqual(await q({ label: ['team=x'] }), ['/flt-a']);
    assert.deepEqual(await q({ status: ['created'], name: ['flt-'] }), ['/flt-b']);
    assert.deepEqual(await q({ exited: ['2'] }), ['/flt-a']);
    const bad = await d.request('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ bogus: ['1'] }))}`);
    assert.equal(bad.status, 400);
    await d.request('DELETE', '/containers/flt-a');
    await d.request('DELETE', '/containers/flt-b');
  });

  it('streams events for create, start, die and destroy', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const c = await d.request('POST', '/containers/create?name=evt', { Image: 'busybox', Cmd: ['true'] });
    const id = c.json().Id;
    await d.request('POST', `/containers/${id}/start`);
    await d.request('POST', `/containers/${id}/wait`);
    await d.request('DELETE', `/containers/${id}`);
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = await d.request('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ container: ['evt'] }))}`);
    const actions = r.body.trim().split('\n').map((l) => JSON.parse(l)).map((e: any) => e.Action);
    assert.deepEqual(actions, ['create', 'start', 'die', 'destroy']);
  });

  it('hijacks attach with 101 UPGRADED and carries stdin and output', async () => {
    const c = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true });
    const id = c.json().Id;
    const output = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest({
        socketPath: d.socket,
        method: 'POST',
        path: `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
        headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      req.on('upgrade', (res, socket) => {
        assert.equal(res.statusCode, 101);
        const chunks: Buffer[] = [];
        socket.on('data', (b: Buffer) => chunks.push(b));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.on('error', reject);
        void d.request('POST', `/containers/${id}/start`).then(() => socket.end('through stdin\n'));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(demux(output), [{ stream: 1, text: 'through stdin\n' }]);
    assert.equal((await d.request('POST', `/containers/${id}/wait`)).json().StatusCode, 0);
    await d.request('DELETE', `/containers/${id}`);
  });
});

export function demux(buf: Buffer): Array<{ stream: number; text: string }> {
  const out: Array<{ stream: number; text: string }> = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off + 4);
    const text = buf.subarray(off + 8, off + 8 + len).toString('utf8');
    const last = out[out.length - 1];
    if (last && last.stream === buf[off]) last.text += text;
    else out.push({ stream: buf[off]!, text });
    off += 8 + len;
  }
  return out;
}
