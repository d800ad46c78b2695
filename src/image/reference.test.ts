import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../errors/index.js';
import {
  familiarMatch,
  familiarName,
  familiarString,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  tagNameOnly,
} from './reference.js';

const HEX = 'a'.repeat(64);

describe('reference', () => {
  it('normalises familiar names like Docker', () => {
    const cases: Array<[string, string, string]> = [
      ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
      ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
      ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
      ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
      ['localhost:5000/a/b:t', 'localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
      ['localhost/foo', 'localhost/foo:latest', 'localhost/foo:latest'],
      ['example.com/x', 'example.com/x:latest', 'example.com/x:latest'],
      ['[::1]:5000/foo:v1', '[::1]:5000/foo:v1', '[::1]:5000/foo:v1'],
      ['a.b-c__d.e', 'docker.io/library/a.b-c__d.e:latest', 'a.b-c__d.e:latest'],
      ['Registry.Example/foo', 'Registry.Example/foo:latest', 'Registry.Example/foo:latest'],
    ];
    for (const [input, full, familiar] of cases) {
      const ref = tagNameOnly(parseNormalizedNamed(input));
      assert.equal(referenceString(ref), full, input);
      assert.equal(familiarString(ref), familiar, input);
    }
    assert.equal(familiarName(parseNormalizedNamed('busybox:1')), 'busybox');
  });

  it('parses digests', () => {
    const ref = parseNormalizedNamed(`busybox@sha256:${HEX}`);
    assert.equal(ref.digest, `sha256:${HEX}`);
    assert.equal(ref.tag, undefined);
    assert.equal(familiarString(ref), `busybox@sha256:${HEX}`);
    const both = parseNormalizedNamed(`localhost:5000/x:1@sha256:${HEX}`);
    assert.equal(both.tag, '1');
    assert.equal(referenceString(tagNameOnly(both)), `localhost:5000/x:1@sha256:${HEX}`, 'a digest keeps TagNameOnly from adding latest');
    assert.deepEqual(parseAnyReference(HEX), { digest: `sha256:${HEX}` });
    assert.deepEqual(parseAnyReference(`sha256:${HEX}`), { digest: `sha256:${HEX}` });
    assert.equal((parseAnyReference('sha256:abc') as { tag?: string }).tag, 'abc', 'a short ID with prefix parses as a name, as in Docker');
  });

  it('rejects what Docker rejects, with its messages', () => {
    const bad: Array<[string, string]> = [
      ['Busy', 'invalid reference format: repository name (library/Busy) must be lowercase'],
      ['UPPER:tag', 'invalid reference format: repository name (library/UPPER) must be lowercase'],
      ['user/App', 'invalid reference format: repository name (user/App) must be lowercase'],
      [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
      ['a:b:c', 'invalid reference format'],
      ['busybox:', 'invalid reference format'],
      ['-busybox', 'invalid reference format'],
      ['busy box', 'invalid reference format'],
      ['', 'invalid reference format'],
      ['a@sha256:abc', 'invalid reference format'],
      [`a@sha256:${'a'.repeat(32)}`, 'invalid checksum digest length'],
      [`a@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
      [`a:${'t'.repeat(129)}`, 'invalid reference format'],
      [`x/${'a'.repeat(256)}`, 'repository name must not be more than 255 characters'],
    ];
    for (const [input, message] of bad) {
      assert.throws(() => parseNormalizedNamed(input), (err: Error) => err instanceof InvalidParameterError && err.message === message, `${input} → ${message}`);
    }
  });

  it('matches reference filters like FamiliarMatch', () => {
    const bb = tagNameOnly(parseNormalizedNamed('busybox'));
    const app = tagNameOnly(parseNormalizedNamed('user/app:v1'));
    assert.ok(familiarMatch('busybox', bb));
    assert.ok(familiarMatch('busy*', bb));
    assert.ok(familiarMatch('busybox:lat*', bb));
    assert.ok(familiarMatch('b?sybox:latest', bb));
    assert.ok(familiarMatch('[a-c]usybox', bb));
    assert.ok(!familiarMatch('[^a-c]usybox', bb));
    assert.ok(!familiarMatch('*', app), '* does not cross /');
    assert.ok(familiarMatch('*/*', app));
    assert.ok(familiarMatch('user/*:v1', app));
    assert.ok(!familiarMatch('user/*:v2', app));
    assert.throws(() => familiarMatch('[', bb), InvalidParameterError);
  });
});
