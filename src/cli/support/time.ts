// Time as the docker CLI reads and prints it: Go durations ("10m",
// "1h30m"), the --since/--until timestamps of logs and events, and Go's
// time layouts in the local time zone.

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration; returns nanoseconds. Throws with Go's message. */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (num[0] === '' || num[0] === '.') throw invalid();
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${JSON.stringify(text)}`);
    const factor = DURATION_UNITS[unit];
    if (factor === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    s = s.slice(unit.length);
    total += Number(`${num[1] || '0'}.${num[2] || '0'}`) * factor;
  }
  return sign * total;
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?([zZ]|[+-]\d{2}:\d{2})?$/;

/**
 * docker's GetTimestamp: a Go duration counts back from `now`; RFC 3339
 * (date, date-hour, …, with or without zone; no zone means local time)
 * becomes "seconds.nanoseconds"; a Unix timestamp passes through.
 */
export function parseTimestamp(value: string, now: Date = new Date()): string {
  if (value !== '0') {
    try {
      const ns = parseGoDuration(value);
      return String(Math.floor((now.getTime() - ns / 1e6) / 1000));
    } catch {
      // Not a duration: try the time formats.
    }
  }
  const m = TIME_RE.exec(value);
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
    let ms: number;
    if (zone === undefined) {
      ms = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)).getTime();
    } else {
      ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
      if (zone !== 'Z' && zone !== 'z') {
        const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * (zone[0] === '-' ? -1 : 1);
        ms -= offset * 60_000;
      }
    }
    if (!Number.isNaN(ms)) return `${Math.floor(ms / 1000)}.${frac.padEnd(9, '0')}`;
  }
  if (value.includes('-')) throw new Error(`parsing time ${JSON.stringify(value)}: cannot parse as RFC 3339`);
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function zoneOffset(d: Date): { sign: string; hours: string; minutes: string; zero: boolean } {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return { sign: offset < 0 ? '-' : '+', hours: pad(Math.floor(abs / 60)), minutes: pad(abs % 60), zero: offset === 0 };
}

function zoneName(d: Date): string {
  if (d.getTimezoneOffset() === 0 && (!process.env.TZ || /^(UTC|Etc\/UTC|UTC0|)$/.test(process.env.TZ))) return 'UTC';
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}

function localDateTime(d: Date, dateSep = '-', between = 'T'): string {
  return `${pad(d.getFullYear(), 4)}${dateSep}${pad(d.getMonth() + 1)}${dateSep}${pad(d.getDate())}${between}${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Go's "2006-01-02T15:04:05.000000000Z07:00" in local time (events, log timestamps). */
export function formatRfc3339NanoFixed(timeNs: bigint): string {
  const ms = Number(timeNs / 1_000_000n);
  const d = new Date(ms);
  const nanos = ((timeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const z = zoneOffset(d);
  return `${localDateTime(d)}.${nanos.toString().padStart(9, '0')}${z.zero ? 'Z' : `${z.sign}${z.hours}:${z.minutes}`}`;
}

/** Go's time.RFC3339 ("2006-01-02T15:04:05Z07:00") in local time. */
export function formatRfc3339(seconds: number): string {
  const d = new Date(seconds * 1000);
  const z = zoneOffset(d);
  return `${localDateTime(d)}${z.zero ? 'Z' : `${z.sign}${z.hours}:${z.minutes}`}`;
}

/** Go's time.Time.String() in local time: "2006-01-02 15:04:05 -0700 MST". */
export function goTimeString(seconds: number): string {
  const d = new Date(seconds * 1000);
  const z = zoneOffset(d);
  return `${localDateTime(d, '-', ' ')} ${z.sign}${z.hours}${z.minutes} ${zoneName(d)}`;
}
