import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../flags.js';
import {
  CONTAINER_FLAGS,
  buildCreateRequest,
  parseKeyValueFile,
  parseMount,
  parseRestartPolicy,
  parseUlimit,
  validateEnv,
  volumeHasSource,
  type ContainerFlagValues,
} from './container-options.js';

/** Parses run-style argv and maps it, as `berth run` does. */
function build(argv: string[], files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) {
  const parsed = parseFlags(CONTAINER_FLAGS, argv, { interspersed: false });
  return buildCreateRequest(parsed.values as unknown as ContainerFlagValues, {
    image: parsed.args[0]!,
    args: parsed.args.slice(1),
    changed: parsed.changed,
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return files[p]!;
    },
    env,
  });
}

describe('buildCreateRequest (docker run flags → create body)', () => {
  it('fills Config like docker for a plain run', () => {
    const r = build(['busybox', 'echo', 'hi']);
    assert.equal(r.Image, 'busybox');
    assert.deepEqual(r.Cmd, ['echo', 'hi']);
    assert.equal(r.AttachStdin, false);
    assert.equal(r.AttachStdout, true);
    assert.equal(r.AttachStderr, true);
    assert.equal(r.OpenStdin, false);
    assert.equal(r.StdinOnce, false);
    assert.equal(r.Tty, false);
    assert.equal(r.Entrypoint, null);
    assert.deepEqual(r.Env, []);
    assert.equal(r.HostConfig.NetworkMode, 'default');
    assert.deepEqual(r.NetworkingConfig, { EndpointsConfig: { default: {} } });
    assert.deepEqual(r.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.equal(r.HostConfig.MemorySwappiness, -1);
    assert.equal(r.HostConfig.Init, undefined);
    assert.equal(r.StopTimeout, undefined);
  });

  it('maps -i, -t, --rm, -a, -u, -w, -h, --entrypoint, --init, --stop-*', () => {
    const r = build(['-it', '--rm', '-u', 'nobody', '-w', '/work', '-h', 'box', '--entrypoint', 'sh', '--init', '--stop-signal', 'SIGINT', '--stop-timeout', '3', 'img']);
    assert.equal(r.Tty, true);
    assert.equal(r.OpenStdin, true);
    assert.equal(r.AttachStdin, true);
    assert.equal(r.StdinOnce, true);
    assert.equal(r.HostConfig.AutoRemove, true);
    assert.equal(r.User, 'nobody');
    assert.equal(r.WorkingDir, '/work');
    assert.equal(r.Hostname, 'box');
    assert.deepEqual(r.Entrypoint, ['sh']);
    assert.equal(r.HostConfig.Init, true);
    assert.equal(r.StopSignal, 'SIGINT');
    assert.equal(r.StopTimeout, 3);
    const attachOnly = build(['-a', 'STDERR', 'img']);
    assert.equal(attachOnly.AttachStdout, false);
    assert.equal(attachOnly.AttachStderr, true);
  });

  it('resets the entrypoint with --entrypoint ""', () => {
    assert.deepEqual(build(['--entrypoint', '', 'img']).Entrypoint, ['']);
  });

  it('reads env files before -e, and takes unset values from the local environment', () => {
    process.env.BERTH_TEST_FROM_CLI = '/home/x';
    try {
      const r = build(['--env-file', '/e.list', '-e', 'B=override', '-e', 'BERTH_TEST_FROM_CLI', '-e', 'BERTH_TEST_UNSET', 'img'], { '/e.list': '# comment\n\nA=1\nB=2\n  C=3\nFROM_ENV\nNOT_SET\n' }, { FROM_ENV: 'yes' });
      assert.deepEqual(r.Env, ['A=1', 'B=2', 'C=3', 'FROM_ENV=yes', 'B=override', 'BERTH_TEST_FROM_CLI=/home/x', 'BERTH_TEST_UNSET']);
    } finally {
      delete process.env.BERTH_TEST_FROM_CLI;
    }
  });

  it('reads labels from -l and --label-file', () => {
    const r = build(['--label-file', '/l', '-l', 'b=2', '-l', 'flag', 'img'], { '/l': 'a=1\nb=1\n' });
    assert.deepEqual(r.Labels, { a: '1', b: '2', flag: '' });
  });

  it('says which env file is missing, like docker', () => {
    assert.throws(() => build(['--env-file', '/nope', 'img']), { message: 'open /nope: no such file or directory' });
  });

  it('publishes ports as ExposedPorts and PortBindings', () => {
    const r = build(['-p', '8080:80', '-p', '127.0.0.1:53:53/udp', '-p', '9000-9001:9000-9001', '-p', '443', '--expose', '7000-7001', 'img']);
    assert.deepEqual(r.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {}, '443/tcp': {}, '7000/tcp': {}, '7001/tcp': {} });
    assert.deepEqual(r.HostConfig.PortBindings, {
      '80/tcp': [{ HostIp: '', HostPort: '8080' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '53' }],
      '9000/tcp': [{ HostIp: '', HostPort: '9000' }],
      '9001/tcp': [{ HostIp: '', HostPort: '9001' }],
      '443/tcp': [{ HostIp: '', HostPort: '' }],
    });
    assert.deepEqual(build(['-p', 'published=8081,target=81', 'img']).HostConfig.PortBindings, { '81/tcp': [{ HostIp: '', HostPort: '8081' }] });
    assert.deepEqual(build(['-p', '[::1]:80:80', 'img']).HostConfig.PortBindings, { '80/tcp': [{ HostIp: '::1', HostPort: '80' }] });
  });

  it('rejects bad ports with go-connections\' messages', () => {
    assert.throws(() => build(['-p', 'x:80', 'img']), { message: 'invalid hostPort: x' });
    assert.throws(() => build(['-p', '80/foo', 'img']), { message: 'invalid proto: foo' });
    assert.throws(() => build(['-p', '1.2.3:80:80', 'img']), { message: 'invalid IP address: 1.2.3' });
    assert.throws(() => build(['--expose', '80:80', 'img']), { message: 'invalid port format for --expose: 80:80' });
  });

  it('splits -v into binds and anonymous volumes, and passes --mount and --tmpfs through', () => {
    const r = build(['-v', '/host:/data:ro', '-v', 'named:/named', '-v', '/anon', '--mount', 'type=bind,src=/a,dst=/b,readonly', '--tmpfs', '/run:size=64m', '--tmpfs', '/tmp', 'img']);
    assert.deepEqual(r.HostConfig.Binds, ['/host:/data:ro', 'named:/named']);
    assert.deepEqual(r.Volumes, { '/anon': {} });
    assert.deepEqual(r.HostConfig.Mounts, [{ Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true }]);
    assert.deepEqual(r.HostConfig.Tmpfs, { '/run': 'size=64m', '/tmp': '' });
    const relative = build(['-v', './here:/x', 'img']);
    assert.equal(relative.HostConfig.Binds![0], `${process.cwd()}/here:/x`);
  });

  it('maps restart policies, resources and log options', () => {
    const r = build(['--restart', 'on-failure:3', '-m', '512m', '--cpus', '1.5', '--memory-swap', '-1', '--pids-limit', '100', '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--ulimit', 'nofile=1024:2048', 'img']);
    assert.deepEqual(r.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.equal(r.HostConfig.Memory, 512 * 1024 * 1024);
    assert.equal(r.HostConfig.NanoCpus, 1_500_000_000);
    assert.equal(r.HostConfig.MemorySwap, -1);
    assert.equal(r.HostConfig.PidsLimit, 100);
    assert.deepEqual(r.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
    assert.deepEqual(r.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  });

  it('connects to named networks with aliases, and keeps one network without endpoint config', () => {
    const alone = build(['--network', 'host', 'img']);
    assert.equal(alone.HostConfig.NetworkMode, 'host');
    assert.deepEqual(alone.NetworkingConfig, { EndpointsConfig: {} });
    const aliased = build(['--network', 'appnet', '--network-alias', 'db', '--ip', '10.0.0.5', 'img']);
    assert.deepEqual(aliased.NetworkingConfig!.EndpointsConfig!.appnet, { Aliases: ['db'], IPAMConfig: { IPv4Address: '10.0.0.5', IPv6Address: '', LinkLocalIPs: [] } });
    assert.throws(() => build(['--network', 'host', '--network-alias', 'x', 'img']), { message: 'network-scoped aliases are only supported for user-defined networks' });
  });

  it('maps health checks and refuses conflicting ones', () => {
    const r = build(['--health-cmd', 'true', '--health-interval', '5s', '--health-retries', '2', 'img']);
    assert.deepEqual(r.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 0, StartPeriod: 0, StartInterval: 0, Retries: 2 });
    assert.deepEqual(build(['--no-healthcheck', 'img']).Healthcheck, { Test: ['NONE'] });
    assert.throws(() => build(['--no-healthcheck', '--health-cmd', 'x', 'img']), { message: '--no-healthcheck conflicts with --health-* options' });
  });

  it('rejects --rm with a restart policy', () => {
    assert.throws(() => build(['--rm', '--restart', 'always', 'img']), { message: 'conflicting options: cannot specify both --restart and --rm' });
    assert.doesNotThrow(() => build(['--rm', '--restart', 'no', 'img']));
  });

  it('validates flag values at parse time with docker\'s messages', () => {
    assert.throws(() => parseFlags(CONTAINER_FLAGS, ['-e', '=x']), { message: 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x' });
    assert.throws(() => parseFlags(CONTAINER_FLAGS, ['-a', 'stdfoo']), { message: 'invalid argument "stdfoo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR' });
    assert.throws(() => parseFlags(CONTAINER_FLAGS, ['-m', 'lots']), { message: 'invalid argument "lots" for "-m, --memory" flag: invalid size: \'lots\'' });
    assert.throws(() => parseFlags(CONTAINER_FLAGS, ['--health-interval', '5']), { message: 'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"' });
    assert.throws(() => parseFlags(CONTAINER_FLAGS, ['--dns', 'x']), { message: 'invalid argument "x" for "--dns" flag: IP address is not correctly formatted: x' });
  });
});

describe('container option parsers', () => {
  it('validateEnv expands bare names only when set', () => {
    assert.equal(validateEnv('A=1', {}), 'A=1');
    assert.equal(validateEnv('A', { A: 'x' }), 'A=x');
    assert.equal(validateEnv('A', {}), 'A');
  });

  it('parseMount reads docker\'s CSV syntax', () => {
    assert.deepEqual(parseMount('type=volume,source=data,target=/data,volume-nocopy'), { Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { NoCopy: true } });
    assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } });
    assert.throws(() => parseMount('type=bind,src=/a'), { message: 'target is required' });
    assert.throws(() => parseMount('type=tmpfs,dst=/a,bind-propagation=shared'), { message: "cannot mix 'bind-*' options with mount type 'tmpfs'" });
    assert.throws(() => parseMount('type=bind,target=/a,bogus=1'), { message: "unexpected key 'bogus' in 'bogus=1'" });
  });

  it('parseRestartPolicy and parseUlimit', () => {
    assert.deepEqual(parseRestartPolicy('always'), { Name: 'always' });
    assert.throws(() => parseRestartPolicy('on-failure:x'), { message: 'invalid restart policy format: maximum retry count must be an integer' });
    assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Soft: 10, Hard: 10 });
    assert.throws(() => parseUlimit('bogus=1'), { message: 'invalid ulimit type: bogus' });
  });

  it('volumeHasSource follows docker\'s volume spec split', () => {
    assert.equal(volumeHasSource('/data'), false);
    assert.equal(volumeHasSource('/a:/b'), true);
    assert.equal(volumeHasSource('vol:/b:ro'), true);
    assert.throws(() => volumeHasSource('/a::/b'), /empty section between colons/);
  });

  it('parseKeyValueFile rejects names with spaces', () => {
    assert.throws(() => parseKeyValueFile('/f', undefined, () => 'BAD NAME=1\n'), { message: "invalid env file (/f): variable 'BAD NAME' contains whitespaces" });
  });
});
