import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { parseTemplate, TemplateError } from './index.js';
import { builtinFuncs } from './funcs.js';
import { DATA, TEMPLATE_CASES } from './testdata/golden.js';

/** Output and error as Go's Execute leaves them (partial output on error). */
function goRun(t: string, data: unknown): { out: string; err?: string } {
  try {
    const r = parseTemplate(t).run(data, builtinFuncs());
    return r.err ? { out: r.out, err: r.err.message } : { out: r.out };
  } catch (e) {
    assert.ok(e instanceof TemplateError, String(e));
    return { out: '', err: e.message };
  }
}

function exec(t: string, data: unknown = {}): string {
  return parseTemplate(t).execute(data);
}

function execError(t: string, data: unknown = {}): string {
  try {
    exec(t, data);
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    return e.message;
  }
  assert.fail(`no error for ${t}`);
}

describe('golden cases from Go text/template', () => {
  for (const c of TEMPLATE_CASES) {
    it(JSON.stringify(c.t), () => {
      const want = c.err === undefined ? { out: c.out } : { out: c.out, err: c.err };
      assert.deepEqual(goRun(c.t, 'data' in c ? c.data : DATA), want);
    });
  }
});

describe('printing values', () => {
  it('prints <no value> for missing keys and nils, like a map[string]interface{}', () => {
    assert.equal(exec('{{.Name}}|{{.Missing}}|{{.Nil}}|{{.A.B}}', { Name: 'x', Nil: null }), 'x|<no value>|<no value>|<no value>');
  });
  it('prints Go-formatted numbers, slices and maps', () => {
    assert.equal(exec('{{.i}} {{.f}} {{.e}} {{.s}} {{.m}}', { i: 42, f: 0.5, e: 1.25e21, s: [1, 'a', null], m: { b: 1, a: [true] } }), '42 0.5 1.25e+21 [1 a <nil>] map[a:[true] b:1]');
  });
  it('prints float literals as float64 (docker 28 prints 1e+06)', () => {
    assert.equal(exec('{{1e6}} {{3.0}} {{printf "%v" 1e6}}'), '1e+06 3 1e+06');
  });
  it('errors on a field of a stored nil', () => {
    assert.equal(execError('{{.a.b}}', { a: null }), 'template: :1:4: executing "" at <.a.b>: nil pointer evaluating interface {}.b');
  });
});

