import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';

// What a berthd may leave on the host's network side, found by what is its
// own (bridges named in its records, chains tagged with its data root,
// namespaces under its exec root), so concurrent test daemons never see
// each other's things as leaks.

export interface NetworkLeftovers {
  bridges: string[];
  chains: string[];
  rules: string[];
  netns: string[];
}

function out(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, (_err, stdout) => resolve(String(stdout ?? ''))));
}

export function chainTag(dataRoot: string): string {
  return createHash('sha256').update(join(dataRoot, 'network')).digest('hex').slice(0, 8);
}

/** Bridge names from the daemon's network records, plus the default bridge it was told to use. */
export async function bridgesOf(dataRoot: string, extra: string[] = []): Promise<string[]> {
  const dir = join(dataRoot, 'network', 'networks');
  const names = new Set(extra);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    try {
      const n = JSON.parse(await readFile(join(dir, f), 'utf8')) as { bridge?: string; ownsBridge?: boolean };
      if (n.bridge) names.add(n.bridge);
    } catch {
      /* a temp file */
    }
  }
  return [...names];
}

export async function networkLeftovers(dataRoot: string, execRoot: string, bridges: string[]): Promise<NetworkLeftovers> {
  const links = (await out('ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '');
  const tag = `BERTH-${chainTag(dataRoot)}-`;
  const save = await out('iptables-save', []);
  const lines = save.split('\n');
  return {
    bridges: bridges.filter((b) => links.includes(b)),
    chains: lines.filter((l) => l.startsWith(`:${tag}`)).map((l) => l.slice(1).split(' ')[0]!),
    rules: lines.filter((l) => l.startsWith('-A') && l.includes(tag)),
    netns: (await readdir(join(execRoot, 'network', 'netns')).catch(() => [] as string[])),
  };
}

export function isClean(l: NetworkLeftovers): boolean {
  return !l.bridges.length && !l.chains.length && !l.rules.length && !l.netns.length;
}

/** Removes what a daemon left (after a kill -9 that was never followed by a clean stop). */
export async function removeNetworkLeftovers(l: NetworkLeftovers, dataRoot: string): Promise<void> {
  const tag = `BERTH-${chainTag(dataRoot)}-`;
  for (const r of l.rules) {
    const table = /-j (\S+)/.exec(r)?.[1]?.endsWith('-FWD') ? 'filter' : 'nat';
    if (!r.startsWith(`-A ${tag}`)) await out('iptables', ['-w', '-t', table, '-D', ...r.slice(3).split(' ')]);
  }
  for (const c of l.chains) {
    const table = c.endsWith('-FWD') || c.endsWith('-ISO') ? 'filter' : 'nat';
    await out('iptables', ['-w', '-t', table, '-F', c]);
  }
  for (const c of l.chains) {
    const table = c.endsWith('-FWD') || c.endsWith('-ISO') ? 'filter' : 'nat';
    await out('iptables', ['-w', '-t', table, '-X', c]);
  }
  for (const b of l.bridges) await out('ip', ['link', 'del', b]);
}
