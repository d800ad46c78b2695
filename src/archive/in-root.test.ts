import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SYMLINK_HOPS, SymlinkLoopError, mkdirAllInRoot, resolveInRoot, resolveInRootParts } from './index.js';
import { InvalidParameterError } from '../errors/index.js';

describe('in-root path resolver', () => {
  let base: string;
  let root: string;
  /** A directory beside the root: anything resolved into it has escaped. */
  let outside: string;

  before(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-inroot-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(join(root, 'file'), 'x');
    symlinkSync('/', join(root, 'b'));
    symlinkSync('/b/etc', join(root, 'w'));
    symlinkSync('../../../../..', join(root, 'usr', 'lib', 'up'));
    symlinkSync(outside, join(root, 'abs-out'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('/loop1', join(root, 'loop2'));
    symlinkSync('self', join(root, 'self'));
    symlinkSync('/etc/passwd', join(root, 'pw'));
    // A chain of exactly MAX_SYMLINK_HOPS links ends at /etc; one more is too many.
    for (let i = 0; i < MAX_SYMLINK_HOPS; i++) symlinkSync(i === MAX_SYMLINK_HOPS - 1 ? '/etc' : `c${i + 1}`, join(root, `c${i}`));
    symlinkSync('c0', join(root, 'c-1'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('follows absolute links from the root, not from the host', () => {
    assert.equal(resolveInRoot(root, '/w/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(resolveInRoot(root, '/b/b/b/etc'), join(root, 'etc'));
    // An absolute target naming a host path is read inside the root.
    assert.equal(resolveInRoot(root, '/abs-out/x'), join(root, ...outside.split('/').filter(Boolean), 'x'));
  });

  it('clamps .. at the root, in the path and in link targets', () => {
    assert.equal(resolveInRoot(root, '../../../etc'), join(root, 'etc'));
    assert.equal(resolveInRoot(root, '/usr/lib/up/etc/passwd'), join(root, 'etc', 'passwd'));
    assert.deepEqual(resolveInRootParts(root, '/usr/lib/up'), []);
  });

  it('takes relative paths from the root and keeps missing components as they are', () => {
    assert.equal(resolveInRoot(root, 'etc/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(resolveInRoot(root, '/w/missing/../x'), join(root, 'etc', 'x'));
    assert.equal(resolveInRoot(root, '/nope/a/b'), join(root, 'nope', 'a', 'b'));
  });

  it('follows the last component only when asked', () => {
    assert.equal(resolveInRoot(root, '/pw'), join(root, 'etc', 'passwd'));
    assert.equal(resolveInRoot(root, '/pw', { followFinal: false }), join(root, 'pw'));
    assert.equal(resolveInRoot(root, '/w/passwd', { followFinal: false }), join(root, 'etc', 'passwd'));
  });

  it('stops a loop with ELOOP after MAX_SYMLINK_HOPS links', () => {
    assert.throws(() => resolveInRoot(root, '/loop1/x'), (err: unknown) => err instanceof SymlinkLoopError && /\/loop1\/x: too many levels of symbolic links/.test(err.message));
    assert.throws(() => resolveInRoot(root, '/self'), SymlinkLoopError);
    assert.equal(resolveInRoot(root, '/c0/passwd'), join(root, 'etc', 'passwd'));
    assert.throws(() => resolveInRoot(root, '/c-1/passwd'), SymlinkLoopError);
    // A loop is a bad request, not a daemon failure.
    assert.ok(new SymlinkLoopError('/x') instanceof InvalidParameterError);
  });

  it('mkdirAllInRoot creates through links inside the root and owns only what it made', () => {
    const made = mkdirAllInRoot(root, '/w/x/y', { mode: 0o750, uid: 1234, gid: 5678 });
    assert.equal(made, join(root, 'etc', 'x', 'y'));
    for (const d of [join(root, 'etc', 'x'), made]) {
      const st = statSync(d);
      assert.ok(st.isDirectory());
      assert.equal(st.mode & 0o777, 0o750);
      assert.equal(`${st.uid}:${st.gid}`, '1234:5678');
    }
    // What existed keeps its owner.
    assert.equal(statSync(join(root, 'etc')).uid, process.getuid!());
    // Nothing appeared outside the root or at the host path the links name.
    assert.equal(existsSync(join(outside, 'x')), false);
    mkdirAllInRoot(root, '/abs-out/made-here');
    assert.ok(lstatSync(join(root, ...outside.split('/').filter(Boolean), 'made-here')).isDirectory());
    assert.equal(existsSync(join(outside, 'made-here')), false);
  });

  it('mkdirAllInRoot is idempotent and says which component is not a directory', () => {
    assert.equal(mkdirAllInRoot(root, '/etc'), join(root, 'etc'));
    assert.throws(() => mkdirAllInRoot(root, '/file/sub'), (err: unknown) => err instanceof InvalidParameterError && /mkdir \/file\/sub: \/file: not a directory/.test(err.message));
    assert.throws(() => mkdirAllInRoot(root, '/pw'), /not a directory/);
    assert.throws(() => mkdirAllInRoot(root, '/loop1/x'), SymlinkLoopError);
  });
});
