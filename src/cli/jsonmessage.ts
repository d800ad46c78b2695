import { readJsonLines, StreamError } from '../client/index.js';
import type { JSONMessage } from '../types/engine.js';
import { formatRfc3339NanoFixed } from './support/time.js';

// docker's jsonmessage.DisplayJSONMessagesStream: prints the progress
// stream of pull/import/load. On a terminal, per-layer lines are updated
// in place; elsewhere progress bars are left out.

export interface ProgressMessage extends JSONMessage {
  time?: number;
  timeNano?: number;
  from?: string;
  progressDetail?: { current?: number; total?: number; start?: number; hidecounts?: boolean; units?: string };
}

export interface DisplayTarget {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type HumanSize = (bytes: number, precision?: number) => string;

/** The template engine is large: load its unit helpers only when progress is shown. */
let humanSize: HumanSize | undefined;
async function loadHumanSize(): Promise<HumanSize> {
  humanSize ??= (await import('./format/index.js')).humanSize;
  return humanSize;
}

/** JSONProgress.String(): "[=====>    ] 1.2MB/4.5MB 3s". */
export function progressString(p: NonNullable<ProgressMessage['progressDetail']>, width: number, size: HumanSize, now = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : size(current, 4).padStart(8);
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (!p.hidecounts) {
    if (!p.units) {
      numbers = current > total ? size(current, 4).padStart(8) : `${size(current, 4).padStart(8)}/${size(total, 4)}`;
    } else {
      numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
    }
  }
  let timeLeft = '';
  if (width > 50 && current > 0 && p.start && percentage < 50) {
    const elapsed = now - p.start * 1000;
    const left = Math.round(((total - current) * (elapsed / current)) / 1000);
    timeLeft = ` ${left}s`;
  }
  return bar + numbers + timeLeft;
}

function messageError(m: ProgressMessage): string | undefined {
  if (m.errorDetail) return m.errorDetail.message;
  if (m.error) return m.error;
  return undefined;
}

function displayOne(m: ProgressMessage, out: DisplayTarget, isTerminal: boolean, width: number, size: HumanSize): void {
  let endl = '';
  if (isTerminal && !m.stream && m.progressDetail) {
    out.write('\x1b[2K\r');
    endl = '\r';
  } else if (m.progressDetail && progressString(m.progressDetail, width, size) !== '') {
    // Progress bars make no sense in a log file.
    return;
  }
  let line = '';
  if (m.timeNano) line += formatRfc3339NanoFixed(BigInt(m.timeNano)) + ' ';
  else if (m.time) line += formatRfc3339NanoFixed(BigInt(m.time) * 1_000_000_000n) + ' ';
  if (m.id) line += `${m.id}: `;
  if (m.from) line += `(from ${m.from}) `;
  if (m.progressDetail && isTerminal) line += `${m.status ?? ''} ${progressString(m.progressDetail, width, size)}${endl}`;
  else if (m.progress) line += `${m.status ?? ''} ${m.progress}${endl}`;
  else if (m.stream) line += `${m.stream}${endl}`;
  else line += `${m.status ?? ''}${endl}\n`;
  out.write(line);
}

/**
 * Prints every message of the stream; rejects with the stream's own error
 * (a message with `error`/`errorDetail`) after printing what came before.
 */
export async function displayJsonMessages(source: AsyncIterable<Buffer | string>, out: DisplayTarget, opts: { onAux?: (aux: unknown) => void } = {}): Promise<void> {
  const isTerminal = out.isTTY === true;
  const width = isTerminal ? (out.columns ?? 200) : 200;
  const lines = new Map<string, number>();
  for await (const m of readJsonLines<ProgressMessage>(source)) {
    if (m.aux !== undefined) {
      opts.onAux?.(m.aux);
      continue;
    }
    const error = messageError(m);
    if (error !== undefined) throw new StreamError(error, m.errorDetail?.code);
    const size = m.progressDetail ? await loadHumanSize() : String;
    let diff = 0;
    if (m.id && (m.progressDetail || m.progress)) {
      let line = lines.get(m.id);
      if (line === undefined) {
        line = lines.size;
        lines.set(m.id, line);
        if (isTerminal) out.write('\n');
      }
      diff = lines.size - line;
      if (isTerminal) out.write(`\x1b[${diff}A`);
    } else {
      lines.clear();
    }
    displayOne(m, out, isTerminal, width, size);
    if (m.id && isTerminal && diff > 0) out.write(`\x1b[${diff}B`);
  }
}
