import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeEngine, sendJson } from '../../client/testing/fake-engine.js';
import { runBerth } from '../testing/run-berth.js';
import { formatEvent } from './system-events.js';
import { reformatDate } from './system-version.js';

const SERVER_VERSION = {
  Platform: { Name: 'berth' },
  Components: [
    { Name: 'Engine', Version: '0.1.0', Details: { ApiVersion: '1.47', Arch: 'amd64', BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: 'v20.0.0', KernelVersion: '6.1', MinAPIVersion: '1.24', Os: 'linux' } },
    { Name: 'runc', Version: '1.1.5', Details: { GitCommit: '' } },
  ],
  Version: '0.1.0',
  ApiVersion: '1.47',
  MinAPIVersion: '1.24',
  GitCommit: '',
  GoVersion: 'v20.0.0',
  Os: 'linux',
  Arch: 'amd64',
  KernelVersion: '6.1',
  BuildTime: '',
};

const INFO = {
  ID: 'engine-id',
  Containers: 3,
  ContainersRunning: 1,
  ContainersPaused: 0,
  ContainersStopped: 2,
  Images: 4,
  Driver: 'overlay2',
  DriverStatus: [],
  Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['k8s-file'] },
  Debug: false,
  LoggingDriver: 'k8s-file',
  CgroupDriver: 'cgroupfs',
  CgroupVersion: '1',
  KernelVersion: '6.1.0',
  OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
  OSType: 'linux',
  Architecture: 'x86_64',
  NCPU: 4,
  MemTotal: 16_654_356_480,
  DockerRootDir: '/var/lib/berth',
  Name: 'host1',
  Labels: [],
  ExperimentalBuild: false,
  ServerVersion: '0.1.0',
  Runtimes: { runc: { path: '/usr/sbin/runc' } },
  DefaultRuntime: 'runc',
  Swarm: { LocalNodeState: 'inactive', ControlAvailable: false },
  LiveRestoreEnabled: true,
  InitBinary: '',
  ContainerdCommit: { ID: '' },
  RuncCommit: { ID: '' },
  InitCommit: { ID: '' },
  SecurityOptions: ['name=seccomp,profile=builtin'],
  RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: null },
  Warnings: ['WARNING: bridge-nf-call-iptables is disabled'],
};

describe('system commands', () => {
  let engine: FakeEngine;
  before(async () => {
    engine = await FakeEngine.start();
    engine.on('GET', '/version', (ctx) => sendJson(ctx.res, 200, SERVER_VERSION));
    engine.on('GET', '/info', (ctx) => sendJson(ctx.res, 200, INFO));
    engine.on('GET', '/events', (ctx) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      // Written as text: the nanoseconds do not survive a JS number.
      ctx.res.end('{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"x","image":"busybox"}},"scope":"local","time":1704067200,"timeNano":1704067200000000001}\n');
    });
  });
  after(async () => {
    await engine.stop();
  });

  it('version prints docker\'s layout for client and server', async () => {
    const r = await runBerth(['version'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Client:');
    assert.match(lines[1]!, /^ Version: {11}\S/);
    assert.equal(lines[2], ' API version:       1.47');
    assert.ok(r.stdout.includes('\nServer: berth\n Engine:\n  Version:          0.1.0\n  API version:      1.47 (minimum version 1.24)\n'));
    assert.ok(r.stdout.includes('  OS/Arch:          linux/amd64\n  Experimental:     false\n runc:\n  Version:          1.1.5\n  GitCommit:        \n'));
  });

  it('version --format reaches client and server fields', async () => {
    const r = await runBerth(['version', '--format', '{{.Server.APIVersion}}{{.Server.ApiVersion}} {{.Client.ApiVersion}}'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1\.47 1\.47\n$/);
  });

  it('version without a daemon prints the client part and fails', async () => {
    const r = await runBerth(['version'], { host: 'unix:///nonexistent/x.sock' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^Client:\n Version: /);
    assert.ok(!r.stdout.includes('Server:'));
    assert.equal(r.stderr, 'Cannot connect to the berth daemon at unix:///nonexistent/x.sock. Is the berth daemon running?\n');
  });

  it('info prints docker\'s layout and the daemon\'s warnings on stderr', async () => {
    const r = await runBerth(['info'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Client:\n Version: {4}\S+\n Context: {4}default\n Debug Mode: false\n\nServer:\n Containers: 3\n {2}Running: 1\n {2}Paused: 0\n {2}Stopped: 2\n Images: 4\n Server Version: 0.1.0\n Storage Driver: overlay2\n/);
    assert.ok(r.stdout.includes(' Plugins:\n  Volume: local\n  Network: bridge host none\n  Log: k8s-file\n Swarm: inactive\n Runtimes: runc\n Default Runtime: runc\n'));
    assert.ok(r.stdout.includes(' Security Options:\n  seccomp\n   Profile: builtin\n'));
    assert.ok(r.stdout.includes(' Total Memory: 15.51GiB\n'));
    assert.ok(r.stdout.includes(' Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: true\n\n'));
    assert.equal(r.stderr, 'WARNING: bridge-nf-call-iptables is disabled\n');
  });

  it('info --format over the daemon\'s fields and ClientInfo', async () => {
    const r = await runBerth(['system', 'info', '--format', '{{.Driver}} {{.OSType}} {{.ClientInfo.Context}}'], { host: engine.host });
    assert.equal(r.stdout, 'overlay2 linux default\n');
    const json = await runBerth(['info', '--format', 'json'], { host: engine.host });
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.ID, 'engine-id');
    assert.equal(parsed.ClientInfo.Context, 'default');
    assert.deepEqual(parsed.ClientInfo.Plugins, []);
    const clientOnly = await runBerth(['info', '--format', '{{.ClientInfo.Context}}'], { host: 'unix:///nonexistent/x.sock' });
    assert.equal(clientOnly.code, 0, 'templates that only read ClientInfo need no daemon');
    assert.equal(clientOnly.stdout, 'default\n');
  });

  it('events prints docker\'s line layout and passes filters', async () => {
    const r = await runBerth(['events', '--since', '1704067000', '--until', '1704067300', '-f', 'type=container', '-f', 'event=start'], { host: engine.host });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000001(Z|[+-]\d{2}:\d{2}) container start abc \(image=busybox, name=x\)\n$/);
    const q = engine.calls('GET', '/events').at(-1)!.query;
    assert.equal(q.get('since'), '1704067000');
    assert.equal(q.get('until'), '1704067300');
    assert.deepEqual(JSON.parse(q.get('filters')!), { type: ['container'], event: ['start'] });
    const formatted = await runBerth(['system', 'events', '--format', '{{.Type}}/{{.Action}}/{{.Actor.Attributes.name}}'], { host: engine.host });
    assert.equal(formatted.stdout, 'container/start/x\n');
  });
});

describe('formatEvent', () => {
  it('sorts attributes and falls back to seconds', () => {
    const line = formatEvent({ Type: 'image', Action: 'tag', Actor: { ID: 'sha256:1', Attributes: { z: '1', a: '2' } }, scope: 'local', time: 1704067200, timeNano: 0 });
    assert.match(line, /\.000000000(Z|[+-]\d{2}:\d{2}) image tag sha256:1 \(a=2, z=1\)\n$/);
  });
});

describe('reformatDate', () => {
  it('shows RFC 3339 build times in Go\'s ANSIC layout', () => {
    assert.equal(reformatDate('2025-05-30T12:07:14.000000000+00:00'), 'Fri May 30 12:07:14 2025');
    assert.equal(reformatDate(''), '');
  });
});
