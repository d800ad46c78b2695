import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { connect, createServer, type Socket } from 'node:net';
import { ApiError, DaemonUnreachableError } from './errors.js';
import { EngineClient, encodeQuery } from './engine-client.js';
import { copyMultiplexed, readJsonLines } from './streams.js';
import { chooseHost, parseHost } from './host.js';
import { FakeEngine, frame, sendJson } from './testing/fake-engine.js';

describe('EngineClient over a UNIX socket', () => {
  let engine: FakeEngine;
  let client: EngineClient;
  before(async () => {
    engine = await FakeEngine.start();
    client = new EngineClient({ host: engine.host });
  });
  after(async () => {
    client.close();
    await engine.stop();
  });

  it('sends versioned JSON requests and parses the answer', async () => {
    engine.on('POST', '/containers/create', (ctx) => sendJson(ctx.res, 201, { Id: 'abc', Warnings: [] }));
    const created = await client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'web' });
    assert.deepEqual(created, { Id: 'abc', Warnings: [] });
    const req = engine.calls('POST', '/containers/create').at(-1)!;
    assert.equal(req.query.get('name'), 'web');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body.toString()), { Image: 'busybox', Cmd: ['true'] });
    assert.ok(engine.requests.every((r) => r.path.startsWith('/')));
  });

  it('uses /v1.47 paths and leaves /_ping unversioned', async () => {
    const seen: string[] = [];
    engine.on('GET', '/_ping', (ctx) => {
      seen.push(ctx.req.url!);
      ctx.res.writeHead(200, { 'API-Version': '1.47', OSType: 'linux' }).end('OK');
    });
    engine.on('GET', '/version', (ctx) => {
      seen.push(ctx.req.url!);
      sendJson(ctx.res, 200, { Version: '0.1.0' });
    });
    assert.deepEqual(await client.ping(), { apiVersion: '1.47', osType: 'linux' });
    await client.version();
    assert.deepEqual(seen, ['/_ping', '/v1.47/version']);
  });

  it('turns error statuses into ApiError with the daemon\'s message', async () => {
    engine.on('GET', '/containers/([^/]+)/json', (ctx) => sendJson(ctx.res, 404, { message: `No such container: ${ctx.params[0]}` }));
    await assert.rejects(client.containerInspect('ghost'), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.statusCode, 404);
      assert.equal(err.message, 'No such container: ghost');
      assert.equal(err.toString(), 'Error response from daemon: No such container: ghost');
      return true;
    });
  });

  it('encodes filters as JSON and booleans as 1', async () => {
    engine.on('GET', '/containers/json', (ctx) => sendJson(ctx.res, 200, []));
    await client.containerList({ all: true, size: false, filters: { status: ['exited'], label: ['a=b'] } });
    const q = engine.calls('GET', '/containers/json').at(-1)!.query;
    assert.equal(q.get('all'), '1');
    assert.equal(q.get('size'), null);
    assert.deepEqual(JSON.parse(q.get('filters')!), { status: ['exited'], label: ['a=b'] });
    assert.equal(encodeQuery({ changes: ['CMD ["sh"]', 'ENV A=1'] }), '?changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1');
  });

  it('resolves containerWait once the headers arrive, and the result when the body comes', async () => {
    let finish!: () => void;
    engine.on('POST', '/containers/([^/]+)/wait', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.flushHeaders();
      finish = () => ctx.res.end(JSON.stringify({ StatusCode: 3, Error: null }));
    });
    const wait = await client.containerWait('abc', 'next-exit');
    assert.equal(engine.calls('POST', '/containers/abc/wait').at(-1)!.query.get('condition'), 'next-exit');
    let settled = false;
    void wait.result.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(settled, false, 'no result before the container exits');
    finish();
    assert.deepEqual(await wait.result, { StatusCode: 3, Error: null });
  });

  it('hijacks attach: raw bytes both ways, half-close on our end, output until the daemon closes', async () => {
    engine.onHijack('/containers/([^/]+)/attach', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        // Our stdin reached EOF; the "container" answers and then finishes.
        socket.write(frame(1, `got:${Buffer.concat(chunks).toString()}`));
        socket.write(frame(2, 'bye'));
        socket.end();
      });
    });
    const conn = await client.containerAttach('abc', { stream: true, stdin: true, stdout: true, stderr: true });
    assert.equal(conn.contentType, 'application/vnd.docker.multiplexed-stream');
    const req = engine.calls('POST', '/containers/abc/attach').at(-1)!;
    assert.equal(req.headers.upgrade, 'tcp');
    assert.equal(req.headers.connection, 'Upgrade');
    assert.equal(req.query.get('stdin'), '1');
    let out = '';
    let err = '';
    const copied = copyMultiplexed(conn.socket, { stdout: (d) => (out += d), stderr: (d) => (err += d) });
    conn.socket.write('hello');
    conn.closeWrite();
    await copied;
    assert.equal(out, 'got:hello');
    assert.equal(err, 'bye');
  });

  it('rejects a refused attach with the daemon\'s message', async () => {
    await assert.rejects(client.hijack('/containers/x/nothing'), { message: 'page not found' });
  });

  it('streams a request body (import) and the JSON-lines answer', async () => {
    engine.on('POST', '/images/create', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.end(JSON.stringify({ status: `sha256:${ctx.body.length}` }) + '\n');
    });
    const tar = Buffer.alloc(100_000, 7);
    const res = await client.imageImport(Readable.from([tar.subarray(0, 50_000), tar.subarray(50_000)]), { repo: 'img', tag: 'v1', changes: ['CMD ["sh"]'], message: 'hi' });
    const messages = [];
    for await (const m of readJsonLines<{ status: string }>(res)) messages.push(m);
    assert.deepEqual(messages, [{ status: 'sha256:100000' }]);
    const q = engine.calls('POST', '/images/create').at(-1)!.query;
    assert.equal(q.get('fromSrc'), '-');
    assert.equal(q.get('repo'), 'img');
    assert.equal(q.get('tag'), 'v1');
    assert.deepEqual(q.getAll('changes'), ['CMD ["sh"]']);
    assert.equal(q.get('message'), 'hi');
  });

  it('demultiplexes logs', async () => {
    engine.on('GET', '/containers/([^/]+)/logs', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      ctx.res.end(Buffer.concat([frame(1, 'one\n'), frame(2, 'two\n')]));
    });
    const res = await client.containerLogs('abc', { stdout: true, stderr: true, tail: '5', since: '100.5' });
    let out = '';
    let err = '';
    await copyMultiplexed(res, { stdout: (d) => (out += d), stderr: (d) => (err += d) });
    assert.equal(out, 'one\n');
    assert.equal(err, 'two\n');
    const q = engine.calls('GET', '/containers/abc/logs').at(-1)!.query;
    assert.equal(q.get('tail'), '5');
    assert.equal(q.get('since'), '100.5');
    assert.equal(q.get('follow'), null);
  });
});

