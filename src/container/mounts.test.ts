import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserMounts, ociMounts } from './mounts.js';

describe('user mounts', () => {
  it('parses -v binds with modes and --tmpfs options', () => {
    const m = parseUserMounts({ Binds: ['/src:/dst:ro,rshared'], Tmpfs: { '/run': 'size=1m,ro' } });
    assert.deepEqual(ociMounts(m), [
      { destination: '/dst', type: 'bind', source: '/src', options: ['rbind', 'rshared', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'ro', 'size=1m'] },
    ]);
  });
  it('refuses malformed specs, relative targets, duplicates and named volumes clearly', () => {
    assert.throws(() => parseUserMounts({ Binds: ['/only-one-part'] }), /invalid volume specification: '\/only-one-part'/);
    assert.throws(() => parseUserMounts({ Binds: ['/a:relative'] }), /not absolute/);
    assert.throws(() => parseUserMounts({ Binds: ['/a:/x:bogus'] }), /invalid mode: bogus/);
    assert.throws(() => parseUserMounts({ Binds: ['/a:/x', '/b:/x'] }), /Duplicate mount point: \/x/);
    assert.throws(() => parseUserMounts({ Binds: ['data:/x'] }), /named volumes are not supported by this berth yet: "data"/);
    assert.throws(() => parseUserMounts({ Mounts: [{ Type: 'npipe', Target: '/x' }] }), /mount type unknown/);
  });
});
