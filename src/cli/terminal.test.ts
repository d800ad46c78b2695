import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeMatcher, parseDetachKeys } from './terminal.js';

describe('detach keys', () => {
  it('parses docker\'s key sequence syntax', () => {
    assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
    assert.deepEqual(parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-_'), [1, 120, 0, 31]);
    assert.throws(() => parseDetachKeys('ctrl-1'), { message: "Unknown character: 'ctrl-1'" });
  });

  it('detaches on the typed sequence and releases held keys when it breaks', () => {
    const m = new EscapeMatcher([16, 17]);
    assert.deepEqual(m.feed(Buffer.from('ls\n')), Buffer.from('ls\n'));
    assert.deepEqual(m.feed(Buffer.from([16])), Buffer.alloc(0));
    assert.deepEqual(m.feed(Buffer.from('a')), Buffer.from([16, 97]));
    assert.deepEqual(m.feed(Buffer.from([16])), Buffer.alloc(0));
    assert.equal(m.feed(Buffer.from([17])), 'detach');
  });

  it('ignores the sequence inside pasted text (multi-byte reads), like docker', () => {
    const m = new EscapeMatcher([16, 17]);
    assert.deepEqual(m.feed(Buffer.from([97, 16, 17, 98])), Buffer.from([97, 16, 17, 98]));
    assert.deepEqual(m.feed(Buffer.from([16, 17, 10])), Buffer.from([16, 17, 10]));
  });

  it('takes the keys typed quickly enough to arrive in one read', () => {
    assert.equal(new EscapeMatcher([16, 17]).feed(Buffer.from([16, 17])), 'detach');
    const m = new EscapeMatcher([24, 1, 2]);
    assert.deepEqual(m.feed(Buffer.from([24])), Buffer.alloc(0));
    assert.equal(m.feed(Buffer.from([1, 2])), 'detach');
  });
});
