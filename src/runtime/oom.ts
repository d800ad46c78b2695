import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';

// Whether the kernel's OOM killer killed a process of a task. conmon (given
// --persist-dir) notes each OOM event as an "oom" file in the bundle; the
// memory cgroup also counts its kills (v1 memory.oom_control, v2
// memory.events), which still answers after an exit, until the runtime's
// delete removes the cgroup.

const OOM_NOTE = 'oom';

/** The memory controller's mount (v1) or the unified root (v2). */
function memoryCgroupRoot(): { root: string; file: string } | undefined {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return { root: '/sys/fs/cgroup', file: 'memory.events' };
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of info.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype === 'cgroup' && superOpts.split(',').includes('memory')) {
      return { root: line.slice(0, sep).split(' ')[4]!, file: 'memory.oom_control' };
    }
  }
  return undefined;
}

let memoryRoot: ReturnType<typeof memoryCgroupRoot> | null = null;

function oomKillCount(cgroupsPath: string): number {
  memoryRoot ??= memoryCgroupRoot();
  if (!memoryRoot) return 0;
  try {
    const text = readFileSync(join(memoryRoot.root, cgroupsPath, memoryRoot.file), 'utf8');
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export function oomKilled(bundle: string, cgroupsPath: string | undefined): boolean {
  if (existsSync(join(bundle, OOM_NOTE))) return true;
  return cgroupsPath !== undefined && oomKillCount(cgroupsPath) > 0;
}

/** Calls `onOom` when conmon notes an OOM kill in the bundle; returns a function that stops watching. */
export function watchOomNote(bundle: string, onOom: () => void): () => void {
  let watcher;
  try {
    watcher = watch(bundle, (_event, file) => {
      if (file?.toString() === OOM_NOTE && existsSync(join(bundle, OOM_NOTE))) onOom();
    });
  } catch {
    return () => {};
  }
  watcher.on('error', () => watcher.close());
  return () => watcher.close();
}
