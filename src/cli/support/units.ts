// Sizes and numbers given on the command line, parsed like docker/go-units
// and docker's opts package.

const RAM_RE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** go-units RAMInBytes: "512m", "1g", "100000" → bytes (binary multiples). */
export function ramInBytes(text: string): number {
  const m = RAM_RE.exec(text);
  if (!m) throw new Error(`invalid size: '${text}'`);
  const size = Number.parseFloat(m[1]!);
  if (Number.isNaN(size)) throw new Error(`invalid size: '${text}'`);
  const unit = m[2]?.toLowerCase();
  return Math.trunc(unit ? size * BINARY[unit]! : size);
}

/** docker's MemSwapBytes: like RAMInBytes, but "-1" means unlimited. */
export function memSwapBytes(text: string): number {
  return text === '-1' ? -1 : ramInBytes(text);
}

/** docker's opts.ParseCPUs: "1.5" → 1500000000 nano-CPUs. */
export function parseCpus(text: string): number {
  if (!/^[+]?(\d+\.?\d*|\.\d+)$/.test(text)) throw new Error(`failed to parse ${text} as a rational number`);
  const nano = Math.round(Number(text) * 1e9);
  if (!Number.isInteger(nano)) throw new Error('value is too precise');
  return nano;
}

/** Go's strconv.ParseUint with a bit size (uint16 for --blkio-weight). */
export function parseUint(text: string, bits: number): number {
  if (!/^\d+$/.test(text)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = Number(text);
  if (n >= 2 ** bits) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(text)}: value out of range`);
  return n;
}
