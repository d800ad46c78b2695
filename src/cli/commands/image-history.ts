import type { ImageHistoryItem } from '../../types/engine.js';
import { StatusError, type CommandImpl } from '../command.js';
import { ellipsis, humanDuration, humanSize, renderFormat, shortId, TemplateError } from '../format/index.js';
import { FORMAT_HELP } from '../options/container-options.js';
import { formatRfc3339 } from '../support/time.js';

// `berth history`: the layers of an image, newest first, as docker shows them.

const DEFAULT_HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const NON_HUMAN_HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HISTORY_HEADERS: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};
/** 2000-01-01: older creation times are placeholders, shown as N/A. */
const EPOCH_2000 = 946684800;

export class HistoryRow {
  readonly #h: ImageHistoryItem;
  readonly #trunc: boolean;
  readonly #human: boolean;
  readonly #now: number;

  constructor(h: ImageHistoryItem, trunc: boolean, human: boolean, now = Date.now()) {
    this.#h = h;
    this.#trunc = trunc;
    this.#human = human;
    this.#now = now;
  }

  get ID(): string {
    return this.#trunc ? shortId(this.#h.Id) : this.#h.Id;
  }

  get CreatedAt(): string {
    return formatRfc3339(this.#h.Created);
  }

  get CreatedSince(): string {
    if (!this.#human) return this.CreatedAt;
    if (this.#h.Created <= EPOCH_2000) return 'N/A';
    return `${humanDuration(this.#now - this.#h.Created * 1000)} ago`;
  }

  get CreatedBy(): string {
    const createdBy = (this.#h.CreatedBy ?? '').replaceAll('\t', ' ');
    return this.#trunc ? ellipsis(createdBy, 45) : createdBy;
  }

  get Size(): string {
    return this.#human ? humanSize(this.#h.Size, 3) : String(this.#h.Size);
  }

  get Comment(): string {
    return this.#h.Comment ?? '';
  }
}

interface HistoryValues {
  human: boolean;
  quiet: boolean;
  noTrunc: boolean;
  format: string;
  platform: string;
}

export const historyCommand: CommandImpl<HistoryValues> = {
  flags: [
    { name: 'human', short: 'H', kind: 'bool', usage: 'Print sizes and dates in human readable format', default: true, defaultText: 'true' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'platform', kind: 'string', usage: 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, values, [image]) {
    const history = await ctx.client().imageHistory(image!);
    const source = values.format || 'table';
    const format = source === 'table' ? (values.quiet ? '{{.ID}}' : values.human ? DEFAULT_HISTORY_TABLE : NON_HUMAN_HISTORY_TABLE) : source;
    const now = Date.now();
    const rows = history.map((h) => new HistoryRow(h, !values.noTrunc, values.human, now));
    try {
      ctx.out(renderFormat(format, rows, { defaultTable: DEFAULT_HISTORY_TABLE, headers: HISTORY_HEADERS }));
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(err.message, 1);
      throw err;
    }
    return 0;
  },
};
