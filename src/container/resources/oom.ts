import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { CgroupSupport } from './cgroup-support.js';

// Whether the kernel's OOM killer killed a process of the container. Asked
// after the exit, while the container's cgroup still exists (the runtime's
// delete removes it): the memory cgroup counts its OOM kills (v1
// memory.oom_control, v2 memory.events). conmon also leaves an "oom" file in
// its persist dir when it saw the event; either is enough.

function counter(file: string, key: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function oomKilled(cgroupsPath: string, s: CgroupSupport, conmonPersistDir?: string): boolean {
  if (conmonPersistDir && existsSync(join(conmonPersistDir, 'oom'))) return true;
  if (s.version === 2) return (counter(join(s.mounts.unified!, cgroupsPath, 'memory.events'), 'oom_kill')) > 0;
  const mount = s.mounts.memory;
  if (!mount) return false;
  return (counter(join(mount, cgroupsPath, 'memory.oom_control'), 'oom_kill')) > 0;
}

/**
 * Calls `onOom` when conmon notes an OOM kill in `persistDir` (its "oom"
 * file appears); returns a function that stops watching.
 */
export function watchOomNote(persistDir: string, onOom: () => void): () => void {
  let watcher;
  try {
    watcher = watch(persistDir, (_event, file) => {
      if (file?.toString() === 'oom' && existsSync(join(persistDir, 'oom'))) onOom();
    });
  } catch {
    return () => {};
  }
  watcher.on('error', () => watcher.close());
  return () => watcher.close();
}
