import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contains, formatCidr, overlaps, parseCidr, subnetsOf } from './cidr.js';
import { DEFAULT_POOLS, parsePool } from './ipam.js';
import { portRequests } from './ports.js';
import { Firewall } from './firewall.js';

describe('cidr', () => {
  it('parses, masks and compares prefixes', () => {
    assert.equal(formatCidr(parseCidr('172.18.3.4/16')), '172.18.0.0/16');
    assert.throws(() => parseCidr('172.18.3.4/16', true), /it should be 172\.18\.0\.0\/16/);
    assert.throws(() => parseCidr('300.1.1.1/8'), /invalid CIDR/);
    assert.ok(overlaps(parseCidr('172.17.0.0/16'), parseCidr('172.17.5.0/24')));
    assert.ok(!overlaps(parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/16')));
    assert.ok(contains(parseCidr('10.0.0.0/8'), '10.200.1.1'));
    assert.deepEqual([...subnetsOf(parseCidr('192.168.0.0/16'), 20)].slice(0, 2).map(formatCidr), ['192.168.0.0/20', '192.168.16.0/20']);
  });
  it('reads dockerd\'s address pools', () => {
    assert.deepEqual(parsePool('base=10.10.0.0/16,size=24'), { base: '10.10.0.0/16', size: 24 });
    assert.throws(() => parsePool('base=10.10.0.0/16'), /want base=CIDR,size=N/);
    assert.equal(DEFAULT_POOLS[0]!.base, '172.17.0.0/16');
  });
});

describe('published ports', () => {
  it('reads PortBindings, ranges and -P like Docker', () => {
    const r = portRequests({ '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5300-5310' }], '9000/tcp': null }, true, ['80/tcp', '443/tcp']);
    assert.deepEqual(r, [
      { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 },
      { proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 5300, hostPortEnd: 5310 },
      { proto: 'tcp', containerPort: 9000, hostIp: '0.0.0.0', hostPort: 0 },
      { proto: 'tcp', containerPort: 443, hostIp: '0.0.0.0', hostPort: 0 },
    ]);
    assert.throws(() => portRequests({ '80/tcp': [{ HostPort: '99999' }] }, false, []), /invalid port specification/);
    assert.throws(() => portRequests({ '80/xyz': [] }, false, []), /invalid proto/);
  });
});

describe('firewall rules', () => {
  it('keeps every rule in the daemon\'s own chains', () => {
    const f = new Firewall('abcd1234', true);
    const text = f.render(
      [{ bridge: 'br-x', subnet: '172.20.0.0/16', internal: false, icc: true, masquerade: true }, { bridge: 'br-i', subnet: '172.21.0.0/16', internal: true, icc: true, masquerade: true }],
      [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '172.20.0.2', containerPort: 80, bridge: 'br-x' }],
    );
    for (const line of text.split('\n').filter((l) => l.startsWith('-A'))) assert.match(line, /^-A BERTH-abcd1234-(DNAT|POST|FWD|ISO) /);
    assert.match(text, /-A BERTH-abcd1234-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.20\.0\.2:80/);
    assert.match(text, /-A BERTH-abcd1234-POST -s 172\.20\.0\.0\/16 ! -o br-x -j MASQUERADE/);
    assert.doesNotMatch(text, /-s 172\.21\.0\.0\/16 ! -o br-i -j MASQUERADE/, 'an internal network is not masqueraded');
    assert.match(text, /-A BERTH-abcd1234-FWD -i br-i ! -o br-i -j DROP/);
    assert.match(text, /-A BERTH-abcd1234-ISO -o br-x -j DROP/);
  });
});
