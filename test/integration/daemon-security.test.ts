import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BERTHD, TestDaemon, busyboxTar, leftoverMounts, runCommand, type RunResult } from '../helpers/daemon.js';
import { freePort, makeTestPki, type TestPki } from '../helpers/tls-certs.js';
import { lookupGroupId } from '../../src/daemon/socket-group.js';

// What keeps berthd from hurting the host or its other users: paths inside a
// container's root resolved inside it, private state, the socket's group, and
// TCP only with TLS client certificates (or an explicit opt-out).

const unique = () => randomBytes(4).toString('hex');

/** Runs `args` as uid/gid 65534 with no supplementary groups: any local user. */
function asNobody(args: string[]): Promise<RunResult> {
  return runCommand('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ...args]);
}

/** busybox's rootfs tar with extra entries appended (later entries replace earlier ones). */
async function busyboxWith(dir: string, name: string, make: (root: string) => Promise<void>): Promise<Buffer> {
  const extra = join(dir, `${name}-extra`);
  await mkdir(extra);
  await make(extra);
  const out = join(dir, `${name}.tar`);
  await copyFile(await busyboxTar(), out);
  const r = await runCommand('tar', ['-rf', out, '-C', extra, '.']);
  if (r.code !== 0) throw new Error(`tar: ${r.stderr}`);
  return readFile(out);
}

async function importImage(d: TestDaemon, tar: Buffer, repo: string, changes: string[]): Promise<void> {
  const q = changes.map((c) => `&changes=${encodeURIComponent(c)}`).join('');
  const r = await d.request('POST', `/images/create?fromSrc=-&repo=${repo}&tag=latest${q}`, tar, { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 200, r.body);
  assert.doesNotMatch(r.body, /"error"/);
}

/** Starts berthd by hand (for starts that must fail); returns its exit and output. */
async function berthdOnce(dir: string, args: string[], daemonJson = '{}'): Promise<RunResult> {
  await writeFile(join(dir, 'daemon.json'), daemonJson);
  return runCommand(process.execPath, [
    BERTHD, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--config-file', join(dir, 'daemon.json'),
    '--cgroup-parent', `/berth-sec-${unique()}`,
    // Some of these starts fail only at the listeners, after the network came up:
    // leave the host's ip_forward alone and use a bridge of their own.
    '--ip-forward=false', '--bridge', `bt${randomBytes(5).toString('hex')}`, ...args,
  ], { timeoutMs: 20_000 });
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('paths inside a container root', () => {
  let d: TestDaemon;
  let work: string;
  const tag = unique();
  const escape = `berth-sec-escape-${tag}`;

  before(async () => {
    d = await TestDaemon.start();
    work = await mkdtemp(join(tmpdir(), 'berth-sec-images-'));
    await d.loadBusybox();
    // The exploit of issue 11: /w -> /b/tmp, /b -> /, WORKDIR /w/NAME. Read on the
    // host, that is /tmp/NAME; inside the container it is the root's own /tmp/NAME.
    const escapeTar = await busyboxWith(work, 'escape', async (root) => {
      await symlink('/b/tmp', join(root, 'w'));
      await symlink('/', join(root, 'b'));
      await symlink('loop2', join(root, 'loop1'));
      await symlink('/loop1', join(root, 'loop2'));
    });
    await importImage(d, escapeTar, `escape-${tag}`, [`WORKDIR /w/${escape}`, 'CMD ["pwd"]']);
    const loopTar = await busyboxWith(work, 'pwloop', async (root) => {
      await mkdir(join(root, 'etc'));
      await symlink('/etc/passwd', join(root, 'etc', 'passwd'));
    });
    await importImage(d, loopTar, `pwloop-${tag}`, ['CMD ["true"]']);
  });

  after(async () => {
    await d?.stop();
    await rm(work, { recursive: true, force: true });
    // Only if the test failed would these exist; never leave them behind.
    for (const name of [escape, `${escape}-owned`]) await rm(join('/tmp', name), { recursive: true, force: true });
  });

  it('makes the WORKDIR inside the container, never through the host /tmp', async () => {
    const r = await d.docker(['run', '--rm', `escape-${tag}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `/tmp/${escape}`, 'the working directory is the root\'s /tmp/NAME');
    assert.equal(existsSync(join('/tmp', escape)), false, 'nothing may be created on the host');
    const inside = await d.docker(['run', '--rm', `escape-${tag}`, 'ls', '-d', `/tmp/${escape}`]);
    assert.equal(inside.code, 0, inside.stderr);
  });

  it('gives a created working directory to the container user', async () => {
    const r = await d.docker(['run', '--rm', '-u', '1234:2345', '-w', `/w/${escape}-owned/sub`, `escape-${tag}`, 'sh', '-c', 'pwd; stat -c %u:%g . ..']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [`/tmp/${escape}-owned/sub`, '1234:2345', '1234:2345']);
    assert.equal(existsSync(join('/tmp', `${escape}-owned`)), false);
  });

  it('refuses a working directory through a symlink loop, and stays responsive', async () => {
    const r = await d.docker(['run', '--rm', '-w', '/loop1/x', `escape-${tag}`, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /too many levels of symbolic links/);
    const ping = await d.request('GET', '/_ping');
    assert.equal(ping.status, 200);
  });

  it('refuses an /etc/passwd that loops, naming the loop', async () => {
    const r = await d.docker(['run', '--rm', '-u', 'mail', `pwloop-${tag}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /too many levels of symbolic links/);
  });
});

describe('private state', () => {
  let d: TestDaemon;
  const secret = `hunter2-${unique()}`;
  let id: string;

  before(async () => {
    d = await TestDaemon.start();
    // The test's temp dir is 0700; open it so only berth's own modes stand between nobody and the files.
    await chmod(d.dir, 0o755);
    await d.loadBusybox();
    const r = await d.docker(['run', '-d', '-e', `PASSWORD=${secret}`, 'busybox', 'sleep', '60']);
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
  });

  after(async () => d?.stop());

  it('keeps records, bundles and logs to root (0600/0700, container dir 0710 as dockerd)', async () => {
    const dir = join(d.dataRoot, 'containers', id);
    const bundle = join(d.execRoot, 'bundles', id);
    // These are the files that carry the environment.
    assert.match(await readFile(join(dir, 'container.json'), 'utf8'), new RegExp(secret));
    assert.match(await readFile(join(bundle, 'config.json'), 'utf8'), new RegExp(secret));
    const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);
    assert.deepEqual(
      {
        containers: await mode(join(d.dataRoot, 'containers')),
        dir: await mode(dir),
        record: await mode(join(dir, 'container.json')),
        log: await mode(join(dir, 'container.log')),
        bundles: await mode(join(d.execRoot, 'bundles')),
        bundle: await mode(bundle),
        spec: await mode(join(bundle, 'config.json')),
        hosts: await mode(join(dir, 'hosts')),
        hostname: await mode(join(dir, 'hostname')),
        resolv: await mode(join(dir, 'resolv.conf')),
      },
      { containers: '710', dir: '710', record: '600', log: '600', bundles: '700', bundle: '700', spec: '600', hosts: '644', hostname: '644', resolv: '644' },
    );
  });

  it('hides a container\'s -e PASSWORD from every other local user', async () => {
    for (const file of [join(d.dataRoot, 'containers', id, 'container.json'), join(d.execRoot, 'bundles', id, 'config.json')]) {
      const r = await asNobody(['cat', file]);
      assert.notEqual(r.code, 0, `uid 65534 read ${file}`);
      assert.match(r.stderr, /Permission denied/);
    }
    // Nothing anywhere under the daemon's roots gives it away.
    const grep = await asNobody(['grep', '-rs', secret, d.dataRoot, d.execRoot]);
    assert.equal(grep.stdout, '');
    assert.equal(grep.code, 2, 'grep met unreadable directories and found nothing');
  });

  it('leaves hosts, hostname and resolv.conf readable for a non-root container user', async () => {
    const r = await d.docker(['run', '--rm', '-u', '65534:65534', 'busybox', 'sh', '-c', 'cat /etc/hosts /etc/hostname /etc/resolv.conf >/dev/null && grep -c localhost /etc/hosts']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) >= 1);
  });

  it('makes state an older berth left open private again at start', async () => {
    const record = join(d.dataRoot, 'containers', id, 'container.json');
    await chmod(record, 0o644);
    await chmod(join(d.dataRoot, 'containers', id), 0o755);
    await d.terminate();
    await d.launch();
    assert.equal((await stat(record)).mode & 0o777, 0o600);
    assert.equal((await stat(join(d.dataRoot, 'containers', id))).mode & 0o777, 0o710);
  });
});

describe('startup sweep', () => {
  it('releases the mounted bundle of a container whose record is gone', async () => {
    const d = await TestDaemon.start();
    try {
      await d.loadBusybox();
      const r = await d.docker(['run', '-d', 'busybox', 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      // A crash between removing the record and tearing the run down.
      await d.kill9();
      await rm(join(d.dataRoot, 'containers', id), { recursive: true, force: true });
      assert.deepEqual(await leftoverMounts(join(d.execRoot, 'bundles')), [join(d.execRoot, 'bundles', id, 'rootfs')]);
      await d.launch();
      assert.deepEqual(await leftoverMounts(join(d.execRoot, 'bundles')), []);
      assert.equal(existsSync(join(d.execRoot, 'bundles', id)), false);
    } finally {
      await d.stop();
    }
  });
});

describe('API sockets and daemon.json', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sec-start-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('gives the UNIX socket mode 0660 and the docker group when it exists, as dockerd', async () => {
    const d = await TestDaemon.start();
    try {
      const st = await stat(d.socket);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, (await lookupGroupId('docker')) ?? process.getgid!());
    } finally {
      await d.stop();
    }
  });

  it('takes the socket group from --group and from daemon.json', async () => {
    const nogroup = await lookupGroupId('nogroup');
    assert.ok(nogroup !== undefined, 'this host has a nogroup group');
    const byFlag = await TestDaemon.start(['--group', 'nogroup']);
    try {
      assert.equal((await stat(byFlag.socket)).gid, nogroup);
    } finally {
      await byFlag.stop();
    }
    const byFile = await TestDaemon.start([], { group: String(nogroup) });
    try {
      assert.equal((await stat(byFile.socket)).gid, nogroup);
    } finally {
      await byFile.stop();
    }
  });

  it('refuses a group that does not exist', async () => {
    const sock = join(dir, 'g.sock');
    const r = await berthdOnce(dir, ['-H', `unix://${sock}`, '-G', `no-such-group-${unique()}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /level=fatal msg="group no-such-group-\w+ not found"/);
    assert.equal(existsSync(sock), false);
  });

  it('refuses daemon.json keys it does not honour and values of the wrong type', async () => {
    const sock = join(dir, 'k.sock');
    const unknown = await berthdOnce(dir, ['-H', `unix://${sock}`], '{"userland-proxy": false, "live-restore": true}');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /the following directives don't match any configuration option: userland-proxy, live-restore/);
    const typed = await berthdOnce(dir, ['-H', `unix://${sock}`], '{"tlsverify": "yes"}');
    assert.equal(typed.code, 1);
    assert.match(typed.stderr, /cannot unmarshal string into Go struct field Config.tlsverify of type bool/);
    assert.equal(existsSync(sock), false);
  });

  it('refuses -H tcp:// without TLS unless told --tls=false, before listening anywhere', async () => {
    const port = await freePort();
    const sock = join(dir, 't.sock');
    const r = await berthdOnce(dir, ['-H', `unix://${sock}`, '-H', `tcp://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to listen on tcp:\/\/127\.0\.0\.1:\d+ without --tlsverify/);
    assert.match(r.stderr, /--tls=false/);
    assert.equal(existsSync(sock), false);
    assert.equal(await listening(port), false);
  });

  it('serves plain HTTP on TCP when the user says --tls=false, with a warning', async () => {
    const port = await freePort();
    const d = await TestDaemon.start(['-H', `tcp://127.0.0.1:${port}`, '--tls=false']);
    try {
      assert.match(d.stderr, /level=warning msg="Binding to tcp:\/\/127\.0\.0\.1:\d+ without --tlsverify is insecure/);
      const v = await d.docker(['-H', `tcp://127.0.0.1:${port}`, 'version', '--format', '{{.Server.Os}}']);
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.stdout.trim(), 'linux');
    } finally {
      await d.stop();
    }
  });
});

describe('TCP with TLS', () => {
  let pki: TestPki;
  let d: TestDaemon;
  let port: number;
  let host: string;
  let certDir: string;

  before(async () => {
    pki = await makeTestPki();
    port = await freePort();
    host = `tcp://127.0.0.1:${port}`;
    d = await TestDaemon.start(['-H', host, '--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.serverCert, '--tlskey', pki.serverKey]);
    await d.loadBusybox();
    // DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem.
    certDir = join(pki.dir, 'client-dir');
    await mkdir(certDir);
    await copyFile(pki.ca, join(certDir, 'ca.pem'));
    await copyFile(pki.clientCert, join(certDir, 'cert.pem'));
    await copyFile(pki.clientKey, join(certDir, 'key.pem'));
  });

  after(async () => {
    await d?.stop();
    await rm(pki.dir, { recursive: true, force: true });
  });

  const tlsFlags = () => ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.clientCert, '--tlskey', pki.clientKey, '-H', host];

  it('lets the docker CLI in with a client certificate signed by the CA', async () => {
    const v = await d.docker([...tlsFlags(), 'version', '--format', '{{.Server.Os}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), 'linux');
    // run attaches through a hijacked connection: that works over TLS too.
    const r = await d.docker([...tlsFlags(), 'run', '--rm', 'busybox', 'echo', 'over tls']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'over tls\n');
  });

  it('refuses clients without a certificate, or with one from another CA', async () => {
    const none = await d.docker(['--tlsverify', '--tlscacert', pki.ca, '-H', host, 'version', '--format', '{{.Server.Os}}']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /certificate required|bad certificate/);
    assert.doesNotMatch(none.stdout, /linux/);
    const rogue = await d.docker(['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.rogueCert, '--tlskey', pki.rogueKey, '-H', host, 'ps']);
    assert.notEqual(rogue.code, 0);
    assert.match(rogue.stderr, /tls: /);
  });

  it('answers plain HTTP with an error, never the API', async () => {
    const r = await d.docker(['-H', host, 'ps']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Client sent an HTTP request to an HTTPS server/);
  });

  it('lets the berth CLI in with --tls* flags or DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, like docker', async () => {
    const byFlags = await d.berth([...tlsFlags(), 'version', '--format', '{{.Server.Os}}']);
    assert.equal(byFlags.code, 0, byFlags.stderr);
    assert.equal(byFlags.stdout.trim(), 'linux');
    const byEnv = await d.berth(['ps', '-a', '--format', '{{.ID}}'], { env: { BERTH_HOST: '', DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    const noCert = await d.berth(['--tlsverify', '--tlscacert', pki.ca, '-H', host, 'ps']);
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /^error during connect: tcp:\/\/127\.0\.0\.1:\d+: tls: .*certificate required/);
  });

  it('takes the TLS settings from daemon.json too', async () => {
    const port2 = await freePort();
    const d2 = await TestDaemon.start(['-H', `tcp://127.0.0.1:${port2}`], { tls: true, tlsverify: true, tlscacert: pki.ca, tlscert: pki.serverCert, tlskey: pki.serverKey });
    try {
      const ok = await d2.docker(['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.clientCert, '--tlskey', pki.clientKey, '-H', `tcp://127.0.0.1:${port2}`, 'info', '--format', '{{.OSType}}']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), 'linux');
      const refused = await d2.docker(['--tlsverify', '--tlscacert', pki.ca, '-H', `tcp://127.0.0.1:${port2}`, 'info']);
      assert.notEqual(refused.code, 0);
    } finally {
      await d2.stop();
    }
  });
});