describe('syntax errors', () => {
  const cases: [string, string][] = [
    ['{{.Foo }', 'template: :1: unexpected "}" in operand'],
    ['{{foo}}', 'template: :1: function "foo" not defined'],
    ['{{.Foo', 'template: :1: unclosed action'],
    ['{{if .x}}', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['a\n{{.a b}}', 'template: :2: function "b" not defined'],
  ];
  for (const [t, msg] of cases) {
    it(JSON.stringify(t), () => {
      assert.throws(() => parseTemplate(t), (e: unknown) => e instanceof TemplateError && e.kind === 'parse' && e.message === msg);
    });
  }
});

describe('execution errors', () => {
  it('reports a field on a struct-like (class instance) value with Go text', () => {
    class ContainerContext {
      ID(): string {
        return 'abc';
      }
    }
    assert.equal(
      execError('{{.ID}}\t{{.Foo}}', new ContainerContext()),
      'template: :1:10: executing "" at <.Foo>: can\'t evaluate field Foo in type ContainerContext',
    );
  });
  it('reports wrong argument types for docker functions', () => {
    assert.equal(execError('{{upper .n}}', { n: 3 }), 'template: :1:8: executing "" at <.n>: wrong type for value; expected string; got int');
    assert.equal(execError('{{pad "x" "1" 2}}'), 'template: :1:10: executing "" at <"1">: expected integer; found "1"');
  });
  it('wraps errors thrown by methods', () => {
    const data = {
      Fail() {
        throw new Error('boom');
      },
    };
    assert.equal(execError('{{.Fail}}', data), 'template: :1:2: executing "" at <.Fail>: error calling Fail: boom');
  });
  it('uses line and byte column of the failing node', () => {
    assert.equal(execError('é\n  {{index .a 5}}', { a: [] }), 'template: :2:4: executing "" at <index .a 5>: error calling index: index out of range: 5');
  });
});

describe('limits', () => {
  it('reports runaway template recursion like Go', () => {
    assert.equal(
      execError('{{define "a"}}x{{template "a" .}}{{end}}{{template "a"}}'),
      'template: :1:26: executing "a" at <{{template "a" .}}>: exceeded maximum template depth (100000)',
    );
  });
  it('reports absurd nesting as a TemplateError', () => {
    assert.throws(() => parseTemplate('{{' + '('.repeat(50000) + '1' + ')'.repeat(50000) + '}}'), TemplateError);
  });
  it('executes on nil data like Go', () => {
    assert.equal(exec('{{.}} {{.x}}', null), '<no value> <no value>');
  });
});

describe('methods and getters', () => {
  it('calls function-valued properties, with arguments', () => {
    const row = {
      ID: () => '4c01db0b339c',
      Label: (k: string) => ({ app: 'web' } as Record<string, string>)[k] ?? '',
    };
    assert.equal(exec('{{.ID}} {{.Label "app"}} [{{.Label "none"}}]', row), '4c01db0b339c web []');
  });
  it('reads getters and prototype methods of class instances', () => {
    class Ctx {
      constructor(private readonly names: string[]) {}
      get Names(): string {
        return this.names.join(',');
      }
      Size(): number {
        return 1000;
      }
    }
    assert.equal(exec('{{.Names}} {{.Size}} {{.Size | printf "%05d"}}', new Ctx(['a', 'b'])), 'a,b 1000 01000');
  });
  it('passes a piped value as the last method argument', () => {
    assert.equal(exec('{{"k" | .Get}}', { Get: (k: string) => k.toUpperCase() }), 'K');
  });
});

describe('control flow', () => {
  it('ranges with index and element variables', () => {
    assert.equal(exec('{{range $i, $e := .}}{{$i}}={{$e}} {{end}}', ['a', 'b']), '0=a 1=b ');
  });
  it('ranges over objects in sorted key order', () => {
    assert.equal(exec('{{range $k, $v := .}}{{$k}}:{{$v}},{{end}}', { b: 2, a: 1, C: 3 }), 'C:3,a:1,b:2,');
  });
  it('supports break, continue and range else', () => {
    assert.equal(exec('{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}', [1, 2, 3, 4, 5]), '13');
    assert.equal(exec('{{range .}}x{{else}}empty{{end}}', []), 'empty');
  });
  it('ranges over an integer and supports else-with (Go 1.22/1.23, as in docker 28)', () => {
    assert.equal(exec('{{range 3}}{{.}}{{end}}'), '012');
    assert.equal(exec('{{with 0}}x{{else with 3}}{{.}}{{end}}'), '3');
  });
  it('declares and assigns variables across blocks', () => {
    assert.equal(exec('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
  });
  it('supports define, template and block', () => {
    assert.equal(exec('{{define "T"}}[{{.}}]{{end}}{{template "T" .a}}{{block "B" .b}}<{{.}}>{{end}}', { a: 1, b: 2 }), '[1]<2>');
  });
  it('trims whitespace around {{- and -}} and drops comments', () => {
    assert.equal(exec('a  {{- .x -}}  b {{/* c */}}c\n  {{- /* d */ -}}\n d', { x: 1 }), 'a1b cd');
  });
  it('short-circuits and/or', () => {
    assert.equal(exec('{{or .a .b.c}} {{and .x (index .a 0)}}', { a: 'A', x: 0 }), 'A 0');
  });
});

describe('docker template functions', () => {
  it('json: compact, no HTML escaping (docker uses SetEscapeHTML(false))', () => {
    assert.equal(exec('{{json .}}', { b: '<a&b>', a: [1, null], c: {} }), '{"a":[1,null],"b":"<a&b>","c":{}}');
  });
  it('json: keeps struct-like key order, sorts maps', () => {
    assert.equal(exec('{{json .}}', { Status: 'running', Running: true, Labels: { z: '1', a: '2' } }), '{"Status":"running","Running":true,"Labels":{"a":"2","z":"1"}}');
  });
  it('json: escapes control characters like Go 1.22+', () => {
    assert.equal(exec('{{json "\\b\\f\\n\\u0001\\u2028"}}'), '"\\b\\f\\n\\u0001\\u2028"');
  });
  it('split, join, title, lower, upper, pad, truncate', () => {
    assert.equal(exec('{{join (split "a,b,c" ",") "-"}} {{title "hello world"}} {{lower "AB"}} {{upper "ab"}}'), 'a-b-c Hello World ab AB');
    assert.equal(exec('[{{pad "x" 1 2}}][{{pad "" 1 2}}] {{truncate "abcdef" 3}}'), '[ x  ][] abc');
    assert.equal(exec('{{join .Env ";"}}', { Env: ['A=1', 'B=2'] }), 'A=1;B=2');
  });
  it('index of a missing label in a string map is "" (Go map[string]string)', () => {
    assert.equal(exec('[{{index .Labels "x"}}] {{index .Labels "a"}}', { Labels: { a: 'b' } }), '[] b');
  });
});

describe('printf', () => {
  it('handles widths, precision and flags like Go fmt', () => {
    assert.equal(exec('{{printf "%5.2f|%-6s|%6s|%05d|%x|%X|%q|%%|%t" 3.14159 "ab" "ab" 42 255 255 "x\\"y" true}}'), ' 3.14|ab    |    ab|00042|ff|FF|"x\\"y"|%|true');
  });
  it('reports bad verbs and arity like Go', () => {
    assert.equal(exec('{{printf "%d %s|%d" 1}}'), '1 %!s(MISSING)|%!d(MISSING)');
    assert.equal(exec('{{printf "%d" "x"}} {{printf "x" 1}}'), '%!d(string=x) x%!(EXTRA int=1)');
  });
  it('rounds half to even on the exact binary value', () => {
    assert.equal(exec('{{printf "%.0f %.1f %.2f %.1f" 2.5 0.25 0.125 0.35}}'), '2 0.2 0.12 0.3');
  });
});

describe('parseTemplate options', () => {
  it('accepts extra functions', () => {
    const t = parseTemplate('{{double .n}}', { funcs: { double: (n: number) => n * 2 } });
    assert.equal(t.execute({ n: 21 }), '42');
  });
  it('uses the template name in messages', () => {
    assert.throws(() => parseTemplate('{{.x', { name: 'ps' }), { message: 'template: ps:1: unclosed action' });
  });
});
