import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMounts, parseVolumesFrom, runtimeMount } from './mounts.js';
import { validateVolumeName } from './names.js';

describe('container mounts', () => {
  it('parses -v binds with modes and --tmpfs options', () => {
    const m = parseMounts({ Binds: ['/src:/dst:ro,rshared'], Tmpfs: { '/run': 'size=1m,ro' } }, null);
    assert.deepEqual(m.map((x) => runtimeMount(x)), [
      { destination: '/dst', type: 'bind', source: '/src', options: ['rbind', 'rshared', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'ro', 'size=1m'] },
    ]);
  });

  it('refuses malformed specs, relative targets and duplicates clearly', () => {
    assert.throws(() => parseMounts({ Binds: ['/only-one-part'] }, null), /invalid volume specification: '\/only-one-part'/);
    assert.throws(() => parseMounts({ Binds: ['/a:relative'] }, null), /not absolute/);
    assert.throws(() => parseMounts({ Binds: ['/a:/x:bogus'] }, null), /invalid mode: bogus/);
    assert.throws(() => parseMounts({ Binds: ['/a:/x', '/b:/x'] }, null), /Duplicate mount point: \/x/);
    assert.throws(() => parseMounts({ Binds: ['data:/x', '/b:/x'] }, null), /Duplicate mount point: \/x/);
    assert.throws(() => parseMounts({ Mounts: [{ Type: 'npipe', Target: '/x' }] }, null), /mount type unknown/);
    assert.throws(() => parseMounts({ Mounts: [{ Type: 'volume', Target: '/x', BindOptions: {} }] }, null), /BindOptions must not be specified/);
  });

  it('named, anonymous and --mount volumes, with Docker\'s modes and copy flags', () => {
    const m = parseMounts({
      Binds: ['data:/data', 'cache:/cache:ro,nocopy'],
      Mounts: [{ Type: 'volume', Target: '/anon', VolumeOptions: { NoCopy: true, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } }],
    }, { '/image-vol': {}, '/data': {} });
    const byDest = Object.fromEntries(m.map((x) => [x.destination, x]));
    assert.equal(byDest['/data']!.name, 'data');
    assert.equal(byDest['/data']!.mode, 'z');
    assert.equal(byDest['/data']!.copyData, true);
    assert.equal(byDest['/data']!.anonymous, undefined, 'a VOLUME covered by -v gets no anonymous volume');
    assert.equal(byDest['/cache']!.readOnly, true);
    assert.equal(byDest['/cache']!.copyData, false);
    assert.equal(byDest['/cache']!.mode, 'ro,nocopy');
    assert.equal(byDest['/anon']!.anonymous, true);
    assert.deepEqual(byDest['/anon']!.driverOptions, { type: 'tmpfs', device: 'tmpfs' });
    assert.equal(byDest['/image-vol']!.anonymous, true);
    assert.equal(byDest['/image-vol']!.copyData, true);
  });

  it('--volumes-from borrows the other container\'s mounts, read-only on request, overridden by -v', () => {
    const parent = parseMounts({ Binds: ['/host:/h', 'shared:/s'] }, { '/v': {} }).map((m) => (m.type === 'volume' && !m.name ? { ...m, name: 'abc' } : m));
    const m = parseMounts({ Binds: ['/other:/h'] }, null, [{ spec: 'parent:ro', mounts: parent }]);
    const byDest = Object.fromEntries(m.map((x) => [x.destination, x]));
    assert.equal(byDest['/h']!.source, '/other');
    assert.equal(byDest['/s']!.name, 'shared');
    assert.equal(byDest['/s']!.readOnly, true);
    assert.equal(byDest['/v']!.name, 'abc');
    assert.equal(byDest['/v']!.copyData, false);
    assert.deepEqual(parseVolumesFrom('web'), { container: 'web', mode: '' });
    assert.throws(() => parseVolumesFrom('web:bogus'), /invalid mode: bogus/);
  });

  it('orders parents before children', () => {
    const m = parseMounts({ Binds: ['/a:/data/sub', '/b:/data'] }, null);
    assert.deepEqual(m.map((x) => x.destination), ['/data', '/data/sub']);
  });

  it('validates volume names as Docker does', () => {
    validateVolumeName('ok');
    validateVolumeName('my_vol.1-x');
    assert.throws(() => validateVolumeName('a'), /volume name is too short, names should be at least two alphanumeric characters/);
    assert.throws(() => validateVolumeName('bad@name'), /"bad@name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    assert.throws(() => validateVolumeName('_lead'), /includes invalid characters/);
  });
});
