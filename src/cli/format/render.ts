// docker CLI's formatter.Context.Write: turns a --format value and a list
// of rows into output, with table headers and tabwriter alignment.

import { TemplateError } from './errors.js';
import { builtinFuncs, headerFuncs } from './funcs.js';
import { TabWriter } from './tabwriter.js';
import { parseTemplate, type Template } from './template.js';

export interface RenderOptions {
  /** The command's default, e.g. "table {{.ID}}\t{{.Image}}" (a missing "table" prefix is added). */
  defaultTable: string;
  /** -q/--quiet: with an empty or "table" format, print quietFormat only. */
  quiet?: boolean;
  /** Template for quiet mode; docker uses "{{.ID}}" (volumes: "{{.Name}}"). */
  quietFormat?: string;
  /**
   * Header text per field, as docker's SubHeaderContext: {ID: "CONTAINER ID", ...}.
   * A field without an entry prints "<no value>" in the header, as docker does.
   */
  headers: Record<string, string>;
}

const TABLE = 'table';

/** Error with docker's prefix for format problems ("template parsing error: ..."). */
function wrap(e: unknown): never {
  if (e instanceof TemplateError) throw new TemplateError(`template parsing error: ${e.message}`, e.kind);
  throw e;
}

/** The header row's data: the header map plus docker's Label method. */
function headerContext(headers: Record<string, string>): Record<string, unknown> {
  return {
    ...headers,
    // SubHeaderContext.Label: last dotted part, with - and _ as spaces.
    Label: (name: unknown) => String(name).split('.').pop()!.replace(/[-_]/g, ' '),
  };
}

/** Resolves the effective format the way docker's New*Format functions do. */
export function resolveFormat(format: string, opts: Pick<RenderOptions, 'defaultTable' | 'quiet' | 'quietFormat'>): string {
  if (format === '' || format === TABLE) {
    if (opts.quiet) return opts.quietFormat ?? '{{.ID}}';
    return opts.defaultTable.startsWith(TABLE) ? opts.defaultTable : `${TABLE} ${opts.defaultTable}`;
  }
  return format;
}

/**
 * Renders rows with a docker --format value:
 * - "" or "table": the default table (or the quiet format with quiet);
 * - "table <template>": a header row, then one row per item, aligned like
 *   docker (tabwriter minwidth 10, padding 3);
 * - "json": one `{{json .}}` line per row;
 * - anything else: the template, once per row, each followed by a newline.
 * Literal "\t" and "\n" in the format become tab and newline, as in docker.
 * Throws TemplateError ("template parsing error: ...") on a bad template or
 * a failing row; nothing is printed then, as docker prints nothing.
 */
export function renderFormat(format: string, rows: readonly object[], opts: RenderOptions): string {
  const source = resolveFormat(format, opts);
  const isTable = source.startsWith(TABLE);
  let text = source;
  if (isTable) text = text.slice(TABLE.length);
  else if (source === 'json') text = '{{json .}}';
  text = text.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');

  let tmpl: Template;
  try {
    tmpl = parseTemplate(text);
  } catch (e) {
    wrap(e);
  }

  const funcs = builtinFuncs({ jsonSortKeys: true });
  let body = '';
  for (const row of rows) {
    const r = tmpl.run(row, funcs);
    if (r.err) wrap(r.err);
    body += r.out + '\n';
  }
  if (!isTable) return body;

  // Header errors are ignored by docker; whatever was written before the error stays.
  const header = tmpl.run(headerContext(opts.headers), headerFuncs()).out;
  const w = new TabWriter({ minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ' });
  w.write(header);
  w.write('\n');
  w.write(body);
  return w.flush();
}
