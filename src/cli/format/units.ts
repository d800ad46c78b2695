// Human-readable units as the docker CLI prints them (docker/go-units,
// docker's stringid and formatter.Ellipsis).

import { formatFloat } from './fmt.js';
import { isWide } from './width.js';

/** go-units HumanDuration: "Up 5 minutes", "Exited (0) 2 hours ago". */
export { humanDuration } from '../../util/human-duration.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

/**
 * go-units HumanSizeWithPrecision(size, precision): decimal units with
 * fmt's %.*g, so "4.19MB", "0B", "1.8kB" (and, like docker, "1e+03kB").
 */
export function humanSize(bytes: number, precision = 3): string {
  const [size, unit] = sizeAndUnit(bytes, 1000, DECIMAL_UNITS);
  return formatFloat(size, 'g', precision) + unit;
}

/** go-units BytesSize: binary units with %.4g, "1.5MiB" (docker stats). */
export function bytesSize(bytes: number): string {
  const [size, unit] = sizeAndUnit(bytes, 1024, BINARY_UNITS);
  return formatFloat(size, 'g', 4) + unit;
}

/** docker's stringid.TruncateID: drop an "algo:" prefix, keep 12 characters. */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  if (i >= 0) id = id.slice(i + 1);
  return id.length > 12 ? id.slice(0, 12) : id;
}

function charWidth(ch: string): number {
  return isWide(ch.codePointAt(0)!) ? 2 : 1;
}

/**
 * docker's formatter.Ellipsis: truncates s to maxDisplayWidth columns,
 * ending with "…". Wide (East Asian) characters count as two columns.
 */
export function ellipsis(s: string, maxDisplayWidth: number): string {
  if (maxDisplayWidth <= 0) return '';
  const rs = Array.from(s);
  if (maxDisplayWidth === 1) return rs[0] ?? '';
  const byteLen = Buffer.byteLength(s);
  if (byteLen === rs.length) {
    // ASCII only.
    if (byteLen <= maxDisplayWidth) return s;
    return rs.slice(0, maxDisplayWidth - 1).join('') + '…';
  }
  const display: number[] = [];
  let width = 0;
  for (const r of rs) {
    width += charWidth(r);
    display.push(width);
  }
  if (width <= maxDisplayWidth) return s;
  for (let i = 0; i < display.length - 1; i++) {
    if (display[i] <= maxDisplayWidth - 1 && display[i + 1] > maxDisplayWidth - 1) return rs.slice(0, i + 1).join('') + '…';
  }
  return s;
}
