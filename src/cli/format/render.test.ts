import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { renderFormat, TemplateError, tabulate } from './index.js';
import { TABLE_CASES, TABLE_HEADERS, TABLE_ROWS } from './testdata/golden.js';

const PS_DEFAULT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

describe('renderFormat golden cases (docker formatter + Go tabwriter)', () => {
  for (const c of TABLE_CASES) {
    it(`${JSON.stringify(c.format)} with ${c.rows} rows`, () => {
      const rows = TABLE_ROWS.slice(0, c.rows);
      if (c.err !== undefined) {
        assert.throws(() => renderFormat(c.format, rows, { defaultTable: '', headers: TABLE_HEADERS }), { message: c.err });
      } else {
        assert.equal(renderFormat(c.format, rows, { defaultTable: '', headers: TABLE_HEADERS }), c.out);
      }
    });
  }
});

describe('renderFormat', () => {
  const rows = TABLE_ROWS.slice(0, 2);

  it('prints the default table, aligned like docker ps', () => {
    assert.equal(
      renderFormat('', rows, { defaultTable: PS_DEFAULT, headers: TABLE_HEADERS }),
      [
        'CONTAINER ID   IMAGE                        COMMAND                 CREATED          STATUS          PORTS                    NAMES',
        '4c01db0b339c   ubuntu:22.04                 "bash"                  17 seconds ago   Up 16 seconds   0.0.0.0:3000->3000/tcp   webapp',
        'd7886598dbe2   crosbymichael/redis:latest   "/redis-server --dir"   33 minutes ago   Up 33 minutes   6379/tcp                 redis,webapp/db',
        '',
      ].join('\n'),
    );
  });

  it('treats "table" alone as the default table and prints headers with no rows', () => {
    assert.equal(renderFormat('table', [], { defaultTable: PS_DEFAULT, headers: TABLE_HEADERS }), 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  });

  it('adds a missing "table" prefix to the default', () => {
    assert.equal(renderFormat('', rows.slice(0, 1), { defaultTable: '{{.ID}}\t{{.Names}}', headers: TABLE_HEADERS }), 'CONTAINER ID   NAMES\n4c01db0b339c   webapp\n');
  });

  it('quiet prints IDs only for the default format, not for a custom one', () => {
    const opts = { defaultTable: PS_DEFAULT, headers: TABLE_HEADERS, quiet: true };
    assert.equal(renderFormat('', rows, opts), '4c01db0b339c\nd7886598dbe2\n');
    assert.equal(renderFormat('table', rows, opts), '4c01db0b339c\nd7886598dbe2\n');
    assert.equal(renderFormat('{{.Names}}', rows, opts), 'webapp\nredis,webapp/db\n');
    assert.equal(renderFormat('', rows, { ...opts, quietFormat: '{{.Names}}' }), 'webapp\nredis,webapp/db\n');
  });

  it('renders a custom template once per row, without a header', () => {
    assert.equal(renderFormat('{{.ID}}: {{.Names}}', rows, { defaultTable: PS_DEFAULT, headers: TABLE_HEADERS }), '4c01db0b339c: webapp\nd7886598dbe2: redis,webapp/db\n');
  });

  it('"json" prints one object per line with sorted keys, like docker ps --format json', () => {
    const out = renderFormat('json', [{ Names: 'web', ID: 'abc', Labels: 'a=b', Size: '0B' }], { defaultTable: PS_DEFAULT, headers: TABLE_HEADERS });
    assert.equal(out, '{"ID":"abc","Labels":"a=b","Names":"web","Size":"0B"}\n');
  });

  it('json of a class-instance row calls its methods and getters', () => {
    class Row {
      ID(): string {
        return 'abc';
      }
      get Names(): string {
        return 'web';
      }
      Label(name: string): string {
        return name;
      }
    }
    assert.equal(renderFormat('{{json .}}', [new Row()], { defaultTable: '', headers: {} }), '{"ID":"abc","Names":"web"}\n');
  });

  it('turns literal \\t and \\n into tab and newline', () => {
    assert.equal(renderFormat('{{.ID}}\\t{{.Names}}\\n--', rows.slice(0, 1), { defaultTable: '', headers: {} }), '4c01db0b339c\twebapp\n--\n');
  });

  it('prints <no value> in the header for fields without one, as docker does', () => {
    const out = renderFormat('table {{.ID}}\t{{.Current}}', [{ ID: 'x', Current: true }], { defaultTable: '', headers: { ID: 'ID' } });
    assert.equal(out, 'ID        <no value>\nx         true\n');
  });

  it('uses the label name as the header of {{.Label "..."}}', () => {
    const row = { ID: 'x', Label: (k: string) => (k === 'com.docker.compose.project' ? 'demo' : '') };
    const out = renderFormat('table {{.ID}}\t{{.Label "com.docker.compose.project"}}', [row], { defaultTable: '', headers: { ID: 'CONTAINER ID' } });
    assert.equal(out, 'CONTAINER ID   project\nx              demo\n');
  });

  it('keeps header text intact through docker functions (HeaderFunctions)', () => {
    const out = renderFormat('table {{upper .Names}}\t{{truncate .ID 4}}', [{ Names: 'web', ID: 'abcdef' }], { defaultTable: '', headers: TABLE_HEADERS });
    assert.equal(out, 'NAMES     CONTAINER ID\nWEB       abcd\n');
  });

  it('throws "template parsing error: ..." for bad templates and failing rows', () => {
    assert.throws(
      () => renderFormat('{{.ID', rows, { defaultTable: '', headers: {} }),
      (e: unknown) => e instanceof TemplateError && e.message === 'template parsing error: template: :1: unclosed action',
    );
    assert.throws(
      () => renderFormat('table {{.ID}}\\t{{.ID.X}}', rows, { defaultTable: '', headers: {} }),
      (e: unknown) => e instanceof TemplateError && e.message === 'template parsing error: template: :1:13: executing "" at <.ID.X>: can\'t evaluate field X in type interface {}',
    );
  });

  it('measures wide characters as two columns, like docker\'s runewidth tabwriter', () => {
    const out = renderFormat('table {{.Name}}\t{{.ID}}', [{ Name: '日本語のなまえ', ID: '1' }, { Name: 'a', ID: '2' }], { defaultTable: '', headers: { Name: 'NAME', ID: 'ID' } });
    assert.equal(out, 'NAME             ID\n日本語のなまえ   1\na                2\n');
  });
});

describe('tabulate (text/tabwriter with docker settings)', () => {
  it('pads cells to minwidth 10 plus padding 3 and leaves the last cell alone', () => {
    assert.equal(tabulate('a\tb\tc\naaaaaaaaaaaa\tb\t\n'), 'a              b         c\naaaaaaaaaaaa   b         \n');
  });
  it('ends a column block at a line without that column', () => {
    assert.equal(tabulate('a\tb\nccc\nlonger-cell\td\n'), 'a         b\nccc\nlonger-cell   d\n');
  });
  it('keeps text after the final newline unterminated', () => {
    assert.equal(tabulate('x\ty\nz'), 'x         y\nz');
  });
});
