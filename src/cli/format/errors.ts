/**
 * A template parse or execution error. The message is exactly what Go's
 * text/template would report (e.g. `template: :1: unexpected "}" in operand`
 * or `template: :1:12: executing "" at <.Foo>: can't evaluate field Foo in
 * type ...`), so the CLI can print it verbatim after docker's prefix.
 */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly kind: 'parse' | 'exec',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}
