import { parseJsonLine, readLines } from '../../client/index.js';
import type { EventMessage } from '../../types/engine.js';
import { StatusError, type CommandImpl } from '../command.js';
import { parseTemplate, TemplateError, type Template } from '../format/index.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { INSPECT_FORMAT_HELP } from '../options/container-options.js';
import { formatRfc3339NanoFixed, parseTimestamp } from '../support/time.js';

// `berth events`: the daemon's event stream, one line per event in
// docker's layout, or a --format template per event.

/**
 * Parses an event line, keeping timeNano exact: nanoseconds since 1970 do
 * not fit a double, so the digits are taken from the text as a BigInt.
 */
export function parseEvent(line: string): EventMessage {
  const event = parseJsonLine<EventMessage>(line);
  const nanos = /"timeNano"\s*:\s*(\d+)/.exec(line)?.[1];
  if (nanos) (event as { timeNano: number | bigint }).timeNano = BigInt(nanos);
  return event;
}

/** docker's prettyPrintEvent: `<time> <type> <action> <id> (k=v, …)`. */
export function formatEvent(event: EventMessage): string {
  let line = '';
  if (event.timeNano) line += `${formatRfc3339NanoFixed(BigInt(event.timeNano as number | bigint))} `;
  else if (event.time) line += `${formatRfc3339NanoFixed(BigInt(event.time) * 1_000_000_000n)} `;
  line += `${event.Type} ${event.Action} ${event.Actor?.ID ?? ''}`;
  const attributes = event.Actor?.Attributes ?? {};
  const keys = Object.keys(attributes).sort();
  if (keys.length) line += ` (${keys.map((k) => `${k}=${attributes[k]}`).join(', ')})`;
  return line + '\n';
}

interface EventsValues {
  since: string;
  until: string;
  filter: Array<[string, string] | undefined>;
  format: string;
}

export const eventsCommand: CommandImpl<EventsValues> = {
  flags: [
    { name: 'since', kind: 'string', usage: 'Show all events created since timestamp' },
    { name: 'until', kind: 'string', usage: 'Stream events until this timestamp' },
    FILTER_FLAG,
    { name: 'format', kind: 'string', usage: INSPECT_FORMAT_HELP },
  ],
  args: { kind: 'none' },
  async run(ctx, values) {
    let template: Template | undefined;
    if (values.format) {
      try {
        template = parseTemplate(values.format === 'json' ? '{{json .}}' : values.format);
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(`Error parsing format: ${err.message}`, 64);
        throw err;
      }
    }
    const now = new Date();
    const since = values.since ? parseTimestamp(values.since, now) : undefined;
    const until = values.until ? parseTimestamp(values.until, now) : undefined;
    const stream = await ctx.client().events({ since, until, filters: filtersFrom(values.filter) });
    for await (const line of readLines(stream)) {
      const event = parseEvent(line);
      if (!template) {
        ctx.out(formatEvent(event));
        continue;
      }
      try {
        ctx.out(template.execute(event) + '\n');
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(err.message, 1);
        throw err;
      }
    }
    return 0;
  },
};
