// Go text/template for berth's --format flags, plus the docker CLI's
// formatting helpers. See README.md in this folder for the mapping of JS
// values onto Go values.

export { parseTemplate, Template, type ParseOptions, type ExecuteOptions, type ExtraFuncs } from './template.js';
export { TemplateError } from './errors.js';
export { renderFormat, resolveFormat, type RenderOptions } from './render.js';
export { humanDuration, humanSize, bytesSize, shortId, ellipsis } from './units.js';
export { TabWriter, tabulate, type TabWriterOptions } from './tabwriter.js';
export { goJson, type JsonOptions } from './json.js';
export { sprintf, sprint, formatValue } from './fmt.js';
export { displayWidth } from './width.js';
