// Port of Go's text/tabwriter (elastic tabstops) as forked by the docker
// CLI (cell widths measured with go-runewidth). Docker formats tables with
// NewWriter(out, 10, 1, 3, ' ', 0). Cells are tab-terminated: the text after
// a line's last tab is not part of a column and is never padded. Column
// blocks are runs of consecutive lines that have a cell in that column, and
// a line without any tab ends every block (the writer flushes there).

import { displayWidth } from './width.js';

interface Cell {
  text: string;
  width: number;
  htab: boolean; // terminated by '\t' (as opposed to '\v' or a line break)
}

export interface TabWriterOptions {
  minwidth: number;
  tabwidth: number;
  padding: number;
  padchar: string;
  discardEmptyColumns?: boolean;
  alignRight?: boolean;
}

export class TabWriter {
  private out = '';
  private lines: Cell[][] = [[]];
  private cell = '';
  private widths: number[] = [];

  constructor(private readonly o: TabWriterOptions) {}

  write(s: string): void {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      if (ch !== '\t' && ch !== '\v' && ch !== '\n' && ch !== '\f') continue;
      this.cell += s.slice(n, i);
      n = i + 1;
      const ncells = this.terminateCell(ch === '\t');
      if (ch === '\n' || ch === '\f') {
        this.lines.push([]);
        // A line with a single cell cannot affect later columns: flush.
        if (ch === '\f' || ncells === 1) this.flushLines();
      }
    }
    this.cell += s.slice(n);
  }

  /** Flushes buffered text and returns everything written so far. */
  flush(): string {
    this.flushLines();
    const out = this.out;
    this.out = '';
    return out;
  }

  private terminateCell(htab: boolean): number {
    const line = this.lines[this.lines.length - 1];
    line.push({ text: this.cell, width: displayWidth(this.cell), htab });
    this.cell = '';
    return line.length;
  }

  private flushLines(): void {
    if (this.cell.length > 0) this.terminateCell(false);
    this.format(0, this.lines.length);
    this.lines = [[]];
    this.cell = '';
    this.widths = [];
  }

  private pad(textw: number, cellw: number): void {
    if (this.o.padchar === '\t') {
      if (this.o.tabwidth === 0) return;
      const tw = this.o.tabwidth;
      const w = Math.ceil(cellw / tw) * tw;
      this.out += '\t'.repeat(Math.ceil((w - textw) / tw));
      return;
    }
    this.out += this.o.padchar.repeat(Math.max(cellw - textw, 0));
  }

  private writeLines(line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i];
      line.forEach((c, j) => {
        if (c.text.length === 0) {
          if (j < this.widths.length) this.pad(c.width, this.widths[j]);
        } else if (!this.o.alignRight) {
          this.out += c.text;
          if (j < this.widths.length) this.pad(c.width, this.widths[j]);
        } else {
          if (j < this.widths.length) this.pad(c.width, this.widths[j]);
          this.out += c.text;
        }
      });
      if (i + 1 === this.lines.length) this.out += this.cell; // last line: pending text, no newline
      else this.out += '\n';
    }
  }

  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= this.lines[t].length - 1) continue;
      // This line has a cell in `column`: print earlier lines, then size the block.
      this.writeLines(line0, t);
      line0 = t;
      let width = this.o.minwidth;
      let discardable = true;
      for (; t < line1; t++) {
        const line = this.lines[t];
        if (column >= line.length - 1) break;
        const c = line[column];
        width = Math.max(width, c.width + this.o.padding);
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable && this.o.discardEmptyColumns) width = 0;
      this.widths.push(width);
      this.format(line0, t);
      this.widths.pop();
      line0 = t;
    }
    this.writeLines(line0, line1);
  }
}

/** Aligns tab-separated text the way the docker CLI prints tables. */
export function tabulate(text: string, o: TabWriterOptions = { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ' }): string {
  const w = new TabWriter(o);
  w.write(text);
  return w.flush();
}
