import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE_KEYS, loadConfig, parseDaemonJson } from './config.js';
import { lookupGroupId } from './socket-group.js';

describe('daemon.json', () => {
  it('refuses every key berthd does not honour, naming them all as dockerd does', () => {
    assert.throws(
      () => parseDaemonJson('{"userland-proxy": false, "debug": true, "ipv6": true}', '/x/daemon.json'),
      /^InvalidParameterError: unable to configure the berth daemon with file \/x\/daemon.json: the following directives don't match any configuration option: userland-proxy, ipv6$/,
    );
    for (const key of ['experimental', 'live-restore', 'fixed-cidr', 'mtu', 'group-typo']) {
      assert.throws(() => parseDaemonJson(JSON.stringify({ [key]: false }), 'f'), /don't match any configuration option/);
    }
  });

  it('checks the type of each value', () => {
    assert.throws(() => parseDaemonJson('{"debug": "yes"}', 'f'), /json: cannot unmarshal string into Go struct field Config.debug of type bool/);
    assert.throws(() => parseDaemonJson('{"hosts": "unix:///x"}', 'f'), /cannot unmarshal string into Go struct field Config.hosts of type \[\]string/);
    assert.throws(() => parseDaemonJson('{"hosts": [1]}', 'f'), /of type \[\]string/);
    assert.throws(() => parseDaemonJson('{"tlscert": 5}', 'f'), /cannot unmarshal number into Go struct field Config.tlscert of type string/);
    assert.throws(() => parseDaemonJson('[]', 'f'), /cannot unmarshal array/);
    assert.throws(() => parseDaemonJson('{"log-opts": {"max-size": 10}}', 'f'), /cannot unmarshal object into Go struct field Config.log-opts of type map\[string\]string/);
    assert.deepEqual(parseDaemonJson('{"log-driver": "json-file", "log-opts": {"max-size": "1m"}}', 'f'), { logDriver: 'json-file', logOpts: { 'max-size': '1m' } });
    assert.deepEqual(parseDaemonJson('{"insecure-registries": ["10.0.0.0/8", "reg:5000"], "registry-mirrors": ["https://mirror.test"]}', 'f'), { insecureRegistries: ['10.0.0.0/8', 'reg:5000'], registryMirrors: ['https://mirror.test'] });
    assert.throws(() => parseDaemonJson('{"registry-mirrors": true}', 'f'), /cannot unmarshal bool into Go struct field Config.registry-mirrors of type \[\]string/);
    assert.throws(() => parseDaemonJson('{"debug": tru', 'f'), /unable to configure the berth daemon with file f/);
  });

  it('accepts the keys of its one table, and an empty file', () => {
    assert.deepEqual(parseDaemonJson('', 'f'), {});
    const s = parseDaemonJson('{"group": "staff", "tls": true, "tlsverify": true, "tlscacert": "/c/ca.pem", "tlscert": "/c/s.pem", "tlskey": "/c/k.pem", "hosts": ["unix:///s"]}', 'f');
    assert.deepEqual(s, { group: 'staff', tls: true, tlsVerify: true, tlsCaCert: '/c/ca.pem', tlsCert: '/c/s.pem', tlsKey: '/c/k.pem', hosts: ['unix:///s'] });
    for (const key of Object.keys(FILE_KEYS)) assert.match(key, /^[a-z-]+$/);
    // The network keys dockerd has, with their types.
    const n = parseDaemonJson('{"bridge": "br9", "bip": "10.9.0.1/24", "default-address-pools": [{"base": "10.50.0.0/16", "size": 24}], "iptables": false, "ip-forward": false, "dns": ["192.0.2.53"]}', 'f');
    assert.deepEqual(n, { bridge: 'br9', bip: '10.9.0.1/24', defaultAddressPools: [{ base: '10.50.0.0/16', size: 24 }], iptables: false, ipForward: false, dns: ['192.0.2.53'] });
    assert.throws(() => parseDaemonJson('{"default-address-pools": ["10.0.0.0/8"]}', 'f'), /cannot unmarshal array into Go struct field Config.default-address-pools/);
  });
});

describe('loadConfig', () => {
  let dir: string;
  const file = (text: string) => {
    const p = join(dir, `d-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, text);
    return p;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('turns TLS on with --tlsverify and takes the files from DOCKER_CERT_PATH as dockerd', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const c = await loadConfig({ configFile: file('{}'), tlsverify: true }, true, { DOCKER_CERT_PATH: dir });
    assert.deepEqual(c.tls, { enabled: true, verify: true, explicitlyUnauthenticated: false, ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    // A CA that does not exist at the default place is not assumed.
    const none = await loadConfig({ configFile: file('{}'), tls: true }, true, { DOCKER_CERT_PATH: join(dir, 'nope') });
    assert.equal(none.tls.ca, undefined);
    assert.equal(none.tls.verify, false);
  });

  it('knows when the user explicitly turned authentication off', async () => {
    const off = await loadConfig({ configFile: file('{}'), tls: 'false' }, true, {});
    assert.equal(off.tls.enabled, false);
    assert.equal(off.tls.explicitlyUnauthenticated, true);
    const noVerify = await loadConfig({ configFile: file('{"tlsverify": false}') }, true, {});
    assert.equal(noVerify.tls.enabled, true, 'naming tlsverify turns TLS on, as dockerd');
    assert.equal(noVerify.tls.explicitlyUnauthenticated, true);
    const silent = await loadConfig({ configFile: file('{}') }, true, {});
    assert.equal(silent.tls.enabled, false);
    assert.equal(silent.tls.explicitlyUnauthenticated, false);
    await assert.rejects(loadConfig({ configFile: file('{}'), tls: 'maybe' }, true, {}), /invalid argument "maybe" for "--tls" flag/);
  });

  it('takes the socket group from the flag or the file, defaulting to docker', async () => {
    assert.deepEqual([(await loadConfig({ configFile: file('{}') }, true, {})).group, (await loadConfig({ configFile: file('{}') }, true, {})).groupExplicit], ['docker', false]);
    const fromFile = await loadConfig({ configFile: file('{"group": "staff"}') }, true, {});
    assert.deepEqual([fromFile.group, fromFile.groupExplicit], ['staff', true]);
    await assert.rejects(loadConfig({ configFile: file('{"group": "staff"}'), group: 'adm' }, true, {}), /specified both as a flag and in the configuration file: group: \(from flag: adm, from file: staff\)/);
  });

  it('looks groups up by name or number', async () => {
    const groups = join(dir, 'group');
    writeFileSync(groups, 'root:x:0:\ndocker:x:106:alice\n# comment\nweird:x:abc:\n');
    assert.equal(await lookupGroupId('docker', groups), 106);
    assert.equal(await lookupGroupId('root', groups), 0);
    assert.equal(await lookupGroupId('4242', groups), 4242);
    assert.equal(await lookupGroupId('nosuch', groups), undefined);
    assert.equal(await lookupGroupId('weird', groups), undefined);
  });
});
