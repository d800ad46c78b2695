import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeConfig, normalizeSignal, statusText } from './service.js';
import { mergeEnv, buildSpec, DEFAULT_CAPABILITIES } from './spec.js';
import type { ImageRecord } from '../image/image-store.js';
import { readFileSync } from 'node:fs';

function image(config: ImageRecord['config']['config']): ImageRecord {
  return {
    id: 'sha256:' + 'a'.repeat(64), repoTags: [], repoDigests: [], chainIds: [], size: 0,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config },
  };
}
const ID = 'f'.repeat(64);

describe('mergeConfig: Docker\'s entrypoint/cmd rules', () => {
  const img = image({ Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/img/bin', 'A=1'], WorkingDir: '/w', User: 'nobody' });

  it('takes both from the image when the request gives neither', () => {
    const c = mergeConfig({ Image: 'x' }, img, ID);
    assert.deepEqual(c.Entrypoint, ['/entry']);
    assert.deepEqual(c.Cmd, ['default']);
  });
  it('keeps the image entrypoint and replaces cmd', () => {
    const c = mergeConfig({ Image: 'x', Cmd: ['mine'] }, img, ID);
    assert.deepEqual(c.Entrypoint, ['/entry']);
    assert.deepEqual(c.Cmd, ['mine']);
  });
  it('a request entrypoint drops the image cmd', () => {
    const c = mergeConfig({ Image: 'x', Entrypoint: ['/other'] }, img, ID);
    assert.deepEqual(c.Entrypoint, ['/other']);
    assert.equal(c.Cmd, undefined);
  });
  it('--entrypoint "" clears the entrypoint and keeps only the request cmd', () => {
    const c = mergeConfig({ Image: 'x', Entrypoint: [''], Cmd: ['ls'] }, img, ID);
    assert.equal(c.Entrypoint, null);
    assert.deepEqual(c.Cmd, ['ls']);
  });
  it('merges env (request wins), and defaults workdir, user and hostname', () => {
    const c = mergeConfig({ Image: 'x', Env: ['A=2', 'B=3'] }, img, ID);
    assert.deepEqual(c.Env, ['A=2', 'B=3', 'PATH=/img/bin']);
    assert.equal(c.WorkingDir, '/w');
    assert.equal(c.User, 'nobody');
    assert.equal(c.Hostname, ID.slice(0, 12));
    assert.equal(c.Image, 'x');
  });
});

describe('mergeEnv', () => {
  it('puts PATH and HOSTNAME first, lets the image override PATH and adds HOME', () => {
    assert.deepEqual(mergeEnv(['PATH=/x', 'A=1'], 'h', false, '/root'), ['PATH=/x', 'HOSTNAME=h', 'A=1', 'HOME=/root']);
  });
  it('adds TERM for a tty and keeps a HOME that is set', () => {
    assert.deepEqual(mergeEnv(['HOME=/h'], 'h', true, '/root'), [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'TERM=xterm', 'HOME=/h',
    ]);
  });
});

describe('buildSpec', () => {
  const spec = buildSpec({
    id: ID,
    config: { Tty: false, Hostname: 'box' },
    hostConfig: { CapAdd: ['NET_ADMIN'], CapDrop: ['MKNOD'] },
    user: { uid: 1, gid: 2, additionalGids: [3], home: '/' },
    args: ['sh'],
    env: [],
    rootfs: '/r',
    etcFiles: { hosts: '/h', hostname: '/hn', resolvConf: '/rc' },
    cgroupParent: '/berth',
  });
  it('has Docker\'s capabilities adjusted by cap-add/cap-drop', () => {
    assert.ok(spec.process.capabilities.bounding.includes('CAP_NET_ADMIN'));
    assert.ok(!spec.process.capabilities.bounding.includes('CAP_MKNOD'));
    assert.equal(spec.process.capabilities.bounding.length, DEFAULT_CAPABILITIES.length);
  });
  it('has the five namespaces, masked paths and the etc bind mounts', () => {
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
    assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
    assert.deepEqual(spec.mounts.filter((m) => m.destination.startsWith('/etc/')).map((m) => m.source), ['/rc', '/hn', '/h']);
    assert.equal(spec.linux.cgroupsPath, `/berth/${ID}`);
  });
  it('never asks for an open-files limit above the daemon\'s own', () => {
    const nofile = spec.process.rlimits.find((r) => r.type === 'RLIMIT_NOFILE');
    assert.ok(nofile, 'the open-files limit is set explicitly');
    const hard = Number(/Max open files\s+\S+\s+(\S+)/.exec(readLimits())?.[1]);
    assert.ok(nofile.hard <= hard && nofile.soft <= nofile.hard);
  });
});

function readLimits(): string {
  return readFileSync('/proc/self/limits', 'utf8');
}

describe('normalizeSignal', () => {
  it('accepts names, short names and numbers', () => {
    assert.equal(normalizeSignal('TERM'), 'SIGTERM');
    assert.equal(normalizeSignal('sigkill'), 'SIGKILL');
    assert.equal(normalizeSignal('9'), 'SIGKILL');
    assert.equal(normalizeSignal('SIGRTMIN+3'), 'SIGRTMIN+3');
    assert.throws(() => normalizeSignal('SIGNOPE'), /Invalid signal: SIGNOPE/);
  });
});

describe('statusText', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');
  it('prints Docker\'s status column', () => {
    const base = { pid: 0, exitCode: 0, error: '', oomKilled: false, startedAt: '2024-01-01T00:58:00Z', finishedAt: '2024-01-01T00:59:55Z' };
    assert.equal(statusText({ ...base, status: 'running' }, now), 'Up 2 minutes');
    assert.equal(statusText({ ...base, status: 'exited', exitCode: 3 }, now), 'Exited (3) 5 seconds ago');
    assert.equal(statusText({ ...base, status: 'created' }, now), 'Created');
    assert.equal(statusText({ ...base, status: 'paused' }, now), 'Up 2 minutes (Paused)');
  });
});
