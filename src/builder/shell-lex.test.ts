import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { processWord, processWords } from './shell-lex.js';

const env = new Map([['A', 'a'], ['EMPTY', ''], ['SP', 'x y'], ['P', '/usr/local/bin/tool.tar.gz']]);
const w = (s: string, esc = '\\') => processWord(s, env, esc);

describe('variable substitution', () => {
  it('$VAR and ${VAR}, unset expands to nothing, a lone $ stays', () => {
    assert.equal(w('$A-${A}b'), 'a-ab');
    assert.equal(w('x$UNSET.y'), 'x.y');
    assert.equal(w('cost $ 5 and $'), 'cost $ 5 and $');
    assert.equal(w('$1$@'), '');
  });

  it('default and alternative forms', () => {
    assert.equal(w('${UNSET:-d}|${EMPTY:-d}|${A:-d}'), 'd|d|a');
    assert.equal(w('${UNSET-d}|${EMPTY-d}|${A-d}'), 'd||a');
    assert.equal(w('${UNSET:+x}|${EMPTY:+x}|${A:+x}'), '||x');
    assert.equal(w('${UNSET+x}|${EMPTY+x}|${A+x}'), '|x|x');
    assert.equal(w('${UNSET:-$A/b}'), 'a/b');
    assert.throws(() => w('${UNSET:?must be set}'), /UNSET: must be set/);
    assert.throws(() => w('${UNSET?}'), /UNSET: is not allowed to be unset/);
    assert.throws(() => w('${}'), /bad substitution/);
    assert.throws(() => w('${A:=x}'), /unsupported modifier/);
  });

  it('pattern trimming and replacement', () => {
    assert.equal(w('${P#*/}'), 'usr/local/bin/tool.tar.gz');
    assert.equal(w('${P##*/}'), 'tool.tar.gz');
    assert.equal(w('${P%.*}'), '/usr/local/bin/tool.tar');
    assert.equal(w('${P%%.*}'), '/usr/local/bin/tool');
    assert.equal(w('${P/local/opt}'), '/usr/opt/bin/tool.tar.gz');
    assert.equal(w('${SP// /_}'), 'x_y');
  });

  it('quotes and escapes', () => {
    assert.equal(w("'$A'"), '$A');
    assert.equal(w('"$A b"'), 'a b');
    assert.equal(w('\\$A'), '$A');
    assert.equal(w('a\\nb'), 'anb');
    assert.equal(w('"a\\nb"'), 'a\\nb');
    assert.equal(w('"q\\"q"'), 'q"q');
    assert.equal(w('`$A', '`'), '$A');
    assert.equal(w('\\$A', '`'), '\\a');
    assert.throws(() => w('"open'), /double-quote/);
  });

  it('splits words on unquoted whitespace, expansions included', () => {
    assert.deepEqual(processWords('a "b c" $SP "$SP" \'\'', env), ['a', 'b c', 'x', 'y', 'x y', '']);
    assert.deepEqual(processWords('80/tcp   $A', env), ['80/tcp', 'a']);
  });
});
