import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestDaemon } from '../helpers/daemon.js';

// testcontainers (the npm library) against berthd: it starts a container,
// copies content in through the archive API and runs commands with exec.
// testcontainers falls back to /var/run/docker.sock when DOCKER_HOST's daemon
// fails its checks, so the test proves berthd did the work: the container
// must be in berthd's own list.

describe('testcontainers against berthd', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('starts a container, copies files in and out, execs, and stops it', async () => {
    process.env.DOCKER_HOST = d.host;
    // The reaper is an image from a public registry; nothing here may reach one.
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    // In a container (/.dockerenv) testcontainers looks for the bridge network's gateway, which this
    // berth does not have yet; the documented override names the host instead.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    const { GenericContainer, getContainerRuntimeClient } = await import('testcontainers');
    // Before anything is created: the runtime it settled on must be this berthd, not a fallback.
    const client = await getContainerRuntimeClient();
    const modem = (client.container as unknown as { dockerode: { modem: { socketPath?: string } } }).dockerode.modem;
    assert.equal(modem.socketPath, d.socket, 'testcontainers talks to the test berthd');
    const started = await new GenericContainer('busybox:latest')
      .withCommand(['sleep', '1000'])
      .withCopyContentToContainer([{ content: 'from testcontainers\n', target: '/data/hello.txt' }])
      .withLabels({ 'berth.test': 'testcontainers' })
      .start();
    try {
      const listed = await d.docker(['ps', '--filter', 'label=berth.test=testcontainers', '--format', '{{.ID}}']);
      assert.equal(listed.stdout.trim(), started.getId().slice(0, 12), 'the container runs on berthd');

      const cat = await started.exec(['cat', '/data/hello.txt']);
      assert.equal(cat.exitCode, 0);
      assert.equal(cat.output, 'from testcontainers\n');
      const failing = await started.exec(['sh', '-c', 'echo oops >&2; exit 3']);
      assert.equal(failing.exitCode, 3);
      assert.equal(failing.stderr, 'oops\n');

      await started.copyContentToContainer([{ content: 'second\n', target: '/tmp/second.txt' }]);
      assert.equal((await started.exec(['cat', '/tmp/second.txt'])).output, 'second\n');
      const archive = await started.copyArchiveFromContainer('/data/hello.txt');
      const chunks: Buffer[] = [];
      for await (const c of archive as AsyncIterable<Buffer>) chunks.push(c);
      assert.match(Buffer.concat(chunks).toString('latin1'), /hello\.txt[\s\S]*from testcontainers/);
    } finally {
      await started.stop();
    }
    const after = await d.docker(['ps', '-a', '--filter', 'label=berth.test=testcontainers', '--format', '{{.ID}}']);
    assert.equal(after.stdout.trim(), '', 'stop removed it');
  });
});
