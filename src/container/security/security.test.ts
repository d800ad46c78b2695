import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesFromMask, containerCapabilities, normalizeCapabilities, DEFAULT_CAPABILITIES } from './capabilities.js';
import { parseSecurityOpt } from './security-opt.js';
import { parseSeccompProfile, resolveSeccomp } from './seccomp.js';
import { defaultSeccompProfile } from './seccomp-default.js';
import { parseDeviceCgroupRule, devicesFromPath } from './devices.js';

describe('security options', () => {
  it('reads dockerd\'s forms and refuses the rest in its words', () => {
    assert.deepEqual(parseSecurityOpt(['no-new-privileges', 'seccomp=unconfined', 'apparmor:foo', 'label=disable']), {
      noNewPrivileges: true, seccomp: 'unconfined', appArmorProfile: 'foo', labels: ['disable'],
    });
    assert.equal(parseSecurityOpt(['no-new-privileges=false']).noNewPrivileges, false);
    assert.equal(parseSecurityOpt(['no-new-privileges:TRUE']).noNewPrivileges, true);
    assert.equal(parseSecurityOpt(['writable-cgroups=1']).writableCgroups, true);
    assert.equal(parseSecurityOpt(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    assert.throws(() => parseSecurityOpt(['bogus']), { message: 'invalid --security-opt 1: "bogus"' });
    assert.throws(() => parseSecurityOpt(['bogus=1']), { message: 'invalid --security-opt 2: "bogus=1"' });
    assert.throws(() => parseSecurityOpt(['no-new-privileges=yes']), { message: 'invalid --security-opt 2: "no-new-privileges=yes"' });
  });
});

describe('capabilities', () => {
  const all = capabilitiesFromMask('1ffffffffff');
  it('decodes a /proc status mask', () => {
    assert.deepEqual(capabilitiesFromMask('a80425fb').sort(), [...DEFAULT_CAPABILITIES].sort());
    assert.equal(all.length, 41);
    assert.ok(!capabilitiesFromMask('1fffeffffff').includes('CAP_SYS_RESOURCE'));
  });

  it('normalizes names and refuses unknown or unavailable ones', () => {
    assert.deepEqual(normalizeCapabilities(['net_admin', 'CAP_CHOWN', 'all'], 'CapAdd', all), ['CAP_NET_ADMIN', 'CAP_CHOWN', 'ALL']);
    assert.throws(() => normalizeCapabilities(['bogus'], 'CapAdd', all), { message: 'invalid CapAdd: unknown capability: "CAP_BOGUS"' });
    assert.throws(() => normalizeCapabilities(['SYS_RESOURCE'], 'CapDrop', capabilitiesFromMask('1fffeffffff')), {
      message: 'invalid CapDrop: capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"',
    });
  });

  it('computes the set as dockerd does', () => {
    assert.deepEqual(containerCapabilities({}), DEFAULT_CAPABILITIES);
    assert.deepEqual(containerCapabilities({ CapDrop: ['ALL'], CapAdd: ['kill'] }), ['CAP_KILL']);
    assert.ok(!containerCapabilities({ CapDrop: ['chown'] }).includes('CAP_CHOWN'));
    assert.ok(containerCapabilities({ CapAdd: ['sys_admin'] }).includes('CAP_SYS_ADMIN'));
  });
});

describe('seccomp', () => {
  const names = (p: ReturnType<typeof resolveSeccomp>) => p!.syscalls!.flatMap((s) => s.names);

  it('the default profile denies with EPERM and allows the base set on x86-64', () => {
    const p = resolveSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, 'x64')!;
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const allowed = names(p);
    for (const n of ['read', 'write', 'execve', 'arch_prctl', 'chroot', 'ptrace']) assert.ok(allowed.includes(n), n);
    for (const n of ['mount', 'unshare', 'setns', 'keyctl', 'add_key', 'init_module', 'reboot', 'arm_fadvise64_64', 'open_by_handle_at']) {
      assert.ok(!allowed.includes(n), n);
    }
    const clone3 = p.syscalls!.find((s) => s.names.includes('clone3'))!;
    assert.deepEqual([clone3.action, clone3.errnoRet], ['SCMP_ACT_ERRNO', 38]);
    const clone = p.syscalls!.find((s) => s.names.includes('clone'))!;
    assert.deepEqual(clone.args, [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  });

  it('capability rules follow the bounding set', () => {
    const p = resolveSeccomp(defaultSeccompProfile(), [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_MODULE'], 'x64')!;
    const allowed = names(p);
    for (const n of ['mount', 'unshare', 'setns', 'clone3', 'init_module']) assert.ok(allowed.includes(n), n);
    assert.ok(!p.syscalls!.some((s) => s.action === 'SCMP_ACT_ERRNO'), 'no clone3 ENOSYS rule with CAP_SYS_ADMIN');
    assert.equal(p.syscalls!.filter((s) => s.names.includes('clone')).length, 1, 'clone unrestricted');
  });

  it('architecture rules follow the machine', () => {
    const arm = resolveSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, 'arm64')!;
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.ok(names(arm).includes('set_tls'));
    assert.ok(!names(arm).includes('arch_prctl'));
    const s390 = resolveSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, 's390x')!;
    assert.equal(s390.syscalls!.find((s) => s.names.includes('clone'))!.args![0]!.index, 1);
  });

  it('loads a user profile and refuses malformed ones', () => {
    const p = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO"}]}');
    assert.deepEqual(resolveSeccomp(p, [], 'x64'), {
      defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
    assert.equal(resolveSeccomp(parseSeccompProfile('{}'), []), undefined, 'an empty profile turns seccomp off');
    assert.throws(() => parseSeccompProfile('{nope'), /^InvalidParameterError|Decoding seccomp profile failed/);
    assert.throws(() => resolveSeccomp(parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}'), []),
      { message: "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'" });
    assert.throws(() => parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}'),
      /invalid kernel version/);
  });
});

describe('devices', () => {
  it('parses device cgroup rules', () => {
    assert.deepEqual(parseDeviceCgroupRule('c 1:3 rwm'), { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    assert.deepEqual(parseDeviceCgroupRule('b 7:* r'), { allow: true, type: 'b', major: 7, access: 'r' });
    assert.deepEqual(parseDeviceCgroupRule('a *:* m'), { allow: true, type: 'a', access: 'm' });
    assert.throws(() => parseDeviceCgroupRule('c 1:3'), { message: "invalid device cgroup rule format: 'c 1:3'" });
  });

  it('stats a host device, and refuses what is not one', () => {
    const { devices, rules } = devicesFromPath({ PathOnHost: '/dev/null', PathInContainer: '/dev/nothing', CgroupPermissions: 'rw' });
    assert.deepEqual(devices.map((d) => [d.path, d.type, d.major, d.minor]), [['/dev/nothing', 'c', 1, 3]]);
    assert.deepEqual(rules, [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
    assert.throws(() => devicesFromPath({ PathOnHost: '/dev/berth-none' }), {
      message: 'error gathering device information while adding custom device "/dev/berth-none": no such file or directory',
    });
  });
});