describe('EngineClient when nobody listens', () => {
  it('reports docker\'s "Cannot connect" error', async () => {
    const client = new EngineClient({ host: 'unix:///nonexistent/berth.sock' });
    await assert.rejects(client.info(), (err: unknown) => {
      assert.ok(err instanceof DaemonUnreachableError);
      assert.equal(err.message, 'Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?');
      return true;
    });
  });

  it('asks onUnreachable once and retries when it brings the daemon up', async () => {
    const engine = await FakeEngine.start();
    engine.on('GET', '/info', (ctx) => sendJson(ctx.res, 200, { ID: 'x' }));
    const socketPath = engine.socketPath;
    let calls = 0;
    const late = createServer(forwardTo(socketPath));
    // Nothing listens at the alternate path until the hook "starts" the daemon.
    const client = new EngineClient({
      host: `unix://${socketPath}.missing`,
      onUnreachable: async () => {
        calls++;
        await new Promise<void>((resolve) => late.listen(`${socketPath}.missing`, resolve));
        return true;
      },
    });
    assert.deepEqual(await client.info(), { ID: 'x' });
    assert.equal(calls, 1);
    client.close();
    late.close();
    await engine.stop();
  });

  it('works over TCP', async () => {
    const engine = await FakeEngine.start();
    engine.on('GET', '/info', (ctx) => sendJson(ctx.res, 200, { ID: 'tcp' }));
    const proxy = createServer(forwardTo(engine.socketPath));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const client = new EngineClient({ host: `tcp://127.0.0.1:${port}` });
    assert.deepEqual(await client.info(), { ID: 'tcp' });
    client.close();
    proxy.close();
    await engine.stop();
  });
});

/** A connection handler that relays to the UNIX socket (a daemon that "appears", or a TCP front). */
function forwardTo(socketPath: string): (client: Socket) => void {
  return (client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  };
}

describe('host selection', () => {
  it('parses docker host strings', () => {
    assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', socketPath: '/run/x.sock', url: 'unix:///run/x.sock' });
    assert.deepEqual(parseHost('tcp://10.0.0.1:2376'), { kind: 'tcp', host: '10.0.0.1', port: 2376, url: 'tcp://10.0.0.1:2376' });
    assert.deepEqual(parseHost('tcp://[::1]:2375'), { kind: 'tcp', host: '::1', port: 2375, url: 'tcp://[::1]:2375' });
    assert.deepEqual(parseHost('localhost:1234'), { kind: 'tcp', host: 'localhost', port: 1234, url: 'tcp://localhost:1234' });
    // Without a port: docker's 2375, or 2376 when TLS is on.
    assert.equal((parseHost('tcp://127.0.0.1') as { port: number }).port, 2375);
    assert.equal((parseHost('tcp://127.0.0.1', { tls: true }) as { port: number }).port, 2376);
    assert.throws(() => parseHost('ftp://x'), { message: 'invalid bind address format: ftp://x' });
  });

  it('prefers -H, then BERTH_HOST, then DOCKER_HOST, then the default', () => {
    assert.deepEqual(chooseHost(['tcp://a:1'], { BERTH_HOST: 'unix:///b', DOCKER_HOST: 'unix:///c' }), { host: 'tcp://a:1', isDefault: false });
    assert.deepEqual(chooseHost([], { BERTH_HOST: 'unix:///b', DOCKER_HOST: 'unix:///c' }), { host: 'unix:///b', isDefault: false });
    assert.deepEqual(chooseHost([], { DOCKER_HOST: 'unix:///c' }), { host: 'unix:///c', isDefault: false });
    assert.deepEqual(chooseHost([], {}), { host: 'unix:///run/berth/berth.sock', isDefault: true });
  });
});
