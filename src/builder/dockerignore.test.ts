import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PatternMatcher, readDockerignore } from './dockerignore.js';

function m(patterns: string): PatternMatcher {
  return new PatternMatcher(readDockerignore(patterns));
}

describe('.dockerignore', () => {
  it('reads lines: comments only in column one, trimming, cleaning, leading / dropped', () => {
    assert.deepEqual(readDockerignore('# c\n  # not comment\n /a/b/ \n!./c/../d\n\n*.log\r\n'), ['# not comment', 'a/b', '!d', '*.log']);
  });

  it('anchors at the root and matches parents', () => {
    const p = m('foo\n');
    assert.equal(p.matches('foo'), true);
    assert.equal(p.matches('foo/bar'), true);
    assert.equal(p.matches('a/foo'), false);
  });

  it('* and ? stay within a component, ** crosses them', () => {
    const p = m('*.md\n*/temp?\n**/*.go\n');
    assert.equal(p.matches('README.md'), true);
    assert.equal(p.matches('docs/README.md'), false);
    assert.equal(p.matches('a/temp1'), true);
    assert.equal(p.matches('a/b/temp1'), false);
    assert.equal(p.matches('main.go'), true);
    assert.equal(p.matches('x/y/z.go'), true);
    assert.equal(m('**').matches('anything/at/all'), true);
    assert.equal(m('a/**/b').matches('a/b'), true);
    assert.equal(m('a/**/b').matches('a/x/y/b'), true);
  });

  it('exceptions: the last matching line wins', () => {
    const p = m('*.md\n!README*.md\nREADME-secret.md\n');
    assert.equal(p.matches('CHANGES.md'), true);
    assert.equal(p.matches('README.md'), false);
    assert.equal(p.matches('README-secret.md'), true);
    const q = m('data\n!data/keep\n');
    assert.equal(q.matches('data/x'), true);
    assert.equal(q.matches('data/keep'), false);
    assert.equal(q.mayIncludeUnder('data'), true);
    assert.equal(m('data\n').mayIncludeUnder('data'), false);
  });

  it('character classes and escapes; syntax errors are reported', () => {
    assert.equal(m('file[0-9]\n').matches('file7'), true);
    assert.equal(m('file[0-9]\n').matches('filex'), false);
    assert.equal(m('a\\*b\n').matches('a*b'), true);
    assert.equal(m('a\\*b\n').matches('axb'), false);
    assert.throws(() => m('[a\n'), /syntax error in pattern/);
    assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern/);
  });
});
